/**
 * The HTTP protocol adapter: what protocol-agnostic filters need to know about an HTTP request.
 * The deadline travels as `weft-timeout-ms` (src/core/deadline-header.ts), the attempt number as
 * `weft-attempt` (sent from the first retry on: no header means attempt 1), a probation probe is
 * marked `weft-probe: 1`.
 */
import { DEADLINE_HEADER, formatDeadlineHeader } from '../../core/deadline-header.js';
import type { ProtocolAdapter } from '../../core/protocol.js';
import {
  DEFAULT_REPLAY_BUFFER_BYTES,
  isInMemoryBody,
  makeReplayable,
  rewindBody,
} from '../transport/replayable-body.js';
import type { HttpRequest, HttpResponse } from './request.js';

/** The header that carries the attempt number on retries and hedges. */
export const ATTEMPT_HEADER = 'weft-attempt';
/**
 * The header that marks a probation probe (src/balance/probation.ts): a copy of a caller's
 * request sent to an endpoint kept aside as slow, whose response nobody reads.
 */
export const PROBE_HEADER = 'weft-probe';

/** The HTTP adapter, with the replay buffer bound for streamed bodies. */
export function httpAdapter(
  replayBufferBytes: number = DEFAULT_REPLAY_BUFFER_BYTES,
): ProtocolAdapter<HttpRequest, HttpResponse> {
  return {
    writeDeadline(req, remainingMs) {
      req.headers[DEADLINE_HEADER] = formatDeadlineHeader(remainingMs);
    },
    writeAttempt(req, attempt) {
      req.headers[ATTEMPT_HEADER] = String(attempt);
    },
    prepareReplay(req) {
      req.body = makeReplayable(req.body, replayBufferBytes);
    },
    hasInMemoryBody(req) {
      return isInMemoryBody(req.body);
    },
    rewind(req) {
      const body = rewindBody(req.body);
      if (body === false) return false;
      req.body = body;
      return true;
    },
    probeCopy(req) {
      return { ...req, headers: { ...req.headers, [PROBE_HEADER]: '1' } };
    },
    discard(res) {
      // Drain a small body so the connection can be reused; destroy anything larger.
      res.body.dump({ limit: 64 * 1024 }).catch(() => {});
    },
  };
}
