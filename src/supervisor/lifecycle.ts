/**
 * One gateway's lifecycle as a pure function: (state, event, now) -> (state, effects). No I/O, no
 * timers, no clock: the runner performs the effects and feeds what happens back as events, so every
 * restart and backoff decision is tested as a table.
 *
 *            start                spawned             startup ok / first live
 *  stopped ───────▶ starting ────────────▶ starting ─────────────────────────▶ running ◀──▶ ready
 *     ▲                ▲                        │                              │ liveness fails │
 *     │ want down      │ retry timer            │ exits / deadline             ▼                ▼
 *     │                │                        ▼                          unhealthy ─(threshold)─┐
 *  stopping ◀──────────┼──────────── stopping (sweep the tree, free the port) ◀──────────────────┘
 *     │                │                        │ tree gone
 *     └──▶ stopped     └──── backoff / crashloop / conflict ◀─┘ (or straight to starting: delay 0)
 */
import type { GatewayPlan } from '../plan/types.js';
import { conflictRetryDelay, CRASHLOOP_STREAK, nextRestartDelay } from './backoff.js';

/** The states of SPEC §4. */
export type Phase =
  | 'starting'
  | 'running'
  | 'ready'
  | 'unhealthy'
  | 'backoff'
  | 'crashloop'
  | 'conflict'
  | 'stopping'
  | 'stopped'
  | 'disabled';

export type ProbeKind = 'startup' | 'liveness' | 'readiness';
export type TimerName = 'retry' | 'start-deadline' | 'stable';

/** OpenClaw's exit code for "another instance owns this state/port" and "bad config". */
export const EXIT_CONFLICT = 78;

/** How a gateway's last process ended. */
export interface ExitRecord {
  readonly code: number | null;
  readonly signal: string | null;
  readonly at: number;
}

/** A failure waiting for the old tree to be gone before it is acted on. */
interface PendingFailure {
  readonly reason: string;
  readonly conflict: boolean;
  readonly clean: boolean;
}

/** Everything the lifecycle remembers about one gateway. */
export interface Lifecycle {
  readonly phase: Phase;
  readonly want: 'up' | 'down';
  readonly pid: number | undefined;
  readonly startedAt: number | undefined;
  readonly started: boolean;
  readonly live: boolean;
  readonly ready: boolean;
  readonly livenessFailures: number;
  /** Failed startup probes in a row, before startup completed. */
  readonly startupFailures: number;
  /** Readiness probes in a row that failed, or that passed: readiness flips after its failure or success threshold. */
  readonly readinessFailures: number;
  readonly readinessSuccesses: number;
  readonly restarts: number;
  readonly streak: number;
  readonly retryAt: number | undefined;
  readonly lastExit: ExitRecord | undefined;
  readonly reason: string | undefined;
  /** Set while stopping: what to do once the tree is gone. */
  readonly after: { readonly kind: 'fail'; readonly failure: PendingFailure } | { readonly kind: 'restart' } | undefined;
}

export type LifecycleEvent =
  | { readonly type: 'start' }
  | { readonly type: 'stop'; readonly reason: string }
  | { readonly type: 'restart'; readonly reason: string }
  | { readonly type: 'spawned'; readonly pid: number }
  /** A process started by an earlier supervisor, recognised and taken over as if started now. */
  | { readonly type: 'adopted'; readonly pid: number; readonly startedAt: number; readonly restarts: number }
  | { readonly type: 'spawn-failed'; readonly reason: string }
  /** `detail` says more about the exit, e.g. who owns the state dir of a gateway that exited 78. */
  | { readonly type: 'exited'; readonly code: number | null; readonly signal: string | null; readonly detail?: string }
  | { readonly type: 'probe'; readonly probe: ProbeKind; readonly ok: boolean; readonly reason?: string }
  | { readonly type: 'timer'; readonly timer: TimerName }
  | { readonly type: 'tree-gone' };

export type Effect =
  | { readonly type: 'spawn' }
  | { readonly type: 'stop-tree'; readonly pid: number }
  | { readonly type: 'set-timer'; readonly timer: TimerName; readonly ms: number }
  | { readonly type: 'clear-timer'; readonly timer: TimerName }
  | { readonly type: 'probes'; readonly run: readonly ProbeKind[] };

/** The result of one step. */
export interface Step {
  readonly state: Lifecycle;
  readonly effects: readonly Effect[];
}

