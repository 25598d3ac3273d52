/**
 * The routing agent: an undici Dispatcher that sends requests for chosen hostnames through weft
 * clients and every other origin through a plain undici Agent, so one `setGlobalDispatcher` line
 * gives a whole process's `fetch` calls weft for the services that matter and leaves the rest
 * alone. Routes match `host:port` first, then `host`.
 */
import { Agent, Dispatcher } from 'undici';
import { ConfigError } from '../../core/errors.js';
import { optionKeys, rejectUnknownKeys } from '../../core/options.js';
import { destroyCallback, promiseOrCallback } from './dispatcher-callbacks.js';

/** Something with a weft dispatcher: an HTTP client. */
export interface HasDispatcher {
  readonly dispatcher: Dispatcher;
}

/** Options of `createRoutingAgent`: which hostnames go to which weft client, and where the rest go. */
export interface RoutingAgentOptions {
  /** Hostname (`api.internal`) or `host:port` → the weft client that serves it. */
  routes: Record<string, HasDispatcher>;
  /** Where other origins go. Default: a new undici `Agent` (closed with this agent). */
  fallback?: Dispatcher;
}

/** The keys of {@link RoutingAgentOptions}; any other key throws a ConfigError naming `routingAgent.key`. */
export const ROUTING_AGENT_OPTION_KEYS = optionKeys<RoutingAgentOptions>({ routes: true, fallback: true });

/** A Dispatcher that routes by hostname to weft clients, and everything else to a plain Agent. */
export class RoutingAgent extends Dispatcher {
  readonly #routes: Map<string, Dispatcher>;
  readonly #fallback: Dispatcher;
  readonly #ownsFallback: boolean;

  constructor(options: RoutingAgentOptions) {
    super();
    if (options === null || typeof options !== 'object')
      throw new ConfigError('routingAgent', options, 'expected { routes }');
    rejectUnknownKeys('routingAgent', options, ROUTING_AGENT_OPTION_KEYS);
    const routes = options.routes;
    if (routes === null || typeof routes !== 'object') {
      throw new ConfigError('routingAgent.routes', routes, 'expected an object of hostname → weft client');
    }
    this.#routes = new Map();
    for (const [host, client] of Object.entries(routes)) {
      if (
        client === null ||
        typeof client !== 'object' ||
        typeof client.dispatcher?.dispatch !== 'function'
      ) {
        throw new ConfigError(`routingAgent.routes["${host}"]`, client, 'expected a weft HTTP client');
      }
      this.#routes.set(host.toLowerCase(), client.dispatcher);
    }
    if (options.fallback !== undefined && typeof options.fallback?.dispatch !== 'function') {
      throw new ConfigError('routingAgent.fallback', options.fallback, 'expected an undici Dispatcher');
    }
    this.#fallback = options.fallback ?? new Agent();
    this.#ownsFallback = options.fallback === undefined;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.#route(options.origin).dispatch(options, handler);
  }

  #route(origin: string | URL | undefined): Dispatcher {
    if (origin === undefined || this.#routes.size === 0) return this.#fallback;
    const url = typeof origin === 'string' ? new URL(origin) : origin;
    const host = url.hostname.toLowerCase();
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    return this.#routes.get(`${host}:${port}`) ?? this.#routes.get(host) ?? this.#fallback;
  }

  /** Closes the fallback agent if this agent created it; weft clients are closed by their owners. */
  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    return promiseOrCallback(this.#ownsFallback ? this.#fallback.close() : Promise.resolve(), callback);
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    return promiseOrCallback(
      this.#ownsFallback ? this.#fallback.destroy(null) : Promise.resolve(),
      destroyCallback(a, b),
    );
  }
}

/** Create a {@link RoutingAgent}. */
export function createRoutingAgent(options: RoutingAgentOptions): RoutingAgent {
  return new RoutingAgent(options);
}
