/**
 * Where the Kubernetes resolver finds the API server and its credentials, read once when the
 * resolver is made: a kubeconfig file (current-context, or a named one) or the in-cluster service
 * account. In-cluster defaults are client-go's `rest.InClusterConfig`: the token and CA under
 * /var/run/secrets/kubernetes.io/serviceaccount/ and the server from KUBERNETES_SERVICE_HOST/PORT;
 * the token is re-read before every request, because the kubelet rotates projected tokens (client-go
 * re-reads it too). Without options: KUBERNETES_SERVICE_HOST set → in-cluster; else $KUBECONFIG
 * (its first file), else ~/.kube/config (kubectl's order). exec and auth-provider plugins are not
 * run (that is where @kubernetes/client-node would earn its weight): use a token or a certificate.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError, errorCode } from '../core/errors.js';
import { booleanOption, integerInRange, objectOption, optionKeys } from '../core/options.js';
import { parseKubeconfigText, type YamlValue } from './kubernetes-yaml.js';

/** The service account directory every pod gets (Kubernetes docs, "Accessing the API from a Pod"). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Where the in-cluster configuration is read from; every field has the in-cluster default. */
export interface KubernetesInClusterOptions {
  /** Default `$KUBERNETES_SERVICE_HOST`. */
  readonly host?: string;
  /** Default `$KUBERNETES_SERVICE_PORT`, else 443. */
  readonly port?: number;
  /** Default /var/run/secrets/kubernetes.io/serviceaccount/token (re-read before each request). */
  readonly tokenFile?: string;
  /** Default /var/run/secrets/kubernetes.io/serviceaccount/ca.crt. */
  readonly caFile?: string;
  /** Default /var/run/secrets/kubernetes.io/serviceaccount/namespace (optional file). */
  readonly namespaceFile?: string;
}

/** The keys of {@link KubernetesInClusterOptions}. */
export const KUBERNETES_IN_CLUSTER_OPTION_KEYS = optionKeys<KubernetesInClusterOptions>({
  host: true,
  port: true,
  tokenFile: true,
  caFile: true,
  namespaceFile: true,
});

/** How to reach the API server, as the resolver uses it. */
export interface KubernetesConnection {
  /** The API server's base URL, e.g. `https://10.96.0.1:443`. */
  readonly server: URL;
  /** PEM CA bundle to verify the server with; undefined: the system's CAs. */
  readonly ca?: string;
  /** PEM client certificate and key, for certificate authentication. */
  readonly cert?: string;
  readonly key?: string;
  /** kubeconfig `insecure-skip-tls-verify`. */
  readonly insecureSkipTlsVerify: boolean;
  /** kubeconfig `tls-server-name`: the name to verify instead of the URL's host. */
  readonly tlsServerName?: string;
  /** The bearer token, read fresh (a token file is re-read every time). */
  readonly token: () => Promise<string | undefined>;
  /** The namespace the configuration names (kubeconfig context or the pod's), if any. */
  readonly namespace?: string;
  /** e.g. `in-cluster` or `kubeconfig /home/me/.kube/config (context kind)`, for messages. */
  readonly source: string;
}

/** What {@link loadKubernetesConnection} reads from the resolver's options. */
export interface KubernetesConnectionOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly inCluster?: boolean | KubernetesInClusterOptions;
}

