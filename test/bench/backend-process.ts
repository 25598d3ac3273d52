/**
 * A benchmark backend in its own process, so the client's CPU is measured apart from the server's.
 * Started by ./backends.ts; listens on 127.0.0.1, port 0, and reports its port on stdout as JSON.
 * Argument: a JSON config { delayMs, body }.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Config {
  delayMs?: number;
  body?: string;
}

const config: Config = JSON.parse(process.argv[2] ?? '{}');
const body = config.body ?? 'ok';
const delayMs = config.delayMs ?? 0;

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const send = () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (delayMs > 0) setTimeout(send, delayMs);
    else send();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('message', () => {});
process.on('disconnect', () => server.close(() => process.exit(0)));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
