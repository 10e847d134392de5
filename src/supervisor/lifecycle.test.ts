import { describe, expect, it } from 'vitest';
import type { RawManifest } from '../manifest/schema.js';
import { planFleet } from '../plan/plan-fleet.js';
import type { GatewayPlan } from '../plan/types.js';
import { CRASHLOOP_STREAK } from './backoff.js';
import { type Effect, initialLifecycle, type Lifecycle, type LifecycleEvent, step } from './lifecycle.js';

function planOf(settings: Record<string, unknown> = {}): GatewayPlan {
  const manifest = { version: 1, gateways: { main: { port: 18789, ...settings } } } as RawManifest;
  return planFleet(manifest, { manifestPath: '/f/fleet.yaml', home: '/h', stateHome: '/h/s' }).plan.gateways[0]!;
}

/** Feeds events through the lifecycle on a fake clock; `at` moves the clock before an event. */
function run(plan: GatewayPlan, script: Array<LifecycleEvent | { at: number }>, from: Lifecycle = initialLifecycle(true)) {
  let state = from;
  let now = 0;
  const effects: Effect[][] = [];
  const states: Lifecycle[] = [];
  for (const item of script) {
    if ('at' in item) {
      now = item.at;
      continue;
    }
    const next = step(state, item, { plan, now, random: 0.5 });
    state = next.state;
    states.push(state);
    effects.push([...next.effects]);
  }
  return { state, states, effects, last: effects[effects.length - 1] ?? [] };
}

const pid = (n: number): LifecycleEvent => ({ type: 'spawned', pid: n });
const probe = (kind: 'startup' | 'liveness' | 'readiness', ok: boolean): LifecycleEvent => ({ type: 'probe', probe: kind, ok, reason: ok ? undefined : 'HTTP 503' });
const crash: LifecycleEvent = { type: 'exited', code: 1, signal: null };
const gone: LifecycleEvent = { type: 'tree-gone' };
const boot = [{ type: 'start' } as LifecycleEvent, pid(100), probe('startup', true), probe('readiness', true)];
const plan = planOf();

describe('lifecycle: starting up', () => {
  it('spawns, probes startup under a deadline, then liveness and readiness', () => {
    const r = run(plan, boot);
    expect(r.effects[0]).toContainEqual({ type: 'spawn' });
    expect(r.states[1]).toMatchObject({ phase: 'starting', pid: 100, startedAt: 0 });
    expect(r.effects[1]).toEqual([
      { type: 'set-timer', timer: 'start-deadline', ms: 120_000 },
      { type: 'probes', run: ['startup'] },
    ]);
    expect(r.states[2]).toMatchObject({ phase: 'running', started: true, live: true, ready: false });
    expect(r.effects[2]).toContainEqual({ type: 'probes', run: ['liveness', 'readiness'] });
    expect(r.effects[2]).toContainEqual({ type: 'set-timer', timer: 'stable', ms: 60_000 });
    expect(r.state).toMatchObject({ phase: 'ready', ready: true, restarts: 0 });
  });

  it('does not count probe failures before startup, but bounds them with startPeriod', () => {
    const r = run(plan, [{ type: 'start' }, pid(100), probe('startup', false), probe('startup', false), { at: 120_000 }, { type: 'timer', timer: 'start-deadline' }]);
    expect(r.states[2]).toMatchObject({ phase: 'starting' });
    expect(r.state).toMatchObject({ phase: 'stopping', reason: 'did not finish starting within 120s (startPeriod)' });
    expect(r.last).toContainEqual({ type: 'stop-tree', pid: 100 });
  });

  it('ends startup at the first live probe when there is no startup probe', () => {
    const r = run(planOf({ health: { startup: false } }), [{ type: 'start' }, pid(7), probe('liveness', false), probe('liveness', true)]);
    expect(r.effects[1]).toContainEqual({ type: 'probes', run: ['liveness'] });
    expect(r.states[2]!.phase).toBe('starting');
    expect(r.state.phase).toBe('running');
  });

  it('is ready at once when nothing is probed', () => {
    const r = run(planOf({ health: { startup: false, liveness: false, readiness: false } }), [{ type: 'start' }, pid(7)]);
    expect(r.state).toMatchObject({ phase: 'ready', live: true, ready: true });
  });
});

