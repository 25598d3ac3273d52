/**
 * The HTTP protocol adapter: what protocol-agnostic filters need to know about an HTTP request.
 * The deadline travels as `weft-timeout-ms` (see src/core/deadline-header.ts).
 */
import { DEADLINE_HEADER, formatDeadlineHeader } from '../core/deadline-header.js';
import type { ProtocolAdapter } from '../core/protocol.js';
import type { HttpRequest } from './request.js';

export const httpAdapter: ProtocolAdapter<HttpRequest> = {
  writeDeadline(req, remainingMs) {
    req.headers[DEADLINE_HEADER] = formatDeadlineHeader(remainingMs);
  },
};
