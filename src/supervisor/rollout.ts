/**
 * Applies manifest edits to the running fleet one gateway at a time. After every step the changes are
 * planned again against the newest accepted manifest, so an edit that arrives mid-rollout is never
 * dropped (the latest wins) and no step is taken on stale information.
 */
import type { EventSink } from '../logging/events.js';
import type { GatewayPlan } from '../plan/types.js';
import type { GatewayRunner, RunnerDeps } from './gateway-runner.js';
import type { Lifecycle } from './lifecycle.js';
import { type Change, planChanges, type RunningGateway } from './reconcile.js';

/** How long a restart waits for the other role to be ready before it gives up (main and rescue never down together). */
export const GUARD_WAIT_MS = 60_000;
/** Added to a gateway's own startPeriod when waiting for it to be ready after a change. */
const READY_GRACE_MS = 5_000;

/** What a rollout works on: the fleet's runners, owned by the supervisor. */
export interface Fleet {
  runners(): ReadonlyMap<string, GatewayRunner>;
  specHash(name: string): string | undefined;
  add(plan: GatewayPlan, specHash: string): GatewayRunner;
  remove(name: string): void;
  setSpecHash(name: string, hash: string): void;
  /** Runs one disruptive change at a time across the fleet (edits, operator restarts, limits, schedules). */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** Gateways the operator stopped: kept down through edits until started again. */
  isHeld(name: string): boolean;
}

/** The accepted manifest a rollout drives the fleet towards. */
export interface RolloutTarget {
  readonly plans: readonly GatewayPlan[];
  readonly hashes: ReadonlyMap<string, string>;
}

/** The latest rollout's outcome, for status. */
export type RolloutState = { state: 'idle' } | { state: 'rolling' } | { state: 'stopped'; reason: string; pending: number };

/** The outcome of one step. */
export type StepResult = { ok: true } | { ok: false; reason: string };

const FAILED: ReadonlySet<Lifecycle['phase']> = new Set(['backoff', 'crashloop', 'conflict', 'stopped']);

export class Rollout {
  private target: RolloutTarget | undefined;
  private running: Promise<void> | undefined;
  private halted = false;
  state: RolloutState = { state: 'idle' };

  constructor(
    private readonly fleet: Fleet,
    private readonly deps: Pick<RunnerDeps, 'now'>,
    private readonly emit: EventSink,
  ) {}

