import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ProbeAction } from '../plan/types.js';
import { closeIdleProbeConnections, MAX_REUSE_MS } from './http-probe.js';
import { runProbe, type ProbeTarget } from './probe.js';

const TIMEOUT_MS = 1000;
// Generous: a loaded CI box may be slow to fire timers, but a probe must never wait for the server.
// Generous: it tells "timed out" from "hung until the server gave up", and must hold on a loaded 2-core machine.
const TIMEOUT_MARGIN_MS = 3_000;
const WAIT_TIMEOUT_MS = 3000;

const servers: net.Server[] = [];
const cleanups: Array<() => void> = [];

afterEach(async () => {
  closeIdleProbeConnections();
  for (const cleanup of cleanups.splice(0)) cleanup();
  await Promise.all(servers.splice(0).map(closeServer));
});

// A server that never answers would keep close() waiting for its open sockets; destroy them first.
function closeServer(server: net.Server): Promise<void> {
  const sockets = (server as net.Server & { tracked?: Set<net.Socket> }).tracked ?? new Set();
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

async function listen(server: net.Server): Promise<number> {
  const tracked = new Set<net.Socket>();
  Object.assign(server, { tracked });
  server.on('connection', (socket: net.Socket) => {
    tracked.add(socket);
    socket.on('close', () => tracked.delete(socket));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  return address.port;
}

function httpServer(handler: http.RequestListener): Promise<number> {
  return listen(http.createServer(handler));
}

// A port that was just free: listen on an ephemeral one and close it again.
async function closedPort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  servers.splice(servers.indexOf(server), 1);
  await closeServer(server);
  return port;
}

function target(port: number): ProbeTarget {
  return { host: '127.0.0.1', port, cwd: process.cwd(), env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A killed orphan stays a zombie until init reaps it, which some container inits do only every few seconds.
  try {
    return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

// Kills the process only when the probe failed to, so a pid reused after a good run is never touched.
async function expectGone(pid: number): Promise<void> {
  try {
    await waitFor(() => !isRunning(pid), WAIT_TIMEOUT_MS);
  } catch (error) {
    process.kill(pid, 'SIGKILL');
    throw error;
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs}ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const get = (p: string): ProbeAction => ({ type: 'http', path: p });

describe('http probe', () => {
  it('passes on 200 and sends no forwarding header', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const port = await httpServer((request, response) => {
      seen.push(request.headers);
      response.end('ok');
    });
    const outcome = await runProbe(get('/healthz'), target(port), TIMEOUT_MS);
    expect(outcome.ok).toBe(true);
    expect(outcome.latencyMs).toBeGreaterThanOrEqual(0);
    expect(seen[0]?.['x-forwarded-for']).toBeUndefined();
  });

  it('reuses one kept-alive connection for probes of the same port', async () => {
    let connections = 0;
    const server = http.createServer((_request, response) => response.end('{"ok":true}'));
    server.on('connection', () => (connections += 1));
    const port = await listen(server);
    for (let i = 0; i < 5; i += 1) expect((await runProbe(get('/healthz'), target(port), TIMEOUT_MS)).ok).toBe(true);
    expect(connections).toBe(1);
  });

  it('keeps a connection each for liveness and readiness probing one port at the same instant', async () => {
    let connections = 0;
    const server = http.createServer((_request, response) => response.end('{"ok":true}'));
    server.on('connection', () => (connections += 1));
    const port = await listen(server);
    for (let i = 0; i < 4; i += 1) {
      const both = await Promise.all([runProbe(get('/healthz'), target(port), TIMEOUT_MS), runProbe(get('/readyz'), target(port), TIMEOUT_MS)]);
      expect(both.map((outcome) => outcome.ok)).toEqual([true, true]);
    }
    expect(connections).toBe(2);
  });

  it('retries once on a fresh connection when the kept one was closed by the gateway', async () => {
    let connections = 0;
    let closed = 0;
    const server = http.createServer((_request, response) => response.end('ok'));
    server.on('connection', (socket: net.Socket) => {
      connections += 1;
      socket.on('close', () => (closed += 1));
    });
    const port = await listen(server);
    expect((await runProbe(get('/healthz'), target(port), TIMEOUT_MS)).ok).toBe(true);
    server.closeIdleConnections();
    await waitFor(() => closed === 1, WAIT_TIMEOUT_MS);
    expect((await runProbe(get('/healthz'), target(port), TIMEOUT_MS)).ok).toBe(true);
    expect(connections).toBe(2);
  });

  it('opens a fresh connection once the kept one is MAX_REUSE_MS old, so a listener that stopped accepting is caught', async () => {
    let connections = 0;
    const sockets: net.Socket[] = [];
    // A raw server: closing its listener leaves the accepted connection serving, as a wedged accept loop would.
    const server = net.createServer((socket) => {
      connections += 1;
      sockets.push(socket);
      socket.on('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok'));
    });
    const port = await listen(server);
    cleanups.push(() => sockets.forEach((socket) => socket.destroy()));
    expect((await runProbe(get('/healthz'), target(port), TIMEOUT_MS)).ok).toBe(true);
    server.close();
    expect((await runProbe(get('/healthz'), target(port), TIMEOUT_MS)).ok).toBe(true);
    const realNow = Date.now.bind(Date);
    const spy = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + MAX_REUSE_MS);
    try {
      // This answer still comes over the old connection, which is then too old to keep.
      expect((await runProbe(get('/healthz'), target(port), TIMEOUT_MS)).ok).toBe(true);
      expect(await runProbe(get('/healthz'), target(port), TIMEOUT_MS)).toMatchObject({ ok: false, reason: 'connection refused' });
    } finally {
      spy.mockRestore();
    }
    expect(connections).toBe(1);
  });

  it('does not reuse a connection whose answer had no length', async () => {
    let connections = 0;
    const server = net.createServer((socket) => {
      connections += 1;
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\nbody until close'));
    });
    const port = await listen(server);
    expect((await runProbe(get('/healthz'), target(port), TIMEOUT_MS)).ok).toBe(true);
    expect((await runProbe(get('/healthz'), target(port), TIMEOUT_MS)).ok).toBe(true);
    expect(connections).toBe(2);
  });

  it('passes on a redirect and asks for the given path', async () => {
    const paths: string[] = [];
    const port = await httpServer((request, response) => {
      paths.push(request.url ?? '');
      response.writeHead(302, { Location: '/elsewhere' }).end();
    });
    expect((await runProbe(get('/readyz?x=1'), target(port), TIMEOUT_MS)).ok).toBe(true);
    expect(paths).toEqual(['/readyz?x=1']);
  });

  it('fails on 503 with the status as reason', async () => {
    const port = await httpServer((_request, response) => {
      response.writeHead(503).end('starting');
    });
    expect(await runProbe(get('/readyz'), target(port), TIMEOUT_MS)).toMatchObject({ ok: false, reason: 'HTTP 503' });
  });

  it('reads a body larger than the cap without waiting for its end', async () => {
    const port = await httpServer((_request, response) => {
      // 128 KB and then never end: the probe must settle on the cap, not on the timeout.
      response.writeHead(200);
      response.write(Buffer.alloc(128 * 1024, 'x'));
    });
    const outcome = await runProbe(get('/healthz'), target(port), TIMEOUT_MS);
    expect(outcome).toMatchObject({ ok: true });
    expect(outcome.latencyMs).toBeLessThan(TIMEOUT_MS);
  });

  it('times out on a server that never answers, within a margin', async () => {
    let requests = 0;
    const port = await httpServer(() => {
      requests += 1;
    });
    const startedAt = Date.now();
    const outcome = await runProbe(get('/healthz'), target(port), 300);
    const elapsed = Date.now() - startedAt;
    expect(outcome).toMatchObject({ ok: false, reason: 'timed out after 300ms' });
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(300 + TIMEOUT_MARGIN_MS);
    expect(requests).toBe(1);
  });

  it('reports a closed port as refused', async () => {
    const port = await closedPort();
    expect(await runProbe(get('/healthz'), target(port), TIMEOUT_MS)).toMatchObject({
      ok: false,
      reason: 'connection refused',
    });
  });

  it('reports a server that hangs up without answering as reset', async () => {
    const port = await listen(net.createServer((socket) => socket.destroy()));
    expect(await runProbe(get('/healthz'), target(port), TIMEOUT_MS)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^connection (reset|closed before an answer)$/),
    });
  });

  it('turns an invalid path into a failure instead of a throw', async () => {
    const port = await closedPort();
    const outcome = await runProbe(get('/bad path'), target(port), TIMEOUT_MS);
    expect(outcome).toMatchObject({ ok: false, reason: 'invalid probe path "/bad path"' });
  });
});

describe('tcp probe', () => {
  it('passes when something listens', async () => {
    const port = await listen(net.createServer());
    expect(await runProbe({ type: 'tcp' }, target(port), TIMEOUT_MS)).toMatchObject({ ok: true });
  });

  it('fails on a closed port', async () => {
    const port = await closedPort();
    expect(await runProbe({ type: 'tcp' }, target(port), TIMEOUT_MS)).toMatchObject({
      ok: false,
      reason: 'connection refused',
    });
  });
});

describe('exec probe', () => {
  const exec = (...argv: string[]): ProbeAction => ({ type: 'exec', argv });

  it('passes on exit 0', async () => {
    expect(await runProbe(exec('true'), target(0), TIMEOUT_MS)).toMatchObject({ ok: true });
  });

  it('fails on exit 3 with the code as reason', async () => {
    expect(await runProbe(exec('sh', '-c', 'exit 3'), target(0), TIMEOUT_MS)).toMatchObject({
      ok: false,
      reason: 'exit 3',
    });
  });

  it('runs in the target cwd with only the target env', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probe-test-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', PROBE_MARK: 'yes' };
    const script = `[ "$(pwd -P)" = "${fs.realpathSync(dir)}" ] && [ "$PROBE_MARK" = yes ] && [ -z "$HOME" ]`;
    const outcome = await runProbe(exec('sh', '-c', script), { host: '127.0.0.1', port: 0, cwd: dir, env }, TIMEOUT_MS);
    expect(outcome).toMatchObject({ ok: true });
  });

  it('kills a probe that outlives its timeout', async () => {
    let pid: number | undefined;
    const startedAt = Date.now();
    const outcome = await runProbe(exec('sleep', '5'), target(0), 200, { onSpawn: (p) => (pid = p) });
    expect(Date.now() - startedAt).toBeLessThan(4_000);
    expect(outcome).toMatchObject({ ok: false, reason: 'timed out after 200ms' });
    if (pid === undefined) throw new Error('the probe reported no pid');
    // SIGKILL is sent before the probe settles; the kernel may need a moment to finish it.
    await expectGone(pid);
  });

  it('kills an exec probe in flight when it is cancelled (the gateway stopped, the supervisor exits)', async () => {
    let pid: number | undefined;
    const controller = new AbortController();
    const running = runProbe(exec('sleep', '5'), target(0), 10_000, { onSpawn: (p) => (pid = p), signal: controller.signal });
    await waitFor(() => pid !== undefined, WAIT_TIMEOUT_MS);
    controller.abort();
    expect(await running).toMatchObject({ ok: false, reason: 'cancelled' });
    await expectGone(pid!);
    // Already aborted: nothing is started at all.
    let late: number | undefined;
    expect(await runProbe(exec('sleep', '5'), target(0), 10_000, { onSpawn: (p) => (late = p), signal: controller.signal })).toMatchObject({ ok: false, reason: 'cancelled' });
    expect(late).toBeUndefined();
  });

  it('kills the whole process group of a probe on timeout', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'probe-test-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const pidFile = path.join(dir, 'grandchild.pid');
    const script = `sleep 5 & echo $! > ${pidFile}; wait`;
    const outcome = await runProbe(exec('sh', '-c', script), target(0), 300);
    expect(outcome).toMatchObject({ ok: false, reason: 'timed out after 300ms' });
    const grandchild = Number(fs.readFileSync(pidFile, 'utf8').trim());
    await expectGone(grandchild);
  });

  it('reports a missing program', async () => {
    expect(await runProbe(exec('clawfleet-no-such-program'), target(0), TIMEOUT_MS)).toMatchObject({
      ok: false,
      reason: 'cannot run clawfleet-no-such-program: ENOENT',
    });
  });

  it('reports an empty argv', async () => {
    expect(await runProbe(exec(), target(0), TIMEOUT_MS)).toMatchObject({ ok: false });
  });
});
