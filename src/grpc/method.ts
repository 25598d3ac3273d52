/**
 * gRPC methods as weft sees them: the path, the kind (which side streams) and whether the method
 * is idempotent. grpc-js's `Channel.createCall` gives only the path, so a client learns the rest
 * once, from the service definitions of the clients it serves (`ClientConstructor.service`, what
 * @grpc/proto-loader, grpc-tools and ts-proto generate), and from the `methods` option.
 *
 * Idempotency, in the order the first answer wins: the call's own say (the `weft` call option, or
 * `new Metadata({ idempotentRequest: true })`), the `methods` option, the proto's
 * `option idempotency_level = IDEMPOTENT | NO_SIDE_EFFECTS` (which proto-loader exposes as
 * `options.idempotency_level`). A method weft knows nothing of is a unary, non-idempotent call.
 */

/** What weft knows of one gRPC method. */
export interface GrpcMethod {
  /** `/package.Service/Method`, as on the wire. */
  readonly path: string;
  /** `package.Service`. */
  readonly service: string;
  /** `Method`. */
  readonly name: string;
  /** The client sends a stream of messages (client-streaming and bidi). */
  readonly requestStream: boolean;
  /** The server answers with a stream of messages (server-streaming and bidi). */
  readonly responseStream: boolean;
  /** Safe to send twice: the proto says IDEMPOTENT or NO_SIDE_EFFECTS, or the `methods` option does. */
  readonly idempotent: boolean;
}

/** One method of a service definition, as grpc-js and proto-loader describe it. */
export interface MethodDefinitionLike {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly options?: { readonly idempotency_level?: unknown } | undefined;
}

/** A service definition: method name to definition (`ClientConstructor.service`). */
export type ServiceDefinitionLike = Readonly<Record<string, MethodDefinitionLike>>;

const IDEMPOTENT_LEVELS: ReadonlySet<unknown> = new Set(['IDEMPOTENT', 'NO_SIDE_EFFECTS', 1, 2]);

/** Split `/package.Service/Method` into its service and method names. */
export function splitPath(path: string): { service: string; name: string } {
  const slash = path.lastIndexOf('/');
  if (slash <= 0) return { service: '', name: path.replace(/^\//, '') };
  return { service: path.slice(path.startsWith('/') ? 1 : 0, slash), name: path.slice(slash + 1) };
}

/** The method `path` describes, built from its definition (or from nothing: a unary call). */
export function grpcMethod(
  path: string,
  definition: MethodDefinitionLike | undefined,
  idempotentOverride: boolean | undefined,
): GrpcMethod {
  const { service, name } = splitPath(path);
  return {
    path,
    service,
    name,
    requestStream: definition?.requestStream === true,
    responseStream: definition?.responseStream === true,
    idempotent: idempotentOverride ?? IDEMPOTENT_LEVELS.has(definition?.options?.idempotency_level),
  };
}
