/**
 * The fleet: one runner per gateway, started rescue first and stopped rescue last. Runners share
 * nothing (no restart budget, no ordering once running), so one gateway's failures never reach another.
 */
import { compactRanges } from '../plan/footprint.js';
import type { FleetPlan, GatewayPlan } from '../plan/types.js';
import { GatewayRunner, type RunnerDeps } from './gateway-runner.js';
import type { Phase } from './lifecycle.js';
import { startSpecHash } from './reconcile.js';
import { Rollout, type RolloutState } from './rollout.js';

/** A manifest as the loader returns it: the plan and the envFile contents it was planned with. */
export interface AcceptedManifest {
  readonly plan: FleetPlan;
  readonly envFiles: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

/** The manifest part of status (SPEC §5). */
export interface ManifestStatus {
  path: string;
  appliedAt: string | null;
  error: { at: string; trigger: string; problems: string[] } | null;
  rollout: RolloutState;
}

function specHashes(manifest: AcceptedManifest): Map<string, string> {
  return new Map(
    manifest.plan.gateways.map((g) => [g.name, startSpecHash(g, g.envFile ? manifest.envFiles.get(g.envFile) : undefined)]),
  );
}

/** How long a rescue may take to be spawned before the mains start anyway: a slow rescue must not hold main down. */
const RESCUE_HEAD_START_MS = 2_000;

/** One gateway as `status --json` shows it (SPEC §5). */
export interface GatewayStatus {
  name: string;
  role: 'main' | 'rescue';
  state: Phase;
  pid: number | null;
  restarts: number;
  uptimeMs: number | null;
  lastExit: { code: number | null; signal: string | null; at: string } | null;
  reason: string | null;
  nextRetryAt: string | null;
  health: { live: boolean; ready: boolean };
  ports: { base: number; reserved: Array<[number, number]> };
}

export class Supervisor {
  private readonly runners = new Map<string, GatewayRunner>();
  private readonly hashes: Map<string, string>;
  private readonly rollout: Rollout;
  private appliedAt: number | undefined;
  private manifestError: ManifestStatus['error'] = null;
  private shuttingDown = false;

  constructor(
    manifest: AcceptedManifest,
    private readonly deps: RunnerDeps,
  ) {
    this.plan = manifest.plan;
    this.hashes = specHashes(manifest);
    for (const gateway of manifest.plan.gateways) this.runners.set(gateway.name, new GatewayRunner(gateway, deps));
    this.rollout = new Rollout(
      {
        runners: () => this.runners,
        specHash: (name) => this.hashes.get(name),
        add: (plan: GatewayPlan, hash: string) => {
          const runner = new GatewayRunner(plan, this.deps);
          this.runners.set(plan.name, runner);
          this.hashes.set(plan.name, hash);
          return runner;
        },
        remove: (name) => {
          this.runners.delete(name);
          this.hashes.delete(name);
        },
        setSpecHash: (name, hash) => this.hashes.set(name, hash),
      },
      deps,
      deps.emit,
    );
  }

  /** The last accepted plan. */
  plan: FleetPlan;

  /** Rolls the fleet towards an accepted edit of the manifest; resolves when that rollout ends. */
  applyManifest(manifest: AcceptedManifest, trigger: string): Promise<void> {
    if (this.shuttingDown) return Promise.resolve();
    this.plan = manifest.plan;
    this.manifestError = null;
    const target = { plans: manifest.plan.gateways, hashes: specHashes(manifest) };
    const done = this.rollout.request(target);
    this.deps.emit({ type: 'manifest-accepted', trigger, changes: this.rollout.pendingChanges().length });
    return done.then(() => {
      if (this.rollout.state.state === 'idle') this.appliedAt = this.deps.now();
    });
  }

  /** Keeps the fleet as it is and remembers why an edit was refused, until a good edit replaces it. */
  rejectManifest(problems: string[], trigger: string): void {
    this.manifestError = { at: new Date(this.deps.now()).toISOString(), trigger, problems };
    this.deps.emit({ type: 'manifest-rejected', trigger, problems });
  }

  /** The manifest part of status. */
  manifestStatus(): ManifestStatus {
    return {
      path: this.plan.manifestPath,
      appliedAt: this.appliedAt !== undefined ? new Date(this.appliedAt).toISOString() : null,
      error: this.manifestError,
      rollout: this.rollout.state,
    };
  }

  /** Runners, rescue gateways first. */
  get gateways(): GatewayRunner[] {
    const all = [...this.runners.values()];
    return [...all.filter((r) => r.role === 'rescue'), ...all.filter((r) => r.role !== 'rescue')];
  }

  runner(name: string): GatewayRunner | undefined {
    return this.runners.get(name);
  }

  /** Starts every enabled gateway: rescues first, mains once the rescues have a process (or a short bound passed). */
  async start(): Promise<void> {
    this.appliedAt = this.deps.now();
    const enabled = this.gateways.filter((r) => r.gatewayPlan.enabled);
    const rescues = enabled.filter((r) => r.role === 'rescue');
    for (const rescue of rescues) rescue.start();
    if (rescues.length > 0) {
      let timer: { cancel(): void } | undefined;
      await Promise.race([
        Promise.all(rescues.map((r) => r.until((s) => s.pid !== undefined || s.phase !== 'starting'))),
        new Promise<void>((resolve) => {
          timer = this.deps.setTimer(RESCUE_HEAD_START_MS, resolve);
        }),
      ]);
      timer?.cancel();
    }
    for (const main of enabled.filter((r) => r.role !== 'rescue')) main.start();
  }

  /** Stops the fleet: every main first (in parallel), then the rescues; resolves when no process is left. */
  async shutdown(reason: string): Promise<void> {
    this.shuttingDown = true;
    this.rollout.halt();
    const mains = this.gateways.filter((r) => r.role !== 'rescue');
    const rescues = this.gateways.filter((r) => r.role === 'rescue');
    for (const group of [mains, rescues]) {
      for (const runner of group) runner.stop(reason);
      await Promise.all(group.map((r) => r.until((s) => s.phase === 'stopped' || s.phase === 'disabled')));
    }
  }

  /** Every gateway's status, rescue first. */
  status(): GatewayStatus[] {
    const now = this.deps.now();
    return this.gateways.map((runner) => {
      const s = runner.lifecycle;
      const plan = runner.gatewayPlan;
      return {
        name: runner.name,
        role: runner.role,
        state: s.phase,
        pid: s.pid ?? null,
        restarts: s.restarts,
        uptimeMs: s.pid !== undefined && s.startedAt !== undefined ? now - s.startedAt : null,
        lastExit: s.lastExit ? { code: s.lastExit.code, signal: s.lastExit.signal, at: new Date(s.lastExit.at).toISOString() } : null,
        reason: s.reason ?? null,
        nextRetryAt: s.retryAt !== undefined ? new Date(s.retryAt).toISOString() : null,
        health: { live: s.live, ready: s.ready },
        ports: { base: plan.port, reserved: compactRanges(plan.footprint) },
      };
    });
  }
}
