/**
 * gRPC status codes by name, as grpc/grpc `doc/statuscodes.md` numbers them (the index is the
 * code). A plain table, so that code which may not load @grpc/grpc-js (telemetry, for one) can
 * name a status, and the one place weft turns a status name into its code and back.
 */

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