/** Read the configuration the options point at; a problem is a ConfigError naming the option. */
export function loadKubernetesConnection(
  options: KubernetesConnectionOptions,
  env: NodeJS.ProcessEnv = process.env,
): KubernetesConnection {
  const { kubeconfig, context, inCluster } = options;
  if (kubeconfig !== undefined && inCluster !== undefined && inCluster !== false) {
    throw new ConfigError('kubernetes.inCluster', inCluster, 'either kubeconfig or inCluster, not both');
  }
  if (kubeconfig !== undefined) {
    if (typeof kubeconfig !== 'string' || kubeconfig === '') {
      throw new ConfigError('kubernetes.kubeconfig', kubeconfig, 'expected the path of a kubeconfig file');
    }
    return fromKubeconfig(resolve(kubeconfig), context, 'kubernetes.kubeconfig');
  }
  if (inCluster !== undefined && inCluster !== false) {
    if (context !== undefined) {
      throw new ConfigError(
        'kubernetes.context',
        context,
        'a context belongs to a kubeconfig, not to inCluster',
      );
    }
    return fromInCluster(inCluster === true ? {} : inCluster, env);
  }
  if (inCluster === undefined && context === undefined && env.KUBERNETES_SERVICE_HOST) {
    return fromInCluster({}, env);
  }
  const fromEnv = env.KUBECONFIG?.split(delimiter).find((p) => p !== '');
  const path = fromEnv ?? join(homedir(), '.kube', 'config');
  return fromKubeconfig(resolve(path), context, fromEnv ? 'KUBECONFIG' : 'kubernetes.kubeconfig');
}

function fromInCluster(raw: KubernetesInClusterOptions, env: NodeJS.ProcessEnv): KubernetesConnection {
  const options = objectOption<KubernetesInClusterOptions>(
    'kubernetes.inCluster',
    raw,
    KUBERNETES_IN_CLUSTER_OPTION_KEYS,
  );
  const host = options.host ?? env.KUBERNETES_SERVICE_HOST;
  if (typeof host !== 'string' || host === '') {
    throw new ConfigError(
      'kubernetes.inCluster.host',
      host,
      'expected a host: not running in a pod? KUBERNETES_SERVICE_HOST is not set',
    );
  }
  const envPort = env.KUBERNETES_SERVICE_PORT === undefined ? undefined : Number(env.KUBERNETES_SERVICE_PORT);
  const port = integerInRange('kubernetes.inCluster.port', options.port ?? envPort, 1, 65535, 443);
  const tokenFile = options.tokenFile ?? join(SERVICE_ACCOUNT_DIR, 'token');
  const caFile = options.caFile ?? join(SERVICE_ACCOUNT_DIR, 'ca.crt');
  const namespaceFile = options.namespaceFile ?? join(SERVICE_ACCOUNT_DIR, 'namespace');
  // Read the token once now so that a pod without a service account fails at construction.
  readText('kubernetes.inCluster.tokenFile', tokenFile);
  const ca = readText('kubernetes.inCluster.caFile', caFile);
  let namespace: string | undefined;
  try {
    namespace = readFileSync(namespaceFile, 'utf8').trim() || undefined;
  } catch {
    namespace = undefined;
  }
  const hostInUrl = isIP(host) === 6 ? `[${host}]` : host;
  return {
    server: new URL(`https://${hostInUrl}:${port}`),
    ca,
    insecureSkipTlsVerify: false,
    token: () => readTokenFile(tokenFile),
    ...(namespace === undefined ? {} : { namespace }),
    source: 'in-cluster',
  };
}

