import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  isProcessAlive,
  parseProcStat,
  processStartTicks,
  readProcStat,
  spawnGateway,
  type SpawnedChild,
  type SpawnRequest,
} from './spawner.js';

// Fixtures: tiny gateways, run with `node -e`.
const PRINTS_ENV_AND_STAT = `
  const { readFileSync } = require('node:fs');
  console.log(JSON.stringify({ env: process.env, stat: readFileSync('/proc/self/stat', 'utf8'), cwd: process.cwd() }));
`;
const SLEEPS_FOREVER = `console.log('ready'); setInterval(() => {}, 1 << 30);`;
const EXITS_WITH_3 = `process.exit(3);`;

const NODE = process.execPath;
const SYSTEM_PATH = '/usr/local/bin:/usr/bin:/bin';

let dir: string;
let logFd: number;
let started: number[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawfleet-spawner-'));
  logFd = openSync(join(dir, 'gateway.log'), 'a');
  started = [];
});

afterEach(() => {
  for (const pid of started) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  closeSync(logFd);
  rmSync(dir, { recursive: true, force: true });
});

function request(overrides: Partial<SpawnRequest> = {}): SpawnRequest {
  return { command: NODE, args: ['-e', SLEEPS_FOREVER], cwd: join(dir, 'work'), env: {}, logFd, ...overrides };
}

/** Spawns and remembers the pid for cleanup; fails the test when the spawn fails. */
async function spawnOk(req: SpawnRequest): Promise<SpawnedChild> {
  const result = await spawnGateway(req);
  if (!result.ok) throw new Error(`spawn failed: ${result.reason}`);
  started.push(result.child.pid);
  return result.child;
}

function readLog(): string {
  return readFileSync(join(dir, 'gateway.log'), 'utf8');
}