describe('lifecycle: failures and restarts', () => {
  it('restarts a healthy gateway that crashed at once, after sweeping its tree', () => {
    const r = run(plan, [...boot, crash, gone]);
    expect(r.states[4]).toMatchObject({ phase: 'stopping', lastExit: { code: 1, signal: null, at: 0 }, reason: 'exited with code 1' });
    expect(r.effects[4]).toContainEqual({ type: 'stop-tree', pid: 100 });
    expect(r.state).toMatchObject({ phase: 'starting', restarts: 1, streak: 1, pid: undefined });
    expect(r.last).toContainEqual({ type: 'spawn' });
  });

  it('backs off exponentially while failures repeat', () => {
    let state = run(plan, [{ type: 'start' }]).state;
    const waits: number[] = [];
    for (let i = 0; i < CRASHLOOP_STREAK + 1; i += 1) {
      const r = run(plan, [pid(200 + i), crash, gone], state);
      state = r.state;
      const timer = r.last.find((e) => e.type === 'set-timer');
      if (timer?.type === 'set-timer') {
        waits.push(timer.ms);
        state = run(plan, [{ type: 'timer', timer: 'retry' }], state).state;
      } else {
        expect(r.last).toContainEqual({ type: 'spawn' });
        waits.push(0);
      }
      expect(state.phase).toBe('starting');
    }
    expect(waits).toEqual([0, 100, 200, 400, 800, 1600]);
    expect(state.restarts).toBe(CRASHLOOP_STREAK + 1);
  });

  it('names a crash loop once failures keep repeating', () => {
    let state = initialLifecycle(true);
    state = run(plan, [{ type: 'start' }], state).state;
    for (let i = 0; i < CRASHLOOP_STREAK; i += 1) {
      state = run(plan, [pid(300 + i), crash, gone], state).state;
      if (i < CRASHLOOP_STREAK - 1) state = run(plan, [{ type: 'timer', timer: 'retry' }], state).state;
    }
    expect(state).toMatchObject({ phase: 'crashloop', streak: CRASHLOOP_STREAK });
    expect(state.retryAt).toBeGreaterThan(0);
  });

  it('forgets past failures after resetAfter of stable running', () => {
    let state = run(plan, [...boot, crash, gone, pid(101), probe('startup', true)]).state;
    expect(state.streak).toBe(1);
    state = run(plan, [{ type: 'timer', timer: 'stable' }, crash, gone], state).state;
    expect(state).toMatchObject({ phase: 'starting', streak: 1, restarts: 2 });
  });

  it('restarts after failureThreshold liveness failures, and forgives fewer', () => {
    const few = run(plan, [...boot, probe('liveness', false), probe('liveness', false)]);
    expect(few.state).toMatchObject({ phase: 'unhealthy', livenessFailures: 2, live: false });
    expect(run(plan, [probe('liveness', true)], few.state).state).toMatchObject({ phase: 'ready', livenessFailures: 0 });
    const many = run(plan, [probe('liveness', false)], few.state);
    expect(many.state).toMatchObject({ phase: 'stopping', reason: 'liveness failed 3/3: HTTP 503' });
    expect(many.last).toContainEqual({ type: 'stop-tree', pid: 100 });
    const after = run(plan, [{ type: 'exited', code: null, signal: 'SIGKILL' }, gone], many.state).state;
    expect(after).toMatchObject({ phase: 'starting', restarts: 1, lastExit: { signal: 'SIGKILL' } });
  });

  it('leaves ready for running while readiness fails, without restarting', () => {
    const r = run(plan, [...boot, probe('readiness', false)]);
    expect(r.state).toMatchObject({ phase: 'running', ready: false, restarts: 0 });
    expect(r.last).toEqual([]);
  });

  it('flips readiness only after its failure or success threshold in a row', () => {
    const strict = planOf({ health: { readiness: { http: '/readyz', failureThreshold: 2, successThreshold: 3 } } });
    const up = run(strict, [{ type: 'start' }, pid(100), probe('startup', true), probe('readiness', true), probe('readiness', true)]);
    expect(up.state).toMatchObject({ phase: 'running', ready: false });
    const ready = run(strict, [probe('readiness', true)], up.state);
    expect(ready.state).toMatchObject({ phase: 'ready', ready: true });
    // One failure is forgiven, a success in between resets the count, two in a row are not.
    const blip = run(strict, [probe('readiness', false), probe('readiness', true), probe('readiness', false)], ready.state);
    expect(blip.state).toMatchObject({ phase: 'ready', ready: true, readinessFailures: 1 });
    const down = run(strict, [probe('readiness', false)], blip.state);
    expect(down.state).toMatchObject({ phase: 'running', ready: false, reason: 'not ready: HTTP 503', restarts: 0 });
    expect(down.last).toEqual([]);
  });

  it('fails a start after startup.failureThreshold failed startup probes in a row, before startPeriod', () => {
    const counted = planOf({ health: { startPeriod: '10m', startup: { http: '/startupz', interval: '1s', failureThreshold: 3 } } });
    const r = run(counted, [{ type: 'start' }, pid(100), probe('startup', false), probe('startup', false)]);
    expect(r.state).toMatchObject({ phase: 'starting', startupFailures: 2 });
    const failed = run(counted, [probe('startup', false)], r.state);
    expect(failed.state).toMatchObject({ phase: 'stopping', reason: 'startup probe failed 3 times in a row: HTTP 503' });
    expect(failed.last).toContainEqual({ type: 'stop-tree', pid: 100 });
  });

  it('reports exit 78 as a conflict and retries it slowly', () => {
    const r = run(plan, [...boot, { type: 'exited', code: 78, signal: null }, gone]);
    expect(r.state.phase).toBe('conflict');
    expect(r.state.reason).toMatch(/exited 78: another instance owns its state or port/);
    expect(r.last[0]).toMatchObject({ type: 'set-timer', timer: 'retry' });
    expect((r.last[0] as { ms: number }).ms).toBeGreaterThanOrEqual(15_000);
  });

  it('treats a failed spawn (busy port, missing program) as a failure with its reason', () => {
    const r = run(plan, [{ type: 'start' }, { type: 'spawn-failed', reason: 'port 18789 is busy: held by pid 42 (nginx)' }]);
    expect(r.state).toMatchObject({ phase: 'starting', streak: 1, restarts: 1 });
    const again = run(plan, [{ type: 'spawn-failed', reason: 'port 18789 is busy' }], r.state);
    expect(again.state).toMatchObject({ phase: 'backoff', reason: 'port 18789 is busy', streak: 2 });
  });

  it.each([
    { policy: 'never', code: 1, phase: 'stopped' },
    { policy: 'on-failure', code: 0, phase: 'stopped' },
    { policy: 'on-failure', code: 1, phase: 'starting' },
    { policy: 'always', code: 0, phase: 'starting' },
  ])('restart policy $policy after exit $code: $phase', ({ policy, code, phase }) => {
    const r = run(planOf({ restart: { policy } }), [...boot, { type: 'exited', code, signal: null }, gone]);
    expect(r.state.phase).toBe(phase);
  });
});