function fromKubeconfig(path: string, contextName: unknown, option: string): KubernetesConnection {
  const text = readText(option, path);
  let doc: YamlValue;
  try {
    doc = parseKubeconfigText(text);
  } catch (error) {
    throw new ConfigError(option, path, `a readable kubeconfig (${(error as Error).message})`);
  }
  const base = dirname(path);
  const root = asMapping(doc, option, path, 'the file');
  const wanted = contextName ?? root['current-context'];
  if (typeof wanted !== 'string' || wanted === '') {
    throw new ConfigError(
      contextName === undefined ? option : 'kubernetes.context',
      contextName ?? path,
      'a context name (the kubeconfig has no current-context)',
    );
  }
  const context = named(root.contexts, 'context', wanted, option, path);
  const clusterName = context.cluster;
  const userName = context.user;
  if (typeof clusterName !== 'string') {
    throw new ConfigError(option, path, `context "${wanted}" to name a cluster`);
  }
  const cluster = named(root.clusters, 'cluster', clusterName, option, path);
  const user = typeof userName === 'string' ? named(root.users, 'user', userName, option, path) : {};
  for (const plugin of ['exec', 'auth-provider', 'username', 'password'] as const) {
    if (user[plugin] !== undefined && user[plugin] !== null) {
      throw new ConfigError(
        option,
        path,
        `user "${String(userName)}" without "${plugin}": weft reads tokens and client certificates only ` +
          '(no exec/auth-provider plugins, no basic auth); mint a token, e.g. `kubectl create token`',
      );
    }
  }
  const server = cluster.server;
  let url: URL;
  try {
    url = new URL(String(server));
  } catch {
    throw new ConfigError(option, path, `cluster "${clusterName}" with a server URL (got ${String(server)})`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(option, path, `cluster "${clusterName}" with an http(s) server URL`);
  }
  const file = (key: string, dataKey: string, where: Record<string, YamlValue>): string | undefined => {
    const data = where[dataKey];
    if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64').toString('utf8');
    const ref = where[key];
    if (typeof ref === 'string' && ref !== '') {
      return readText(`${option} (${key})`, isAbsolute(ref) ? ref : join(base, ref));
    }
    return undefined;
  };
  const ca = file('certificate-authority', 'certificate-authority-data', cluster);
  const cert = file('client-certificate', 'client-certificate-data', user);
  const key = file('client-key', 'client-key-data', user);
  if ((cert === undefined) !== (key === undefined)) {
    throw new ConfigError(
      option,
      path,
      `user "${String(userName)}" with both a client certificate and its key`,
    );
  }
  const tokenFile = user.tokenFile;
  const token = user.token;
  let readToken: () => Promise<string | undefined>;
  if (typeof token === 'string' && token !== '') readToken = () => Promise.resolve(token);
  else if (typeof tokenFile === 'string' && tokenFile !== '') {
    const tokenPath = isAbsolute(tokenFile) ? tokenFile : join(base, tokenFile);
    readText(`${option} (tokenFile)`, tokenPath);
    readToken = () => readTokenFile(tokenPath);
  } else readToken = () => Promise.resolve(undefined);
  const insecure = booleanOption(
    `${option} (insecure-skip-tls-verify)`,
    cluster['insecure-skip-tls-verify'] ?? undefined,
    false,
  );
  const serverName = cluster['tls-server-name'];
  const namespace = context.namespace;
  return {
    server: url,
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    insecureSkipTlsVerify: insecure,
    ...(typeof serverName === 'string' && serverName !== '' ? { tlsServerName: serverName } : {}),
    token: readToken,
    ...(typeof namespace === 'string' && namespace !== '' ? { namespace } : {}),
    source: `kubeconfig ${path} (context ${wanted})`,
  };
}

function readText(option: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(option, path, `a readable file (${errorCode(error) ?? (error as Error).message})`);
  }
}

async function readTokenFile(path: string): Promise<string | undefined> {
  const token = (await readFile(path, 'utf8')).trim();
  return token === '' ? undefined : token;
}

function asMapping(value: unknown, option: string, path: string, what: string): Record<string, YamlValue> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(option, path, `${what} to be a mapping`);
  }
  return value as Record<string, YamlValue>;
}

/** The `field` mapping of the entry called `name` in a kubeconfig list (`clusters`, `users`...). */
function named(
  list: YamlValue | undefined,
  field: string,
  name: string,
  option: string,
  path: string,
): Record<string, YamlValue> {
  const entries = Array.isArray(list) ? list : [];
  for (const entry of entries) {
    if (entry !== null && typeof entry === 'object' && !Array.isArray(entry) && entry.name === name) {
      return entry[field] === null || entry[field] === undefined
        ? {}
        : asMapping(entry[field], option, path, `${field} "${name}"`);
    }
  }
  throw new ConfigError(option, path, `a ${field} named "${name}"`);
}
