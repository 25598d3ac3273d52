/**
 * HTTP as the stack client sees it (src/client/protocol.ts): the adapter (./adapter.ts), one
 * undici transport per endpoint (../transport/transport.ts), RFC 9110 idempotency
 * (./idempotency.ts) and the default classifier with its fast path (./classifier.ts). HTTP has no
 * late outcomes: an attempt settles at the response headers, and a body is never judged again.
 */
import type { AnsweringClassifier } from '../../client/classify-attempt.js';
import type { ClientProtocol } from '../../client/protocol.js';
import { type TransportSettings, UndiciEndpoint } from '../transport/transport.js';
import { httpAdapter } from './adapter.js';
import { defaultHttpClassifier, isPlainSuccess } from './classifier.js';
import { isIdempotent } from './idempotency.js';
import type { HttpRequest, HttpResponse } from './request.js';

/** The HTTP protocol over `transport`, replaying up to `replayBufferBytes` of a streamed body. */
export function httpProtocol(
  transport: TransportSettings,
  replayBufferBytes: number | undefined,
): ClientProtocol<HttpRequest, HttpResponse> {
  return {
    adapter: httpAdapter(replayBufferBytes),
    makeTransport: (endpoint) => new UndiciEndpoint(endpoint, transport),
    isIdempotent: (req, declared) => isIdempotent(req.method, req.headers, declared),
    defaultClassifier: defaultHttpClassifier as AnsweringClassifier<HttpRequest, HttpResponse>,
    plainSuccess: isPlainSuccess,
    scheme: transport.scheme,
  };
}