/** Polls until check returns a value other than undefined, or fails after deadlineMs. */
async function waitFor<T>(what: string, check: () => T | undefined, deadlineMs = 5_000): Promise<T> {
  const end = performance.now() + deadlineMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('spawnGateway', () => {
  it('passes exactly the given environment, nothing of ours', async () => {
    const env = { CLAWFLEET_TEST: 'yes', OPENCLAW_STATE_DIR: '/tmp/somewhere' };
    const child = await spawnOk(request({ args: ['-e', PRINTS_ENV_AND_STAT], env }));
    await child.exited;
    const printed = JSON.parse(readLog()) as { env: Record<string, string> };
    expect(printed.env).toEqual(env);
    expect(printed.env.HOME).toBeUndefined();
  });

  it('starts the child as leader of its own session and process group', async () => {
    const child = await spawnOk(request({ args: ['-e', PRINTS_ENV_AND_STAT] }));
    await child.exited;
    const stat = parseProcStat((JSON.parse(readLog()) as { stat: string }).stat);
    const ours = readProcStat(process.pid);
    expect(stat).toBeDefined();
    expect(ours).toBeDefined();
    expect(stat!.pid).toBe(child.pid);
    expect(stat!.pgrp).toBe(child.pid);
    expect(stat!.session).toBe(child.pid);
    expect(child.pgid).toBe(child.pid);
    expect(stat!.pgrp).not.toBe(ours!.pgrp);
    expect(stat!.session).not.toBe(ours!.session);
    expect(child.startTicks).toBe(stat!.startTicks);
  });

  it('creates the working directory, private to the user, and runs the child in it', async () => {
    const cwd = join(dir, 'a', 'b', 'c');
    const child = await spawnOk(request({ args: ['-e', PRINTS_ENV_AND_STAT], cwd }));
    await child.exited;
    expect((JSON.parse(readLog()) as { cwd: string }).cwd).toBe(cwd);
    expect(statSync(cwd).mode & 0o777).toBe(0o700);
  });

  it('finds a bare command on the PATH of the given environment', async () => {
    const child = await spawnOk(request({ command: 'node', args: ['-e', EXITS_WITH_3], env: { PATH: dirname(NODE) } }));
    expect(await child.exited).toEqual({ code: 3, signal: null });
  });

  it('reports a signal death through exited', async () => {
    const child = await spawnOk(request());
    await waitFor('ready', () => (readLog().includes('ready') ? true : undefined));
    expect(isProcessAlive(child.pid)).toBe(true);
    process.kill(child.pid, 'SIGKILL');
    expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(isProcessAlive(child.pid)).toBe(false);
  });

  it('reports a missing program as a value naming it and PATH, without throwing', async () => {
    const result = await spawnGateway(request({ command: 'clawfleet-no-such-program', env: { PATH: SYSTEM_PATH } }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toContain('clawfleet-no-such-program');
    expect(result.reason).toContain('ENOENT');
    expect(result.reason).toContain(SYSTEM_PATH);
  });

  it('reports a missing program given by path, and a missing PATH', async () => {
    const byPath = await spawnGateway(request({ command: join(dir, 'nope', 'openclaw') }));
    expect(byPath).toMatchObject({ ok: false, reason: expect.stringContaining('ENOENT') });
    const noPath = await spawnGateway(request({ command: 'openclaw', env: {} }));
    expect(noPath).toMatchObject({ ok: false, reason: expect.stringContaining('PATH is not set') });
  });

  it('reports a program that is not executable', async () => {
    const script = join(dir, 'openclaw');
    writeFileSync(script, '#!/bin/sh\nexit 0\n');
    chmodSync(script, 0o644);
    const byPath = await spawnGateway(request({ command: script }));
    expect(byPath).toMatchObject({ ok: false, reason: expect.stringContaining('EACCES') });
    const onPath = await spawnGateway(request({ command: 'openclaw', env: { PATH: dir } }));
    expect(onPath).toMatchObject({ ok: false, reason: expect.stringContaining('EACCES') });
    const directory = await spawnGateway(request({ command: dir }));
    expect(directory).toMatchObject({ ok: false, reason: expect.stringContaining('not a regular file') });
  });

  it('reports a working directory that cannot be created', async () => {
    const blocker = join(dir, 'file');
    writeFileSync(blocker, '');
    const result = await spawnGateway(request({ cwd: join(blocker, 'work') }));
    expect(result).toMatchObject({ ok: false, reason: expect.stringContaining('working directory') });
  });
});

describe('process identity from /proc', () => {
  it('reads start ticks of a live process and nothing for an absent one', () => {
    expect(processStartTicks(process.pid)).toEqual(expect.any(Number));
    expect(processStartTicks(2 ** 31 - 1)).toBeUndefined();
  });

  it('parses a command name holding spaces and parentheses', () => {
    const fields = ['S', '10', '20', '30', ...Array<string>(15).fill('0'), '4242', '0'];
    const stat = parseProcStat(`77 (a) (b c) ${fields.join(' ')}\n`);
    expect(stat).toEqual({ pid: 77, state: 'S', ppid: 10, pgrp: 20, session: 30, startTicks: 4242 });
  });

  it('counts a zombie as dead although kill(pid, 0) answers for it', async () => {
    // The shell forks `true`, then becomes `sleep`, which never reaps it.
    const script = 'true & echo "zombie $!"; exec sleep 30';
    const child = await spawnOk(request({ command: 'sh', args: ['-c', script], env: { PATH: SYSTEM_PATH } }));
    const zombie = await waitFor('zombie pid', () => {
      const match = /zombie (\d+)/.exec(readLog());
      return match ? Number(match[1]) : undefined;
    });
    started.push(zombie);
    await waitFor('zombie state', () => (readProcStat(zombie)?.state === 'Z' ? true : undefined));
    expect(() => process.kill(zombie, 0)).not.toThrow();
    expect(isProcessAlive(zombie)).toBe(false);
    expect(isProcessAlive(child.pid)).toBe(true);
  });

  it('treats pids that cannot name a process as dead', () => {
    expect(isProcessAlive(0)).toBe(false);
    expect(isProcessAlive(-1)).toBe(false);
    expect(isProcessAlive(2 ** 31 - 1)).toBe(false);
  });
});
