import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateHookRunner, type HookResult, type StateChange, type StateHookOptions } from './state-hook.js';

const WAIT_TIMEOUT_MS = 10_000;
const HOOK_TIMEOUT_MS = 5_000;

let dir: string;
const runners: StateHookRunner[] = [];
// Groups a hook reported (by writing $$ to a file), killed after each test in case the runner did not.
const pidFiles: string[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawfleet-hook-'));
});

afterEach(async () => {
  await Promise.all(runners.splice(0).map((runner) => runner.drain()));
  for (const file of pidFiles.splice(0)) {
    if (!existsSync(file)) continue;
    try {
      process.kill(-Number(readFileSync(file, 'utf8').trim()), 'SIGKILL');
    } catch {
      // Already gone, as it should be.
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

function change(gateway: string, overrides: Partial<StateChange> = {}): StateChange {
  return { gateway, role: 'main', from: 'ready', to: 'backoff', reason: 'exited', pid: 4242, at: '2025-01-02T03:04:05.000Z', ...overrides };
}

/** A runner whose results and drops are recorded in order. */
function makeRunner(argv: string[], options: Partial<StateHookOptions> = {}) {
  const done: Array<{ change: StateChange; result: HookResult }> = [];
  const dropped: StateChange[] = [];
  const runner = new StateHookRunner(argv, {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOOK_TEST: 'base' },
    cwd: dir,
    timeoutMs: HOOK_TIMEOUT_MS,
    onDone: (c, result) => done.push({ change: c, result }),
    onDropped: (c) => dropped.push(c),
    ...options,
  });
  runners.push(runner);
  return { runner, done, dropped };
}

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = performance.now() + WAIT_TIMEOUT_MS;
  while (!condition()) {
    if (performance.now() >= deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

function isGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('StateHookRunner', () => {
  it('gives the hook the base env and the change, and nothing else of ours', async () => {
    const envFile = join(dir, 'env');
    const { runner, done } = makeRunner(['sh', '-c', 'env > "$1"', 'sh', envFile]);
    runner.notify(change('main', { reason: undefined, pid: undefined }));
    await runner.drain();
    const env = Object.fromEntries(
      readFileSync(envFile, 'utf8')
        .trim()
        .split('\n')
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect(env).toMatchObject({
      HOOK_TEST: 'base',
      CLAWFLEET_GATEWAY: 'main',
      CLAWFLEET_ROLE: 'main',
      CLAWFLEET_FROM: 'ready',
      CLAWFLEET_TO: 'backoff',
      CLAWFLEET_REASON: '',
      CLAWFLEET_PID: '',
      CLAWFLEET_AT: '2025-01-02T03:04:05.000Z',
    });
    // The supervisor's own environment (HOME, tokens...) does not leak into the hook.
    expect(env.HOME).toBeUndefined();
    expect(done[0]?.result).toMatchObject({ ok: true, code: 0, signal: null, timedOut: false });
  });

  it('passes a known reason and pid', async () => {
    const out = join(dir, 'out');
    const { runner } = makeRunner(['sh', '-c', 'echo "$CLAWFLEET_REASON/$CLAWFLEET_PID" > "$1"', 'sh', out]);
    runner.notify(change('main', { reason: 'liveness failed', pid: 99 }));
    await runner.drain();
    expect(readFileSync(out, 'utf8')).toBe('liveness failed/99\n');
  });

  it('kills the whole group of a hook that outlives its timeout', async () => {
    const pidFile = join(dir, 'pid');
    pidFiles.push(pidFile);
    const { runner, done } = makeRunner(['sh', '-c', 'echo $$ > "$1"; sleep 10; echo late', 'sh', pidFile], { timeoutMs: 300 });
    runner.notify(change('main'));
    await runner.drain();
    const result = done[0]?.result;
    expect(result).toMatchObject({ ok: false, timedOut: true, code: null, signal: 'SIGKILL' });
    expect(result?.durationMs).toBeLessThan(3_000);
    // The leader and its sleep child both went with the group; the child, reparented to init, may take a moment to be reaped.
    const pgid = Number(readFileSync(pidFile, 'utf8').trim());
    await waitFor(() => !isGroupAlive(pgid));
  });

  it('reports a failing hook with its code and the end of its stderr', async () => {
    const { runner, done } = makeRunner(['sh', '-c', 'head -c 10000 /dev/zero | tr "\\0" x >&2; echo " the end" >&2; exit 3']);
    runner.notify(change('main'));
    await runner.drain();
    const result = done[0]?.result;
    expect(result).toMatchObject({ ok: false, code: 3, signal: null, timedOut: false });
    expect(result?.stderrTail.length).toBe(2048);
    expect(result?.stderrTail.endsWith('x the end\n')).toBe(true);
  });

  it('reports a command that cannot be started', async () => {
    const { runner, done } = makeRunner([join(dir, 'no-such-hook')]);
    runner.notify(change('main'));
    await runner.drain();
    expect(done[0]?.result).toMatchObject({ ok: false, code: null, timedOut: false });
    expect(done[0]?.result.stderrTail).toContain('ENOENT');
  });

  it('returns from notify before the hook has run', async () => {
    const marker = join(dir, 'marker');
    // No sleep in the hook: the marker is absent only because notify did not wait for the hook to start.
    const { runner } = makeRunner(['touch', marker]);
    const startedAt = performance.now();
    runner.notify(change('main'));
    const notifyMs = performance.now() - startedAt;
    expect(existsSync(marker)).toBe(false);
    expect(notifyMs).toBeLessThan(100);
    await waitFor(() => existsSync(marker));
  });

  it('runs at most maxConcurrent hooks at once', async () => {
    const log = join(dir, 'log');
    const { runner, done } = makeRunner(['sh', '-c', 'echo start >> "$1"; sleep 0.2; echo end >> "$1"', 'sh', log], {
      maxConcurrent: 2,
    });
    for (const name of ['a', 'b', 'c', 'd', 'e']) runner.notify(change(name));
    await runner.drain();
    let running = 0;
    let peak = 0;
    for (const line of readFileSync(log, 'utf8').trim().split('\n')) {
      running += line === 'start' ? 1 : -1;
      peak = Math.max(peak, running);
    }
    expect(peak).toBe(2);
    expect(done.map((d) => d.change.gateway)).toHaveLength(5);
  });

  it('drops the oldest queued changes beyond maxQueue', async () => {
    const { runner, done, dropped } = makeRunner(['sh', '-c', 'sleep 0.1'], { maxConcurrent: 1, maxQueue: 2 });
    for (const name of ['g1', 'g2', 'g3', 'g4', 'g5']) runner.notify(change(name));
    expect(dropped.map((c) => c.gateway)).toEqual(['g2', 'g3']);
    await runner.drain();
    expect(done.map((d) => d.change.gateway)).toEqual(['g1', 'g4', 'g5']);
  });

  it('keeps running when a callback throws', async () => {
    const { runner } = makeRunner(['true'], {
      maxConcurrent: 1,
      onDone: () => {
        throw new Error('operator bug');
      },
    });
    runner.notify(change('a'));
    runner.notify(change('b'));
    await runner.drain();
  });

  it('drains at once when idle', async () => {
    const { runner } = makeRunner(['true']);
    await runner.drain();
  });
});
