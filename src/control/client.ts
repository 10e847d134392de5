/** Asks a running supervisor over its control socket. */
import net from 'node:net';
import type { ControlRequest, ControlResponse } from './protocol.js';

/** Why a request got no answer: nobody listens, or the supervisor did not answer in time. */
export type ClientError = { kind: 'no-supervisor'; detail: string } | { kind: 'failed'; detail: string };

/** Sends one request and resolves with the answer, or with why there is none. */
export function request(socketPath: string, req: ControlRequest, timeoutMs: number): Promise<{ ok: true; response: ControlResponse } | { ok: false; error: ClientError }> {
  return new Promise((resolve) => {
    let data = '';
    let settled = false;
    const done = (value: { ok: true; response: ControlResponse } | { ok: false; error: ClientError }): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      clearTimeout(timer);
      resolve(value);
    };
    const socket = net.createConnection(socketPath);
    const timer = setTimeout(() => done({ ok: false, error: { kind: 'failed', detail: `no answer within ${timeoutMs} ms` } }), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(req)}\n`));
    socket.on('data', (chunk: string) => {
      data += chunk;
      const newline = data.indexOf('\n');
      if (newline < 0) return;
      try {
        done({ ok: true, response: JSON.parse(data.slice(0, newline)) as ControlResponse });
      } catch {
        done({ ok: false, error: { kind: 'failed', detail: 'the supervisor sent an answer that is not JSON' } });
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const gone = error.code === 'ENOENT' || error.code === 'ECONNREFUSED';
      done({ ok: false, error: { kind: gone ? 'no-supervisor' : 'failed', detail: `${error.code ?? error.message} at ${socketPath}` } });
    });
    socket.on('end', () => done({ ok: false, error: { kind: 'failed', detail: 'the supervisor closed the connection without an answer' } }));
  });
}
