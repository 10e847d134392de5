import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseDemoGatewayArgs } from './demo-gateway.js';
import { parseDurationMs } from './duration.js';
import { isLoopbackAddress } from './faults.js';

// Vitest runs from the repo root; the gateway under test is the compiled one, as users run it.
const REPO_ROOT = process.cwd();
const ENTRY = path.join(REPO_ROOT, 'dist/demo-gateway/main.js');
const SOURCE_DIR = path.join(REPO_ROOT, 'src/demo-gateway');
// This file's share of the test port range; each gateway takes base and base+2.
const FIRST_PORT = 24100;
const LAST_PORT = 24199;
const PORT_STRIDE = 3;
const WAIT_TIMEOUT_MS = 5000;
const POLL_INTERVAL_MS = 20;
const REQUEST_TIMEOUT_MS = 1000;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface RunningGateway {
  child: ChildProcess;
  pid: number;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<Exit>;
}

interface Reply {
  status: number;
  body: string;
}

let nextPort = FIRST_PORT;
const gateways: RunningGateway[] = [];
const cleanups: Array<() => void | Promise<void>> = [];

function allocatePort(): number {
  const port = nextPort;
  nextPort += PORT_STRIDE;
  if (port + 2 > LAST_PORT) throw new Error('demo-gateway tests ran out of their port range');
  return port;
}

function makeStateDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-gateway-test-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'state');
}

// The runner's own OPENCLAW_* or PORT must not leak into the gateway under test.
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('OPENCLAW_') && key !== 'PORT' && key !== 'DEMO_BOOT_DELAY') env[key] = value;
  }
  return { ...env, ...extra };
}

// Detached, so the gateway leads its own process group and afterEach can kill the whole group.
function startGateway(args: string[], env: Record<string, string> = {}): RunningGateway {
  const child = spawn(process.execPath, [ENTRY, ...args], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: cleanEnv(env),
  });
  if (child.pid === undefined) throw new Error('could not spawn the demo gateway');
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<Exit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  const gateway = { child, pid: child.pid, stdout: () => out, stderr: () => err, exited };
  gateways.push(gateway);
  return gateway;
}

async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = WAIT_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