describe('lifecycle: operator and supervisor requests', () => {
  it('stops without restarting, and ignores probe results that arrive late', () => {
    const r = run(plan, [...boot, { type: 'stop', reason: 'shutdown' }, probe('liveness', false), { type: 'exited', code: 0, signal: null }, gone]);
    expect(r.states[4]).toMatchObject({ phase: 'stopping', want: 'down' });
    expect(r.effects[4]).toContainEqual({ type: 'stop-tree', pid: 100 });
    expect(r.effects[5]).toEqual([]);
    expect(r.state).toMatchObject({ phase: 'stopped', pid: undefined, restarts: 0 });
  });

  it('cancels a pending retry when stopped in backoff', () => {
    const failing = run(plan, [{ type: 'start' }, { type: 'spawn-failed', reason: 'x' }, { type: 'spawn-failed', reason: 'x' }]).state;
    expect(failing.phase).toBe('backoff');
    const stopped = run(plan, [{ type: 'stop', reason: 'operator' }, { type: 'timer', timer: 'retry' }], failing);
    expect(stopped.state.phase).toBe('stopped');
    expect(stopped.effects[0]).toContainEqual({ type: 'clear-timer', timer: 'retry' });
    expect(stopped.last).toEqual([]);
  });

  it('restarts gracefully without counting a failure', () => {
    const r = run(plan, [...boot, { type: 'restart', reason: 'memory limit' }, { type: 'exited', code: 0, signal: null }, gone]);
    expect(r.states[4]).toMatchObject({ phase: 'stopping', reason: 'memory limit' });
    expect(r.state).toMatchObject({ phase: 'starting', restarts: 1, streak: 0 });
  });

  it('stops a process whose spawn finished after the stop was asked for', () => {
    const r = run(plan, [{ type: 'start' }, { type: 'stop', reason: 'shutdown' }, pid(55), gone]);
    expect(r.states[1]).toMatchObject({ phase: 'stopping', pid: undefined });
    expect(r.effects[2]).toEqual([{ type: 'stop-tree', pid: 55 }]);
    expect(r.state.phase).toBe('stopped');
    const failed = run(plan, [{ type: 'start' }, { type: 'stop', reason: 'shutdown' }, { type: 'spawn-failed', reason: 'ENOENT' }]);
    expect(failed.state.phase).toBe('stopped');
  });

  it('takes over a process of the previous supervisor without a startup phase', () => {
    const r = run(plan, [{ type: 'adopted', pid: 77, startedAt: -5000, restarts: 4 }, probe('readiness', true)]);
    expect(r.states[0]).toMatchObject({ phase: 'running', pid: 77, startedAt: -5000, started: true, want: 'up', restarts: 4 });
    expect(r.effects[0]).toContainEqual({ type: 'probes', run: ['liveness', 'readiness'] });
    expect(r.state.phase).toBe('ready');
    const died = run(plan, [{ type: 'exited', code: null, signal: null }, gone], r.state);
    expect(died.states[0]!.reason).toMatch(/exit code is unknown/);
    expect(died.state).toMatchObject({ phase: 'starting', restarts: 5 });
  });

  it('does nothing for a disabled gateway', () => {
    const r = run(plan, [{ type: 'start' }], initialLifecycle(false));
    expect(r.state.phase).toBe('disabled');
    expect(r.last).toEqual([]);
  });
});
