// Quick start: start two loopback servers, put a weft client (P2C Peak EWMA by default) in front
// of them, fetch a path, print status and body, close everything. Run: npx tsx examples/quick-start.ts
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { createHttpClient } from '../src/index.js';

export async function main(
  log: (text: string) => void = console.log,
): Promise<{ status: number; body: string }> {
  const servers = [1, 2].map((n) => createServer((_req, res) => res.end(`hello from backend ${n}`)));
  await Promise.all(servers.map((server) => once(server.listen(0, '127.0.0.1'), 'listening')));
  const client = createHttpClient({
    endpoints: servers.map((server) => `127.0.0.1:${(server.address() as AddressInfo).port}`),
  });
  try {
    const res = await client.fetch('/hello');
    const body = await res.text();
    log(`${res.status} ${body}`);
    return { status: res.status, body };
  } finally {
    await client.close();
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await main();
