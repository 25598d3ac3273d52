/**
 * gRPC status codes by name, as grpc/grpc `doc/statuscodes.md` numbers them (the index is the
 * code). A plain table, so that code which may not load @grpc/grpc-js (telemetry, for one) can
 * name a status, and the one place weft turns a status name into its code and back; and the
 * status a gRPC caller gets for a call that weft ended itself (src/grpc/status.ts), which
 * telemetry records the same way.
 */
import { errorCode } from './errors.js';

/** The status names, indexed by code. */
export const GRPC_STATUS_NAMES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** The name of status `code` (`UNAVAILABLE`); the number as text for a code the spec does not name. */
export function grpcStatusName(code: number): string {
  return GRPC_STATUS_NAMES[code] ?? String(code);
}

/** The code of a status given by name (any case) or number; undefined when it names none. */
export function grpcStatusCode(value: unknown): number | undefined {
  if (typeof value === 'string') {
    const index = GRPC_STATUS_NAMES.indexOf(value.toUpperCase());
    return index < 0 ? undefined : index;
  }
  return typeof value === 'number' &&
    Number.isInteger(value) &&
    value >= 0 &&
    value < GRPC_STATUS_NAMES.length
    ? value
    : undefined;
}

/**
 * The status a gRPC caller gets when weft ended the call with `error` instead of a response: a
 * deadline, DEADLINE_EXCEEDED (4); no endpoint, an open breaker, throttling, an exhausted budget,
 * a closed client, a failed request, UNAVAILABLE (14); a hedge's losing copy or an abort from
 * outside (the incoming call being served was cancelled), CANCELLED (1); a misused stack,
 * INTERNAL (13). Undefined for an error weft does not know (the caller gets UNKNOWN).
 */
export function grpcStatusOfError(error: unknown): number | undefined {
  if ((error as { name?: unknown } | null)?.name === 'AbortError') return 1;
  const code = errorCode(error);
  return code === undefined ? undefined : STATUS_OF_WEFT_ERROR[code];
}

const STATUS_OF_WEFT_ERROR: Readonly<Record<string, number>> = {
  WEFT_DEADLINE_EXCEEDED: 4,
  WEFT_ATTEMPT_TIMEOUT: 4,
  WEFT_NO_ENDPOINTS: 14,
  WEFT_CIRCUIT_OPEN: 14,
  WEFT_OVERLOADED: 14,
  WEFT_CLIENT_CLOSED: 14,
  WEFT_RETRY_BUDGET_EXHAUSTED: 14,
  WEFT_REQUEST_FAILED: 14,
  WEFT_HEDGE_LOST: 1,
  WEFT_NEXT_CALLED_TWICE: 13,
};