  /** Drives the fleet towards `target` (replacing any target not yet reached); resolves when the rollout ends. */
  request(target: RolloutTarget): Promise<void> {
    this.target = target;
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Takes no further step (the fleet is shutting down); a step under way finishes. */
  halt(): void {
    this.halted = true;
  }

  /** The changes still needed to reach the current target. */
  pendingChanges(): Change[] {
    if (!this.target) return [];
    const planned = planChanges(this.current(), this.target.plans, this.target.hashes);
    return planned.ok ? planned.changes : [];
  }

  private current(): Map<string, RunningGateway> {
    const current = new Map<string, RunningGateway>();
    for (const [name, runner] of this.fleet.runners()) {
      current.set(name, { plan: runner.gatewayPlan, specHash: this.fleet.specHash(name) ?? '', ready: runner.lifecycle.phase === 'ready' });
    }
    return current;
  }

  private async run(): Promise<void> {
    const began = this.deps.now();
    this.state = { state: 'rolling' };
    for (;;) {
      if (this.halted) {
        this.state = { state: 'idle' };
        return;
      }
      const target = this.target!;
      const planned = planChanges(this.current(), target.plans, target.hashes);
      if (!planned.ok) {
        this.stop(planned.reason, 0);
        return;
      }
      for (const change of planned.changes) {
        if (change.kind !== 'update') continue;
        this.emit({ type: 'rollout-step', gateway: change.plan.name, change: 'update', why: 'probe, restart, stop or limit settings changed; applied without a restart' });
        this.fleet.runners().get(change.plan.name)?.applyLive(change.plan);
      }
      const next = planned.changes.find((c) => c.kind !== 'update');
      if (!next) break;
      const result = await this.fleet.exclusive(() => this.apply(next));
      if (!result.ok) {
        // An edit saved while the step was failing (often the fix for it) is planned, not dropped.
        if (this.target !== target && !this.halted) {
          this.emit({ type: 'rollout-step-failed', reason: result.reason });
          continue;
        }
        this.stop(result.reason, planned.changes.filter((c) => c.kind !== 'update').length);
        return;
      }
    }
    this.state = { state: 'idle' };
    this.emit({ type: 'rollout-done', durationMs: this.deps.now() - began });
  }

  private stop(reason: string, pending: number): void {
    this.state = { state: 'stopped', reason, pending };
    this.emit({ type: 'rollout-stopped', reason, pending });
  }

  private async apply(change: Change): Promise<StepResult> {
    switch (change.kind) {
      case 'remove': {
        const runner = this.fleet.runners().get(change.name);
        this.emit({ type: 'rollout-step', gateway: change.name, change: 'remove', why: change.why });
        if (runner) {
          runner.stop(change.why);
          await runner.until((s) => s.phase === 'stopped' || s.phase === 'disabled');
        }
        this.fleet.remove(change.name);
        return { ok: true };
      }
      case 'add': {
        this.emit({ type: 'rollout-step', gateway: change.plan.name, change: 'add' });
        this.fleet.remove(change.plan.name);
        const runner = this.fleet.add(change.plan, change.specHash);
        if (!change.plan.enabled || this.fleet.isHeld(change.plan.name)) return { ok: true };
        runner.start();
        return this.waitReady(runner, 'after it was added');
      }
      case 'restart': {
        const runner = this.fleet.runners().get(change.plan.name)!;
        if (this.fleet.isHeld(change.plan.name) || runner.lifecycle.want === 'down') {
          // Stopped by the operator: the new settings wait for the next start.
          runner.replacePlan(change.plan);
          this.fleet.setSpecHash(change.plan.name, change.specHash);
          return { ok: true };
        }
        const guard = await this.guard(runner);
        if (!guard.ok) return guard;
        this.emit({ type: 'rollout-step', gateway: change.plan.name, change: 'restart', why: change.why });
        runner.replacePlan(change.plan);
        this.fleet.setSpecHash(change.plan.name, change.specHash);
        runner.restart(change.why);
        return this.waitReady(runner, 'after its restart');
      }
      case 'update':
        return { ok: true };
    }
  }

  /** Waits for the gateway to be ready again, bounded by its own start period; fails early if it fails. */
  async waitReady(runner: GatewayRunner, when: string): Promise<StepResult> {
    const bound = runner.gatewayPlan.health.startPeriodMs + READY_GRACE_MS;
    // Let the restart leave `ready` first, then wait for it to come back or to fail.
    await runner.untilOr((s) => s.phase !== 'ready', 1_000);
    const state = await runner.untilOr((s) => s.phase === 'ready' || (FAILED.has(s.phase) && s.want === 'up'), bound);
    if (state?.phase === 'ready') return { ok: true };
    if (state) return { ok: false, reason: `"${runner.name}" failed ${when}: ${state.reason ?? state.phase}` };
    return { ok: false, reason: `"${runner.name}" was not ready within ${Math.round(bound / 1000)}s ${when}` };
  }

  /**
   * Before taking a serving gateway down: a main waits for every rescue to be ready; a rescue waits for
   * another rescue or a main to be ready. A gateway that does not serve anyway is replaced at once.
   */
  async guard(runner: GatewayRunner): Promise<StepResult> {
    if (runner.lifecycle.phase !== 'ready') return { ok: true };
    const others = [...this.fleet.runners().values()].filter((r) => r !== runner && r.gatewayPlan.enabled);
    const rescues = others.filter((r) => r.role === 'rescue');
    const covering = runner.role === 'main' ? rescues : rescues.length > 0 ? rescues : others;
    if (covering.length === 0) return { ok: true };
    const satisfied = (): boolean =>
      runner.role === 'main' ? covering.every((r) => r.lifecycle.phase === 'ready') : covering.some((r) => r.lifecycle.phase === 'ready');
    if (satisfied()) return { ok: true };
    // Any covering gateway's change may satisfy the rule; each wait is bounded, so none outlives the guard by long.
    const met = await Promise.race([
      ...covering.map((r) => r.untilOr(() => satisfied(), GUARD_WAIT_MS).then((s) => s !== undefined)),
      Promise.all(covering.map((r) => r.untilOr(() => false, GUARD_WAIT_MS))).then(() => false),
    ]);
    if (met && satisfied()) return { ok: true };
    const who = covering.map((r) => `"${r.name}" (${r.lifecycle.phase})`).join(', ');
    return {
      ok: false,
      reason: `"${runner.name}" was not restarted: ${runner.role === 'main' ? 'every rescue' : 'another gateway'} must be ready first, and ${who} ${covering.length === 1 ? 'was' : 'were'} not for ${GUARD_WAIT_MS / 1000}s`,
    };
  }
}
