/** The supervisor's control socket: a Unix socket in its runtime dir, owner-only, one request per connection. */
import { chmodSync, rmSync } from 'node:fs';
import net from 'node:net';
import { request } from './client.js';
import type { ControlRequest, ControlResponse } from './protocol.js';

/** Answers requests; failures are values, never exceptions. */
export type ControlHandler = (req: ControlRequest) => Promise<ControlResponse>;

const MAX_REQUEST_BYTES = 64 * 1024;

/** Another supervisor already answers on the socket: its pid and manifest. */
export interface AlreadyRunning {
  pid: number;
  manifest: string;
}

/**
 * Listens on `socketPath`. A live supervisor already there is reported (one per manifest); a socket
 * file left by a dead one is reclaimed.
 */
export async function listenControl(socketPath: string, handler: ControlHandler): Promise<{ ok: true; close(): Promise<void> } | { ok: false; running: AlreadyRunning }> {
  const probe = await request(socketPath, { cmd: 'ping' }, 2_000);
  if (probe.ok && 'pong' in probe.response) return { ok: false, running: probe.response.pong };
  rmSync(socketPath, { force: true });

  const server = net.createServer((socket) => {
    let data = '';
    socket.setEncoding('utf8');
    socket.on('error', () => undefined);
    socket.on('data', (chunk: string) => {
      data += chunk;
      if (data.length > MAX_REQUEST_BYTES) {
        socket.end(`${JSON.stringify({ ok: false, error: 'request too large', code: 2 })}\n`);
        return;
      }
      const newline = data.indexOf('\n');
      if (newline < 0) return;
      let req: ControlRequest;
      try {
        req = JSON.parse(data.slice(0, newline)) as ControlRequest;
      } catch {
        socket.end(`${JSON.stringify({ ok: false, error: 'not a JSON request', code: 2 })}\n`);
        return;
      }
      handler(req).then(
        (response) => socket.end(`${JSON.stringify(response)}\n`),
        (error: unknown) => socket.end(`${JSON.stringify({ ok: false, error: `internal error: ${(error as Error).message}`, code: 1 })}\n`),
      );
    });
  });
  const previous = process.umask(0o077);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
  } finally {
    process.umask(previous);
  }
  chmodSync(socketPath, 0o600);
  return {
    ok: true,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        rmSync(socketPath, { force: true });
      }),
  };
}
