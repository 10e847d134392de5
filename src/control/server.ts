/** The supervisor's control socket: a Unix socket in its runtime dir, owner-only, one request per connection. */
import { createHash } from 'node:crypto';
import { chmodSync, rmSync } from 'node:fs';
import net from 'node:net';
import { request } from './client.js';
import type { ControlRequest, ControlResponse } from './protocol.js';

/** Answers requests; failures are values, never exceptions. */
export type ControlHandler = (req: ControlRequest) => Promise<ControlResponse>;

const MAX_REQUEST_BYTES = 64 * 1024;

/** Another supervisor already runs this manifest: its pid and manifest, when it answered a ping. */
export type AlreadyRunning = { pid: number; manifest: string } | { pid: undefined; manifest: undefined };

/** How long a second supervisor asks the first one who it is. */
const PING_TIMEOUT_MS = 2_000;
const PING_ATTEMPTS = 3;

/**
 * One supervisor per runtime dir, held by the kernel: a Linux abstract socket named after the control
 * socket's path. The kernel releases it when the process dies however it dies, so it is never stale
 * and two supervisors started at the same instant cannot both get it. (Checking the control socket
 * first and then replacing its file let both run; a supervisor too busy to answer a ping in time lost
 * its socket to the second.) Other systems fall back to the ping alone.
 */
function lockName(socketPath: string): string {
  const uid = process.getuid?.() ?? 0;
  return `\0clawfleet-${uid}-${createHash('sha256').update(socketPath).digest('hex').slice(0, 24)}`;
}

async function acquireLock(socketPath: string): Promise<net.Server | 'held' | 'unsupported'> {
  if (process.platform !== 'linux') return 'unsupported';
  const lock = net.createServer((socket) => socket.destroy());
  lock.unref();
  return new Promise((resolve) => {
    lock.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EADDRINUSE' ? 'held' : 'unsupported'));
    lock.listen(lockName(socketPath), () => resolve(lock));
  });
}

async function whoRuns(socketPath: string, pingTimeoutMs: number): Promise<AlreadyRunning | undefined> {
  for (let attempt = 0; attempt < PING_ATTEMPTS; attempt += 1) {
    const probe = await request(socketPath, { cmd: 'ping' }, pingTimeoutMs);
    if (probe.ok && 'pong' in probe.response) return probe.response.pong;
  }
  return undefined;
}

/**
 * Listens on `socketPath`, once this process holds the runtime dir's lock. A supervisor already there
 * is reported (one per manifest); a socket file left by a dead one is reclaimed.
 */
export async function listenControl(
  socketPath: string,
  handler: ControlHandler,
  options: { pingTimeoutMs?: number } = {},
): Promise<{ ok: true; close(): Promise<void> } | { ok: false; running: AlreadyRunning }> {
  const pingTimeoutMs = options.pingTimeoutMs ?? PING_TIMEOUT_MS;
  const lock = await acquireLock(socketPath);
  if (lock === 'held') return { ok: false, running: (await whoRuns(socketPath, pingTimeoutMs)) ?? { pid: undefined, manifest: undefined } };
  if (lock === 'unsupported') {
    const running = await whoRuns(socketPath, pingTimeoutMs);
    if (running) return { ok: false, running };
  }
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
  } catch (error) {
    if (lock instanceof net.Server) lock.close();
    throw error;
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
        if (lock instanceof net.Server) lock.close();
      }),
  };
}
