/**
 * undici's response body stream (`BodyReadable`, the body of `request()`'s response), which the
 * HTTP transport builds itself (src/http/transport/attempt-handler.ts). undici publishes no `exports` map,
 * so the module is reachable; its shape here is what weft uses of it.
 */
declare module 'undici/lib/api/readable.js' {
  import type { Dispatcher } from 'undici';

  export type Body = Dispatcher.ResponseData['body'];

  /** `resume` and `abort` are called on the stream itself (`this` is the body). */
  export interface BodyReadableOptions {
    resume: (this: never) => void;
    abort: (this: never, reason?: Error) => void;
    contentType?: string | undefined;
    contentLength?: number | null;
    highWaterMark?: number;
  }

  const readable: {
    Readable: new (options: BodyReadableOptions) => Body;
  };
  export default readable;
}
