/**
 * Starts benchmark backends as child processes on loopback and stops them. Each child is killed
 * when the benchmark ends, even on failure.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export interface BackendProcess {
  readonly port: number;
  readonly address: string;
  stop(): Promise<void>;
}

const script = fileURLToPath(new URL('./backend-process.ts', import.meta.url));

/** Start one backend process; resolves when it listens. */
export async function startBackendProcess(
  config: { delayMs?: number; body?: string } = {},
): Promise<BackendProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error('backend process did not start within 20 s')), 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split('\n')[0];
      if (buffered.includes('\n') && line !== undefined) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`backend process exited with ${code}`));
    });
  });
  return {
    port,
    address: `127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
