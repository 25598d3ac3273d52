/**
 * From a Service's EndpointSlices (discovery.k8s.io/v1) to weft endpoints. Semantics from
 * kubernetes/api discovery/v1/types.go: `ready` nil means ready; `serving` nil defers to `ready`;
 * `terminating` nil means not terminating; only the first of an endpoint's `addresses` has meaning;
 * endpoints share their slice's `ports`, each named after a Service port. weft uses **ready**
 * endpoints, as Linkerd's destination controller does (it skips `ready: false`); serving but
 * terminating endpoints are left out too, unless `terminatingFallback` is on, and then only while
 * no endpoint is ready (kube-proxy's behaviour since KEP-1669, "Proxy Terminating Endpoints").
 * Malformed entries are skipped, never fatal: one bad slice must not hide the good ones.
 */
import { isIP } from 'node:net';
import { createEndpoint, type Endpoint } from './endpoint.js';

/** Which endpoints of the slices become weft endpoints. */
export interface SliceSelection {
  /** The port: a Service port name (matched against `ports[].name`) or a number (`ports[].port`). */
  readonly port: string | number;
  /** Which slices to read, by `addressType`. */
  readonly addressType: 'IPv4' | 'IPv6' | 'any';
  /** Use serving, terminating endpoints when none is ready. */
  readonly terminatingFallback: boolean;
}

/** What the slices held, for the reasons the resolver gives. */
export interface SliceCounts {
  readonly slices: number;
  /** Ready endpoints that have the port. */
  readonly ready: number;
  /** Endpoints that are serving but terminating (used only by the fallback). */
  readonly servingTerminating: number;
  /** Endpoints that are neither ready nor serving. */
  readonly notReady: number;
  /** Slices skipped because they lack the port or are of another address type. */
  readonly skippedSlices: number;
}

/** The endpoints the resolver publishes, and what was counted on the way. */
export interface SliceEndpoints {
  readonly endpoints: Endpoint[];
  readonly counts: SliceCounts;
  /** True when the endpoints are serving-terminating ones (the fallback). */
  readonly terminating: boolean;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** Map the slices (any JSON: malformed entries are skipped) to endpoints. */
export function endpointsFromSlices(slices: Iterable<unknown>, selection: SliceSelection): SliceEndpoints {
  const ready: Endpoint[] = [];
  const terminating: Endpoint[] = [];
  let count = 0;
  let notReady = 0;
  let skippedSlices = 0;
  for (const slice of slices) {
    count++;
    if (!isObject(slice)) {
      skippedSlices++;
      continue;
    }
    const addressType = slice.addressType;
    const family = addressType === 'IPv4' ? 4 : addressType === 'IPv6' ? 6 : 0;
    if (family === 0 || (selection.addressType !== 'any' && addressType !== selection.addressType)) {
      skippedSlices++;
      continue;
    }
    const port = slicePort(slice.ports, selection.port);
    if (port === undefined) {
      skippedSlices++;
      continue;
    }
    const endpoints = Array.isArray(slice.endpoints) ? slice.endpoints : [];
    for (const entry of endpoints) {
      if (!isObject(entry) || !Array.isArray(entry.addresses)) continue;
      const address = entry.addresses[0];
      if (typeof address !== 'string' || isIP(address) !== family) continue;
      const conditions = isObject(entry.conditions) ? entry.conditions : {};
      const isReady = conditions.ready !== false;
      const isServing = typeof conditions.serving === 'boolean' ? conditions.serving : isReady;
      const isTerminating = conditions.terminating === true;
      if (isReady) ready.push(toEndpoint(address, port, entry, false));
      else if (isServing && isTerminating) terminating.push(toEndpoint(address, port, entry, true));
      else notReady++;
    }
  }
  const counts: SliceCounts = {
    slices: count,
    ready: ready.length,
    servingTerminating: terminating.length,
    notReady,
    skippedSlices,
  };
  if (ready.length === 0 && selection.terminatingFallback && terminating.length > 0) {
    return { endpoints: terminating, counts, terminating: true };
  }
  return { endpoints: ready, counts, terminating: false };
}

function slicePort(ports: unknown, wanted: string | number): number | undefined {
  if (!Array.isArray(ports)) return undefined;
  for (const port of ports) {
    if (!isObject(port)) continue;
    const number = port.port;
    if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 65535) continue;
    const name = typeof port.name === 'string' ? port.name : '';
    if (typeof wanted === 'string' ? name === wanted : number === wanted) return number;
  }
  return undefined;
}

function toEndpoint(address: string, port: number, entry: Json, terminating: boolean): Endpoint {
  const metadata: Record<string, string | boolean> = {};
  if (typeof entry.nodeName === 'string' && entry.nodeName !== '') metadata.nodeName = entry.nodeName;
  if (typeof entry.hostname === 'string' && entry.hostname !== '') metadata.hostname = entry.hostname;
  const target = entry.targetRef;
  if (isObject(target) && target.kind === 'Pod' && typeof target.name === 'string')
    metadata.pod = target.name;
  if (terminating) metadata.terminating = true;
  const zone = typeof entry.zone === 'string' && entry.zone !== '' ? entry.zone : undefined;
  return createEndpoint(address, port, 1, 'kubernetes', {
    ...(zone === undefined ? {} : { zone }),
    metadata,
  });
}