/** What a step may read besides the state: the plan, the time, a random number for jitter. */
export interface StepContext {
  readonly plan: GatewayPlan;
  readonly now: number;
  readonly random: number;
}

/** The state of a gateway before anything happened to it. */
export function initialLifecycle(enabled: boolean): Lifecycle {
  return {
    phase: enabled ? 'stopped' : 'disabled',
    want: 'down',
    pid: undefined,
    startedAt: undefined,
    started: false,
    live: false,
    ready: false,
    livenessFailures: 0,
    startupFailures: 0,
    readinessFailures: 0,
    readinessSuccesses: 0,
    restarts: 0,
    streak: 0,
    retryAt: undefined,
    lastExit: undefined,
    reason: undefined,
    after: undefined,
  };
}

const RUNNING_PHASES: ReadonlySet<Phase> = new Set(['starting', 'running', 'ready', 'unhealthy']);
const WAITING_PHASES: ReadonlySet<Phase> = new Set(['backoff', 'crashloop', 'conflict']);

/** Whether the gateway has (or is about to have) a process. */
export function hasProcess(state: Lifecycle): boolean {
  return RUNNING_PHASES.has(state.phase) || state.phase === 'stopping';
}

const CLEAR_ALL: readonly Effect[] = [
  { type: 'clear-timer', timer: 'retry' },
  { type: 'clear-timer', timer: 'start-deadline' },
  { type: 'clear-timer', timer: 'stable' },
  { type: 'probes', run: [] },
];

function spawn(state: Lifecycle, countsAsRestart: boolean): Step {
  return {
    state: {
      ...state,
      phase: 'starting',
      want: 'up',
      pid: undefined,
      started: false,
      live: false,
      ready: false,
      livenessFailures: 0,
      startupFailures: 0,
      readinessFailures: 0,
      readinessSuccesses: 0,
      retryAt: undefined,
      after: undefined,
      restarts: state.restarts + (countsAsRestart ? 1 : 0),
      reason: undefined,
    },
    effects: [{ type: 'clear-timer', timer: 'retry' }, { type: 'spawn' }],
  };
}

function stopTree(state: Lifecycle, after: Lifecycle['after'], reason: string | undefined): Step {
  if (state.pid === undefined) {
    // Nothing was spawned yet: there is no tree to sweep.
    return { state: { ...state, phase: 'stopping', after, reason }, effects: [...CLEAR_ALL] };
  }
  return {
    state: { ...state, phase: 'stopping', after, reason, live: false, ready: false },
    effects: [...CLEAR_ALL, { type: 'stop-tree', pid: state.pid }],
  };
}

/** After a failure with the old tree gone: stay down, or wait, or start again at once. */
function afterFailure(state: Lifecycle, failure: PendingFailure, ctx: StepContext): Step {
  const base: Lifecycle = { ...state, pid: undefined, after: undefined, live: false, ready: false, reason: failure.reason };
  if (state.want === 'down') return { state: { ...base, phase: 'stopped' }, effects: [] };
  const policy = ctx.plan.restart.policy;
  if (policy === 'never' || (policy === 'on-failure' && failure.clean)) {
    return { state: { ...base, phase: 'stopped', want: 'down' }, effects: [] };
  }
  const streak = state.streak + 1;
  const delay = failure.conflict ? conflictRetryDelay(streak, ctx.random) : nextRestartDelay(streak, ctx.plan.restart, ctx.random);
  if (delay === 0) return spawn({ ...base, streak }, true);
  const phase: Phase = failure.conflict ? 'conflict' : streak >= CRASHLOOP_STREAK ? 'crashloop' : 'backoff';
  return {
    state: { ...base, phase, streak, retryAt: ctx.now + delay },
    effects: [{ type: 'set-timer', timer: 'retry', ms: delay }],
  };
}

function exitReason(code: number | null, signal: string | null): string {
  if (signal) return `killed by ${signal}`;
  if (code === null) return 'exited (its exit code is unknown: it was adopted from the previous supervisor)';
  if (code === EXIT_CONFLICT) return `exited ${EXIT_CONFLICT}: another instance owns its state or port, or its config is invalid`;
  return `exited with code ${code}`;
}

