/**
 * HTTP's spans, after OpenTelemetry's stable HTTP client conventions: the span name is the
 * method; `http.request.method` on the call and every attempt; `server.address`, `server.port`,
 * `url.full` and, after the first attempt, `http.request.resend_count` on attempts;
 * `http.response.status_code`, and a 4xx or 5xx (or a classified failure) makes the span an
 * error with `error.type` the status. The trace context goes into the request's headers. What
 * is read of a request and a response (weft's HttpRequest, undici's response) is named here by
 * structure, so tracing depends on no protocol's module.
 */
import { type Context, propagation, type Span, SpanStatusCode } from '@opentelemetry/api';
import type { ResponseClass } from '../../core/classification.js';
import type { CallContext } from '../../core/context.js';
import type { Endpoint } from '../../core/endpoint.js';
import type { SpanProtocol } from './span-protocol.js';

interface TracedHttpRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

interface TracedHttpResponse {
  readonly statusCode: number;
}

const headerSetter = {
  set(carrier: TracedHttpRequest['headers'], key: string, value: string) {
    carrier[key.toLowerCase()] = value;
  },
};

/** HTTP's spans for a client whose URLs have `scheme` (`http` or `https`). */
export function httpSpans(scheme: string): SpanProtocol {
  return {
    spanName: (req) => (req as TracedHttpRequest).method,
    callAttributes(span, req) {
      span.setAttribute('http.request.method', (req as TracedHttpRequest).method);
    },
    attemptAttributes(span: Span, req: unknown, ctx: CallContext, endpoint: Endpoint) {
      const request = req as TracedHttpRequest;
      span.setAttribute('http.request.method', request.method);
      span.setAttribute('server.address', endpoint.host);
      span.setAttribute('server.port', endpoint.port);
      span.setAttribute('url.full', `${scheme}://${endpoint.address}${request.path}`);
      if (ctx.attempt > 1) span.setAttribute('http.request.resend_count', ctx.attempt - 1);
    },
    inject(context: Context, req: unknown) {
      propagation.inject(context, (req as TracedHttpRequest).headers, headerSetter);
    },
    responded(span, ctx, response) {
      const status = (response as TracedHttpResponse).statusCode;
      span.setAttribute('http.response.status_code', status);
      // HTTP client spans: a 4xx or 5xx is an error (semantic conventions); so is a classified failure.
      if (status >= 400 || (ctx.classification as ResponseClass | undefined)?.kind === 'failure') {
        span.setAttribute('error.type', String(status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
    },
    failed() {},
    endsLater: () => false,
  };
}