// A fresh connection per request (no agent), so a dead or hung gateway never poisons a pool.
function request(port: number, pathname: string, options: { method?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<Reply | undefined> {
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: pathname, method: options.method ?? 'GET', headers: options.headers, agent: false, timeout: options.timeoutMs ?? REQUEST_TIMEOUT_MS },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', () => resolve(undefined));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

async function getJson(port: number, pathname: string): Promise<{ status: number; json: unknown } | undefined> {
  const reply = await request(port, pathname);
  return reply && { status: reply.status, json: JSON.parse(reply.body) as unknown };
}

async function postFault(port: number, fault: string, headers: Record<string, string> = {}): Promise<Reply> {
  const reply = await request(port, `/__fault/${fault}`, { method: 'POST', headers });
  if (!reply) throw new Error(`no answer to fault ${fault}`);
  return reply;
}

async function waitForStatus(port: number, pathname: string, status: number): Promise<Reply> {
  return waitFor(`${pathname} to answer ${status}`, async () => {
    const reply = await request(port, pathname);
    return reply?.status === status ? reply : undefined;
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function processGroupOf(pid: number): number {
  return Number(execFileSync('ps', ['-o', 'pgid=', '-p', String(pid)], { encoding: 'utf8' }).trim());
}

function readLock(stateDir: string): string | undefined {
  try {
    return fs.readFileSync(path.join(stateDir, 'gateway.lock'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

function expectOneLineNoStack(stderr: string): void {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/^\s+at /m);
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  if (child.pid === undefined) throw new Error('could not spawn a short-lived process');
  return child.pid;
}

afterEach(async () => {
  for (const gateway of gateways.splice(0)) {
    try {
      process.kill(-gateway.pid, 'SIGKILL');
    } catch {
      // Group already gone.
    }
    await gateway.exited;
  }
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('parseDemoGatewayArgs', () => {
  it('applies the defaults', () => {
    const options = parseDemoGatewayArgs(['--port', '24100'], {});
    expect(options).toEqual({
      port: 24100,
      bindHost: '127.0.0.1',
      bootDelayMs: 200,
      crashOnBoot: false,
      exitAfterMs: undefined,
      ignoreSigterm: false,
      forkGrandchild: false,
      neverReady: false,
      growMbPerS: 0,
      stateDir: undefined,
      recordedEnv: { OPENCLAW_STATE_DIR: undefined, OPENCLAW_CONFIG_PATH: undefined, OPENCLAW_PROFILE: undefined, OPENCLAW_GATEWAY_PORT: undefined },
    });
  });

  it('reads every flag, in both --flag value and --flag=value forms', () => {
    const options = parseDemoGatewayArgs(
      ['--port=24101', '--bind', 'lan', '--boot-delay=2s', '--exit-after', '1m', '--crash-on-boot', '--ignore-sigterm', '--fork-grandchild', '--never-ready', '--grow-mb-per-s', '1.5', '--allow-unconfigured'],
      { OPENCLAW_STATE_DIR: '/tmp/x', OPENCLAW_PROFILE: 'p' },
    );
    expect(options).toMatchObject({
      port: 24101,
      bindHost: '0.0.0.0',
      bootDelayMs: 2000,
      exitAfterMs: 60_000,
      crashOnBoot: true,
      ignoreSigterm: true,
      forkGrandchild: true,
      neverReady: true,
      growMbPerS: 1.5,
      stateDir: '/tmp/x',
    });
    expect(options.recordedEnv).toMatchObject({ OPENCLAW_STATE_DIR: '/tmp/x', OPENCLAW_PROFILE: 'p' });
  });

  it('takes the port from --port, then OPENCLAW_GATEWAY_PORT, then PORT', () => {
    expect(parseDemoGatewayArgs(['--port', '24102'], { OPENCLAW_GATEWAY_PORT: '24103', PORT: '24104' }).port).toBe(24102);
    expect(parseDemoGatewayArgs([], { OPENCLAW_GATEWAY_PORT: '24103', PORT: '24104' }).port).toBe(24103);
    expect(parseDemoGatewayArgs([], { PORT: '24104' }).port).toBe(24104);
  });

  it('takes the boot delay from DEMO_BOOT_DELAY unless --boot-delay is given', () => {
    expect(parseDemoGatewayArgs(['--port', '1'], { DEMO_BOOT_DELAY: '0' }).bootDelayMs).toBe(0);
    expect(parseDemoGatewayArgs(['--port', '1', '--boot-delay', '300ms'], { DEMO_BOOT_DELAY: '0' }).bootDelayMs).toBe(300);
  });

  it.each([
    [[], /--port is required/],
    [['--port', 'x'], /--port: "x" is not a port/],
    [['--port', '65535'], /not a port/],
    [['--port', '1', '--boot-delay', '5 s'], /--boot-delay: "5 s" is not a duration/],
    [['--port', '1', '--bind', 'tailnet'], /--bind/],
    [['--port', '1', '--bogus'], /unknown option: --bogus/],
    [['--port', '1', 'extra'], /unexpected argument: extra/],
    [['--port'], /--port needs a value/],
    [['--port', '1', '--never-ready=yes'], /takes no value/],
  ])('rejects %j with a one-line message', (argv, message) => {
    expect(() => parseDemoGatewayArgs(argv, {})).toThrow(message);
    try {
      parseDemoGatewayArgs(argv, {});
    } catch (error) {
      expect((error as Error).message).not.toContain('\n');
    }
  });
});

describe('parseDurationMs', () => {
  it.each([
    ['0', 0],
    ['300ms', 300],
    ['2s', 2000],
    ['1.5s', 1500],
    ['1m', 60_000],
    ['2', undefined],
    ['ms', undefined],
    ['-1s', undefined],
    ['1h', undefined],
  ])('reads %s as %s', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });
});

describe('isLoopbackAddress', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['10.0.0.1', false],
    ['::ffff:192.168.1.2', false],
    ['fe80::1', false],
    [undefined, false],
  ])('%s → %s', (address, loopback) => {
    expect(isLoopbackAddress(address)).toBe(loopback);
  });
});

describe('demo gateway process', () => {
  beforeAll(() => {
    // A stale build would test yesterday's gateway: insist on a fresh one.
    if (!fs.existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run \`npm run build\` first`);
    const builtAt = fs.statSync(ENTRY).mtimeMs;
    const stale = fs
      .readdirSync(SOURCE_DIR)
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
      .filter((file) => fs.statSync(path.join(SOURCE_DIR, file)).mtimeMs > builtAt);
    if (stale.length > 0) throw new Error(`dist is older than ${stale.join(', ')}: run \`npm run build\` first`);
  });

  it('is live at once, and started and ready only after the boot delay', async () => {
    const port = allocatePort();
    const stateDir = makeStateDir();
    const gateway = startGateway(['--port', String(port), '--boot-delay', '700ms'], {
      OPENCLAW_STATE_DIR: stateDir,
      OPENCLAW_PROFILE: 'demo',
    });

    await waitForStatus(port, '/healthz', 200);
    expect(await getJson(port, '/healthz')).toEqual({ status: 200, json: { ok: true, status: 'live' } });
    expect(await getJson(port, '/health')).toEqual({ status: 200, json: { ok: true, status: 'live' } });
    expect(await getJson(port, '/startupz')).toEqual({ status: 503, json: { ok: false, status: 'starting' } });
    expect(await getJson(port, '/readyz')).toEqual({ status: 503, json: { ready: false, failing: ['startup'] } });

    await waitForStatus(port, '/readyz', 200);
    expect(await getJson(port, '/ready')).toEqual({ status: 200, json: { ready: true, failing: [] } });
    expect(await getJson(port, '/startupz')).toEqual({ status: 200, json: { ok: true, status: 'started' } });
    expect(await getJson(port, '/startup')).toEqual({ status: 200, json: { ok: true, status: 'started' } });
    expect(await request(port, '/healthz', { method: 'HEAD' })).toEqual({ status: 200, body: '' });
    expect((await request(port, '/nope'))?.status).toBe(404);
    expect((await request(port + 2, '/anything'))?.status).toBe(200);
    expect(gateway.stdout()).toContain(`demo-gateway listening on 127.0.0.1:${port} (pid ${gateway.pid})`);

    const info = JSON.parse(fs.readFileSync(path.join(stateDir, 'demo-gateway.json'), 'utf8')) as Record<string, unknown>;
    expect(info).toMatchObject({
      pid: gateway.pid,
      port,
      cwd: REPO_ROOT,
      env: { OPENCLAW_STATE_DIR: stateDir, OPENCLAW_PROFILE: 'demo', OPENCLAW_CONFIG_PATH: null, OPENCLAW_GATEWAY_PORT: null },
    });
    expect(readLock(stateDir)).toBe(String(gateway.pid));
  });

  it('exits 78 naming the owner when a second instance uses the same state dir', async () => {
    const stateDir = makeStateDir();
    const first = startGateway(['--port', String(allocatePort()), '--boot-delay', '0'], { OPENCLAW_STATE_DIR: stateDir });
    await waitFor('the first gateway to take the lock', () => readLock(stateDir) === String(first.pid));

    const second = startGateway(['--port', String(allocatePort())], { OPENCLAW_STATE_DIR: stateDir });
    expect(await second.exited).toEqual({ code: 78, signal: null });
    expect(second.stderr()).toContain(`pid ${first.pid}`);
    expectOneLineNoStack(second.stderr());
    expect(readLock(stateDir)).toBe(String(first.pid));
    expect(isAlive(first.pid)).toBe(true);
  });

  it('exits 1 with a one-line message naming a busy base port, and releases its lock', async () => {
    const port = allocatePort();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const stateDir = makeStateDir();

    const gateway = startGateway(['--port', String(port)], { OPENCLAW_STATE_DIR: stateDir });
    expect(await gateway.exited).toEqual({ code: 1, signal: null });
    expect(gateway.stderr()).toContain(String(port));
    expectOneLineNoStack(gateway.stderr());
    expect(readLock(stateDir)).toBeUndefined();
  });

  it('drains on SIGTERM, removes its lock and exits 0 promptly', async () => {
    const port = allocatePort();
    const stateDir = makeStateDir();
    const gateway = startGateway(['--port', String(port), '--boot-delay', '0'], { OPENCLAW_STATE_DIR: stateDir });
    await waitForStatus(port, '/readyz', 200);

    process.kill(gateway.pid, 'SIGTERM');
    // A probe answered before the signal was handled may still say ready; once draining, never ready again.
    const seen: unknown[] = [];
    await waitFor('the gateway to exit', async () => {
      const reply = await getJson(port, '/readyz');
      if (reply) seen.push(reply);
      return gateway.child.exitCode !== null || gateway.child.signalCode !== null;
    });
    const draining = { status: 503, json: { ready: false, failing: ['draining'] } };
    const firstDraining = seen.findIndex((reply) => JSON.stringify(reply) === JSON.stringify(draining));
    if (firstDraining >= 0) for (const reply of seen.slice(firstDraining)) expect(reply).toEqual(draining);
    expect(await gateway.exited).toEqual({ code: 0, signal: null });
    expect(readLock(stateDir)).toBeUndefined();
    expect(gateway.stderr()).toBe('');
  });

  it('crash fault answers, then exits 1 leaving a stale lock behind', async () => {
    const port = allocatePort();
    const stateDir = makeStateDir();
    const gateway = startGateway(['--port', String(port), '--boot-delay', '0'], { OPENCLAW_STATE_DIR: stateDir });
    await waitForStatus(port, '/healthz', 200);

    expect(await postFault(port, 'crash')).toEqual({ status: 200, body: '{"ok":true}' });
    expect(await gateway.exited).toEqual({ code: 1, signal: null });
    expect(readLock(stateDir)).toBe(String(gateway.pid));
  });

  it('exit fault exits with the requested code', async () => {
    const port = allocatePort();
    const gateway = startGateway(['--port', String(port), '--boot-delay', '0']);
    await waitForStatus(port, '/healthz', 200);

    expect((await postFault(port, 'exit')).status).toBe(400);
    expect((await postFault(port, 'exit?code=42')).status).toBe(200);
    expect(await gateway.exited).toEqual({ code: 42, signal: null });
  });

  it('hang fault keeps the pid alive but answers nothing, not even SIGTERM', async () => {
    const port = allocatePort();
    const gateway = startGateway(['--port', String(port), '--boot-delay', '0']);
    await waitForStatus(port, '/healthz', 200);

    expect((await postFault(port, 'hang')).status).toBe(200);
    expect(await request(port, '/healthz', { timeoutMs: 300 })).toBeUndefined();
    process.kill(gateway.pid, 'SIGTERM');
    // The unanswered request takes its full 300 ms, well past the 100 ms a live gateway needs to stop.
    expect(await request(port, '/healthz', { timeoutMs: 300 })).toBeUndefined();
    expect(isAlive(gateway.pid)).toBe(true);
    expect(gateway.child.exitCode).toBeNull();
  });

  it('keeps forked grandchildren in its process group, alive after it exits', async () => {
    const port = allocatePort();
    const gateway = startGateway(['--port', String(port), '--boot-delay', '0', '--fork-grandchild']);
    await waitForStatus(port, '/healthz', 200);
    const atStart = Number(/grandchild spawned \(pid (\d+)\)/.exec(gateway.stdout())?.[1]);

    const reply = await postFault(port, 'spawn-grandchild');
    const onDemand = (JSON.parse(reply.body) as { pid: number }).pid;
    for (const pid of [atStart, onDemand]) {
      expect(pid).toBeGreaterThan(0);
      expect(pid).not.toBe(gateway.pid);
      expect(processGroupOf(pid)).toBe(gateway.pid);
    }

    process.kill(gateway.pid, 'SIGTERM');
    expect(await gateway.exited).toEqual({ code: 0, signal: null });
    // Only a group kill gets rid of them: afterEach does exactly that.
    expect(isAlive(atStart) && isAlive(onDemand)).toBe(true);
  });

  it('restarts in place on SIGUSR2: same pid, not ready for the boot delay, then ready again', async () => {
    const port = allocatePort();
    const gateway = startGateway(['--port', String(port), '--boot-delay', '400ms']);
    await waitForStatus(port, '/readyz', 200);

    process.kill(gateway.pid, 'SIGUSR2');
    const restarting = await waitForStatus(port, '/readyz', 503);
    expect(JSON.parse(restarting.body)).toEqual({ ready: false, failing: ['startup'] });
    expect((await getJson(port, '/startupz'))?.json).toEqual({ ok: false, status: 'starting' });
    expect((await request(port, '/healthz'))?.status).toBe(200);

    await waitForStatus(port, '/readyz', 200);
    expect(gateway.child.exitCode).toBeNull();
    expect(gateway.stdout()).toContain('SIGUSR2');
  });

  it('reclaims a stale lock whose pid is dead', async () => {
    const port = allocatePort();
    const stateDir = makeStateDir();
    fs.mkdirSync(stateDir, { recursive: true });
    fs.writeFileSync(path.join(stateDir, 'gateway.lock'), `${await deadPid()}\n`);

    const gateway = startGateway(['--port', String(port), '--boot-delay', '0'], { OPENCLAW_STATE_DIR: stateDir });
    await waitForStatus(port, '/healthz', 200);
    expect(readLock(stateDir)).toBe(String(gateway.pid));
  });

  it('toggles readiness with the unready and ready faults, and guards the fault endpoint', async () => {
    const port = allocatePort();
    startGateway(['--port', String(port), '--boot-delay', '0']);
    await waitForStatus(port, '/readyz', 200);

    await postFault(port, 'unready');
    expect(await getJson(port, '/readyz')).toEqual({ status: 503, json: { ready: false, failing: ['fault'] } });
    expect((await getJson(port, '/healthz'))?.status).toBe(200);
    await postFault(port, 'ready');
    expect((await getJson(port, '/readyz'))?.status).toBe(200);

    expect((await postFault(port, 'crash', { 'x-forwarded-for': '203.0.113.9' })).status).toBe(403);
    expect((await request(port, '/readyz', { headers: { 'x-forwarded-for': '203.0.113.9' } }))?.status).toBe(403);
    expect((await request(port, '/__fault/crash'))?.status).toBe(405);
    expect((await postFault(port, 'explode')).status).toBe(404);
    expect((await request(port, '/healthz'))?.status).toBe(200);
  });

  it('grow fault adds resident memory', async () => {
    const port = allocatePort();
    const gateway = startGateway(['--port', String(port), '--boot-delay', '0']);
    await waitForStatus(port, '/healthz', 200);
    const rssKb = (): number => Number(execFileSync('ps', ['-o', 'rss=', '-p', String(gateway.pid)], { encoding: 'utf8' }).trim());
    const before = rssKb();

    await postFault(port, 'grow?mb=64');
    await waitFor('RSS to grow by ~64 MB', () => rssKb() - before > 60 * 1024);
  });

  it('--crash-on-boot exits 1 without ever listening', async () => {
    const port = allocatePort();
    const gateway = startGateway(['--port', String(port), '--crash-on-boot']);
    expect(await gateway.exited).toEqual({ code: 1, signal: null });
    expect(gateway.stdout()).not.toContain('listening');
    expectOneLineNoStack(gateway.stderr());
  });

  it('--exit-after exits 1 once the time has passed', async () => {
    const port = allocatePort();
    const gateway = startGateway(['--port', String(port), '--boot-delay', '0', '--exit-after', '300ms']);
    await waitForStatus(port, '/healthz', 200);
    expect(await gateway.exited).toEqual({ code: 1, signal: null });
  });

  it('--ignore-sigterm survives SIGTERM and SIGINT', async () => {
    const port = allocatePort();
    const gateway = startGateway(['--port', String(port), '--boot-delay', '0', '--ignore-sigterm']);
    await waitForStatus(port, '/readyz', 200);

    process.kill(gateway.pid, 'SIGTERM');
    process.kill(gateway.pid, 'SIGINT');
    await waitFor('both signals to be logged', () => gateway.stdout().includes('SIGTERM (ignored') && gateway.stdout().includes('SIGINT (ignored'));
    expect((await request(port, '/readyz'))?.status).toBe(200);
    expect(gateway.child.exitCode).toBeNull();
  });

  it('--never-ready starts but never becomes ready', async () => {
    const port = allocatePort();
    const gateway = startGateway(['--port', String(port), '--boot-delay', '0', '--never-ready']);
    await waitFor('boot to complete', () => gateway.stdout().includes('boot complete'));
    expect((await getJson(port, '/startupz'))?.status).toBe(200);
    expect(await getJson(port, '/readyz')).toEqual({ status: 503, json: { ready: false, failing: ['never-ready'] } });
  });

  it('exits 2 with a one-line message on bad arguments', async () => {
    const gateway = startGateway(['--port', String(allocatePort()), '--bogus']);
    expect(await gateway.exited).toEqual({ code: 2, signal: null });
    expect(gateway.stderr()).toBe('demo-gateway: unknown option: --bogus\n');
  });
});