/** The gateway finished starting: count liveness from now on, and wait for readiness if probed. */
function markStarted(state: Lifecycle, ctx: StepContext): Step {
  const health = ctx.plan.health;
  const run: ProbeKind[] = [];
  if (health.liveness) run.push('liveness');
  if (health.readiness) run.push('readiness');
  const ready = health.readiness === undefined;
  return {
    state: { ...state, phase: ready ? 'ready' : 'running', started: true, live: true, ready, livenessFailures: 0, readinessFailures: 0, readinessSuccesses: 0, reason: undefined },
    effects: [
      { type: 'clear-timer', timer: 'start-deadline' },
      { type: 'set-timer', timer: 'stable', ms: ctx.plan.restart.resetAfterMs },
      { type: 'probes', run },
    ],
  };
}

function onSpawned(state: Lifecycle, pid: number, ctx: StepContext): Step {
  const next: Lifecycle = { ...state, pid, startedAt: ctx.now };
  const { health } = ctx.plan;
  if (!health.startup && !health.liveness) return markStarted(next, ctx);
  return {
    state: next,
    effects: [
      { type: 'set-timer', timer: 'start-deadline', ms: health.startPeriodMs },
      { type: 'probes', run: [health.startup ? 'startup' : 'liveness'] },
    ],
  };
}

function onProbe(state: Lifecycle, event: Extract<LifecycleEvent, { type: 'probe' }>, ctx: StepContext): Step {
  const { health } = ctx.plan;
  if (!RUNNING_PHASES.has(state.phase) || state.pid === undefined) return { state, effects: [] };
  if (!state.started) {
    const startsIt = event.probe === 'startup' || (event.probe === 'liveness' && !health.startup);
    if (startsIt && event.ok) return markStarted(state, ctx);
    // A startup probe's failures count towards its own threshold; other failures before startup do
    // not count at all: the start deadline (startPeriod) bounds them.
    if (event.probe !== 'startup' || !health.startup) return { state, effects: [] };
    const failures = state.startupFailures + 1;
    if (failures < health.startup.failureThreshold) return { state: { ...state, startupFailures: failures }, effects: [] };
    const reason = `startup probe failed ${failures} times in a row${event.reason ? `: ${event.reason}` : ''}`;
    return stopTree({ ...state, startupFailures: failures }, { kind: 'fail', failure: { reason, conflict: false, clean: false } }, reason);
  }
  if (event.probe === 'liveness') {
    if (event.ok) {
      return { state: { ...state, live: true, livenessFailures: 0, phase: state.ready ? 'ready' : 'running', reason: undefined }, effects: [] };
    }
    const failures = state.livenessFailures + 1;
    const threshold = health.liveness?.failureThreshold ?? 1;
    const reason = `liveness failed ${failures}/${threshold}${event.reason ? `: ${event.reason}` : ''}`;
    if (failures >= threshold) {
      return stopTree({ ...state, livenessFailures: failures }, { kind: 'fail', failure: { reason, conflict: false, clean: false } }, reason);
    }
    return { state: { ...state, live: false, livenessFailures: failures, phase: 'unhealthy', reason }, effects: [] };
  }
  if (event.probe === 'readiness') {
    const probe = health.readiness;
    const failures = event.ok ? 0 : state.readinessFailures + 1;
    const successes = event.ok ? state.readinessSuccesses + 1 : 0;
    const ready = state.ready ? failures < (probe?.failureThreshold ?? 1) : successes >= (probe?.successThreshold ?? 1);
    const phase = state.phase === 'unhealthy' ? 'unhealthy' : ready ? 'ready' : 'running';
    const reason = ready ? (state.ready ? state.reason : undefined) : event.ok ? state.reason : `not ready${event.reason ? `: ${event.reason}` : ''}`;
    return { state: { ...state, ready, phase, readinessFailures: failures, readinessSuccesses: successes, reason }, effects: [] };
  }
  return { state, effects: [] };
}

/** Advances one gateway's lifecycle by one event. */
export function step(state: Lifecycle, event: LifecycleEvent, ctx: StepContext): Step {
  if (state.phase === 'disabled') return { state, effects: [] };
  switch (event.type) {
    case 'start':
      if (RUNNING_PHASES.has(state.phase)) return { state: { ...state, want: 'up' }, effects: [] };
      if (state.phase === 'stopping') return { state: { ...state, want: 'up', after: state.after ?? { kind: 'restart' } }, effects: [] };
      return spawn({ ...state, streak: WAITING_PHASES.has(state.phase) ? state.streak : 0 }, WAITING_PHASES.has(state.phase));

    case 'stop':
      if (WAITING_PHASES.has(state.phase) || state.phase === 'stopped') {
        return { state: { ...state, phase: 'stopped', want: 'down', retryAt: undefined, reason: event.reason }, effects: [...CLEAR_ALL] };
      }
      if (state.phase === 'stopping') return { state: { ...state, want: 'down', after: undefined }, effects: [] };
      return stopTree({ ...state, want: 'down' }, undefined, event.reason);

    case 'restart':
      if (RUNNING_PHASES.has(state.phase)) return stopTree(state, { kind: 'restart' }, event.reason);
      if (state.phase === 'stopping') return { state: { ...state, want: 'up', after: { kind: 'restart' } }, effects: [] };
      return spawn(state, state.phase !== 'stopped');

    case 'spawned':
      // Stopped while the spawn was under way: stop what was just started.
      if (state.phase === 'stopping' && state.pid === undefined) {
        return { state: { ...state, pid: event.pid, startedAt: ctx.now }, effects: [{ type: 'stop-tree', pid: event.pid }] };
      }
      if (state.phase !== 'starting' || state.pid !== undefined) return { state, effects: [] };
      return onSpawned(state, event.pid, ctx);

    case 'adopted': {
      if (state.phase !== 'stopped' || state.pid !== undefined) return { state, effects: [] };
      // It was running before the supervisor restarted: no startup phase, readiness is re-established.
      const started = markStarted({ ...state, want: 'up', pid: event.pid, startedAt: event.startedAt, restarts: event.restarts }, ctx);
      return { state: { ...started.state, reason: 'adopted from the previous supervisor' }, effects: started.effects };
    }

    case 'spawn-failed':
      if (state.phase === 'stopping' && state.pid === undefined) return step(state, { type: 'tree-gone' }, ctx);
      if (state.phase !== 'starting') return { state, effects: [] };
      return afterFailure({ ...state, startedAt: undefined }, { reason: event.reason, conflict: false, clean: false }, ctx);

    case 'exited': {
      const lastExit: ExitRecord = { code: event.code, signal: event.signal, at: ctx.now };
      if (state.phase === 'stopping') return { state: { ...state, lastExit }, effects: [] };
      if (!RUNNING_PHASES.has(state.phase)) return { state, effects: [] };
      const failure: PendingFailure = {
        reason: `${exitReason(event.code, event.signal)}${event.detail ? `; ${event.detail}` : ''}`,
        conflict: event.code === EXIT_CONFLICT,
        clean: event.code === 0 && event.signal === null,
      };
      // The leader is gone, but workers or grandchildren may still hold its ports: sweep first.
      return stopTree({ ...state, lastExit }, { kind: 'fail', failure }, failure.reason);
    }

    case 'probe':
      return onProbe(state, event, ctx);

    case 'tree-gone': {
      if (state.phase !== 'stopping') return { state, effects: [] };
      const gone: Lifecycle = { ...state, pid: undefined, live: false, ready: false };
      if (state.want === 'down') return { state: { ...gone, phase: 'stopped', after: undefined }, effects: [] };
      if (state.after?.kind === 'fail') return afterFailure(gone, state.after.failure, ctx);
      return spawn(gone, true);
    }

    case 'timer':
      switch (event.timer) {
        case 'retry':
          return WAITING_PHASES.has(state.phase) && state.want === 'up' ? spawn(state, true) : { state, effects: [] };
        case 'start-deadline': {
          if (state.phase !== 'starting' || state.started) return { state, effects: [] };
          const reason = `did not finish starting within ${Math.round(ctx.plan.health.startPeriodMs / 1000)}s (startPeriod)`;
          return stopTree(state, { kind: 'fail', failure: { reason, conflict: false, clean: false } }, reason);
        }
        case 'stable':
          return RUNNING_PHASES.has(state.phase) ? { state: { ...state, streak: 0 }, effects: [] } : { state, effects: [] };
        default:
          return unreachable(event.timer);
      }
    default:
      return unreachable(event);
  }
}

function unreachable(value: never): never {
  throw new Error(`unhandled lifecycle input: ${JSON.stringify(value)}`);
}
