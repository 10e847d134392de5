/**
 * The fleet: one runner per gateway, started rescue first and stopped rescue last. Runners share
 * nothing (no restart budget, no ordering once running), so one gateway's failures never reach another.
 */
import { compactRanges } from '../plan/footprint.js';
import type { FleetPlan, GatewayPlan } from '../plan/types.js';
import { GatewayRunner, type RunnerDeps } from './gateway-runner.js';
import { probeSlotCount } from './probe-schedule.js';
import type { Phase } from './lifecycle.js';
import { planChanges, startSpecHash } from './reconcile.js';
import { Rollout, type RolloutState, type StepResult } from './rollout.js';
import { bootId, executable, isSameProcess, pollExit, type RecordedFleet, type RecordedGateway } from './state-file.js';
import { processCommand } from '../host/listeners.js';
import { isoTime } from '../util/iso-time.js';

/** An operator command's result for one gateway. */
export interface Outcome {
  name: string;
  ok: boolean;
  message: string;
}

/** Where the supervisor records what it runs, for the next supervisor of the manifest to adopt. */
export interface StateStore {
  load(): RecordedFleet | undefined;
  save(fleet: RecordedFleet): void;
}

/** Where the operator's stop overrides are kept, so they survive edits and supervisor restarts. */
export interface HoldStore {
  load(): string[];
  save(names: string[]): void;
}

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
  cpu: number | null;
  memoryBytes: number | null;
  ports: { base: number; reserved: Array<[number, number]> };
}

/** CPU (% of one core) and memory of a gateway's whole process tree, as last sampled. */
export interface Usage {
  cpuPercent: number;
  memoryBytes: number;
}

export class Supervisor {
  private readonly runners = new Map<string, GatewayRunner>();
  private readonly hashes: Map<string, string>;
  private readonly rollout: Rollout;
  private appliedAt: number | undefined;
  private manifestError: ManifestStatus['error'] = null;
  private shuttingDown = false;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly held: Set<string>;
  /** Last resource sample per gateway, set by the sampler. */
  readonly usage = new Map<string, Usage>();

  constructor(
    manifest: AcceptedManifest,
    private readonly deps: RunnerDeps,
    private readonly holds: HoldStore = { load: () => [], save: () => undefined },
    private readonly store: StateStore = { load: () => undefined, save: () => undefined },
  ) {
    this.held = new Set(holds.load());
    this.target = manifest;
    this.plan = manifest.plan;
    this.hashes = specHashes(manifest);
    for (const gateway of manifest.plan.gateways) this.runners.set(gateway.name, this.watch(this.newRunner(gateway)));
    this.rollout = new Rollout(
      {
        runners: () => this.runners,
        specHash: (name) => this.hashes.get(name),
        add: (plan: GatewayPlan, hash: string) => {
          const runner = this.watch(this.newRunner(plan));
          this.runners.set(plan.name, runner);
          this.hashes.set(plan.name, hash);
          return runner;
        },
        remove: (name) => {
          this.runners.delete(name);
          this.hashes.delete(name);
        },
        setSpecHash: (name, hash) => this.hashes.set(name, hash),
        exclusive: (fn) => this.exclusive(fn),
        isHeld: (name) => this.held.has(name),
      },
      deps,
      deps.emit,
    );
  }

  /** The last accepted plan. */
  plan: FleetPlan;
  private target: AcceptedManifest;
  private persistQueued = false;
  private readonly commands = new Map<number, { command?: string; exe?: string }>();

  private newRunner(plan: GatewayPlan): GatewayRunner {
    return new GatewayRunner(plan, this.deps, () => probeSlotCount(this.runners.size));
  }

  /** Records the fleet whenever a gateway's process changes. */
  private watch(runner: GatewayRunner): GatewayRunner {
    let pid = runner.lifecycle.pid;
    runner.subscribe((state) => {
      if (state.pid === pid) return;
      pid = state.pid;
      this.persistSoon();
    });
    return runner;
  }

  private persistSoon(): void {
    if (this.persistQueued) return;
    this.persistQueued = true;
    setImmediate(() => {
      this.persistQueued = false;
      this.persist();
    });
  }

  /** Writes what runs now: enough for the next supervisor to recognise each process. */
  persist(): void {
    const gateways: Record<string, RecordedGateway> = {};
    for (const [name, runner] of this.runners) {
      const proc = runner.process;
      const state = runner.lifecycle;
      if (!proc || state.pid !== proc.pid || state.startedAt === undefined) continue;
      let identity = this.commands.get(proc.pid);
      if (!identity) {
        identity = { command: processCommand(proc.pid), exe: executable(proc.pid) };
        this.commands.set(proc.pid, identity);
      }
      gateways[name] = { pid: proc.pid, pgid: proc.pgid, startTicks: proc.startTicks, command: identity.command, exe: identity.exe, specHash: this.hashes.get(name) ?? '', port: proc.port, startedAt: state.startedAt, restarts: state.restarts };
    }
    const live = new Set(Object.values(gateways).map((g) => g.pid));
    for (const pid of this.commands.keys()) if (!live.has(pid)) this.commands.delete(pid);
    try {
      this.store.save({ version: 1, supervisorPid: process.pid, bootId: bootId(), gateways });
    } catch (error) {
      this.deps.emit({ type: 'internal-error', where: 'state file', message: (error as Error).message });
    }
  }

  /**
   * Takes over the gateways a previous supervisor recorded and that are still the same processes;
   * stops those the manifest no longer runs. Returns the names adopted.
   */
  private async adopt(): Promise<Set<string>> {
    const adopted = new Set<string>();
    const recorded = this.store.load();
    if (!recorded) return adopted;
    const orphans: Promise<unknown>[] = [];
    for (const [name, record] of Object.entries(recorded.gateways)) {
      if (!isSameProcess(record, recorded)) continue;
      const runner = this.runners.get(name);
      const child = { pid: record.pid, pgid: record.pgid, startTicks: record.startTicks, exited: pollExit(record.pid, record.startTicks) };
      if (runner && runner.gatewayPlan.enabled && !this.held.has(name)) {
        this.hashes.set(name, record.specHash);
        this.commands.set(record.pid, { command: record.command, exe: record.exe });
        runner.adopt(child, record);
        adopted.add(name);
        this.deps.emit({ type: 'adopted', gateway: name, pid: record.pid, uptimeMs: this.deps.now() - record.startedAt });
        continue;
      }
      const why = !runner ? 'no longer in the manifest' : !runner.gatewayPlan.enabled ? 'disabled in the manifest' : 'stopped by the operator';
      this.deps.emit({ type: 'orphan-stopped', gateway: name, pid: record.pid, why });
      const stopTimeoutMs = runner?.gatewayPlan.stop.timeoutMs ?? 10_000;
      orphans.push(this.deps.stopTree({ pid: record.pid, pgid: record.pgid, signal: runner?.gatewayPlan.stop.signal ?? 'SIGTERM', timeoutMs: stopTimeoutMs, exited: child.exited }));
    }
    await Promise.all(orphans);
    return adopted;
  }

  /** Rolls the fleet towards an accepted edit of the manifest; resolves when that rollout ends. */
  applyManifest(manifest: AcceptedManifest, trigger: string): Promise<void> {
    if (this.shuttingDown) return Promise.resolve();
    this.plan = manifest.plan;
    this.target = manifest;
    this.manifestError = null;
    const target = { plans: manifest.plan.gateways, hashes: specHashes(manifest) };
    const done = this.rollout.request(target);
    this.deps.emit({ type: 'manifest-accepted', trigger, changes: this.rollout.pendingChanges().length });
    return done.then(() => {
      if (this.rollout.state.state === 'idle') this.appliedAt = this.deps.now();
    });
  }

  /** How many changes an accepted manifest asks for now. */
  changesFor(manifest: AcceptedManifest): number {
    const current = new Map([...this.runners].map(([name, r]) => [name, { plan: r.gatewayPlan, specHash: this.hashes.get(name) ?? '', ready: r.lifecycle.phase === 'ready' }]));
    const planned = planChanges(current, manifest.plan.gateways, specHashes(manifest));
    return planned.ok ? planned.changes.length : 0;
  }

  /** Keeps the fleet as it is and remembers why an edit was refused, until a good edit replaces it. */
  rejectManifest(problems: string[], trigger: string): void {
    this.manifestError = { at: isoTime(this.deps.now()), trigger, problems };
    this.deps.emit({ type: 'manifest-rejected', trigger, problems });
  }

  /** The manifest part of status. */
  manifestStatus(): ManifestStatus {
    return {
      path: this.plan.manifestPath,
      appliedAt: this.appliedAt !== undefined ? isoTime(this.appliedAt) : null,
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
    const adopted = await this.adopt();
    const enabled = this.gateways.filter((r) => r.gatewayPlan.enabled && !this.held.has(r.name) && !adopted.has(r.name));
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
    for (const runner of this.gateways.filter((r) => this.held.has(r.name))) runner.stop('stopped by the operator');
    this.persist();
    // Adopted gateways whose manifest entry changed while no supervisor ran are rolled like an edit.
    const target = specHashes(this.target);
    if ([...adopted].some((name) => target.get(name) !== this.hashes.get(name))) {
      void this.applyManifest(this.target, 'the manifest changed while no supervisor ran');
    }
  }

  /** Stops the fleet: every main first (in parallel), then the rescues; resolves with how many processes outlived it. */
  async shutdown(reason: string): Promise<number> {
    this.shuttingDown = true;
    this.rollout.halt();
    const mains = this.gateways.filter((r) => r.role !== 'rescue');
    const rescues = this.gateways.filter((r) => r.role === 'rescue');
    for (const group of [mains, rescues]) {
      for (const runner of group) runner.stop(reason);
      await Promise.all(group.map((r) => r.until((s) => s.phase === 'stopped' || s.phase === 'disabled')));
    }
    this.persist();
    return this.gateways.reduce((sum, r) => sum + r.survivors, 0);
  }

  /** Runs disruptive changes one at a time, whoever asks (edits, operator restarts, limits, schedules). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Resolves the names of an operator command: unknown names are an error. */
  resolveNames(names: readonly string[], all: boolean): { ok: true; runners: GatewayRunner[] } | { ok: false; error: string } {
    if (all) return { ok: true, runners: this.gateways.filter((r) => r.gatewayPlan.enabled) };
    const unknown = names.filter((n) => !this.runners.has(n));
    if (unknown.length > 0) {
      return { ok: false, error: `no gateway named ${unknown.map((n) => `"${n}"`).join(', ')} in ${this.plan.manifestPath} (known: ${[...this.runners.keys()].join(', ')})` };
    }
    if (names.length === 0) return { ok: false, error: 'name at least one gateway, or --all' };
    return { ok: true, runners: names.map((n) => this.runners.get(n)!) };
  }

  /** Starts gateways the operator names, lifting their stop override; waits until each is ready or failed. */
  async operatorStart(runners: readonly GatewayRunner[]): Promise<Outcome[]> {
    for (const runner of runners) this.held.delete(runner.name);
    this.holds.save([...this.held]);
    return Promise.all(
      runners.map(async (runner) => {
        if (!runner.gatewayPlan.enabled) return { name: runner.name, ok: false, message: 'disabled in the manifest (enabled: false)' };
        if (runner.hasProcess && runner.lifecycle.want === 'up') return { name: runner.name, ok: true, message: `already running (${runner.lifecycle.phase}, pid ${runner.lifecycle.pid ?? '-'})` };
        runner.start();
        const result = await this.rollout.waitReady(runner, 'after it was started');
        return { name: runner.name, ok: result.ok, message: result.ok ? `ready (pid ${runner.lifecycle.pid})` : result.reason };
      }),
    );
  }

  /**
   * Stops gateways and keeps them stopped through edits and supervisor restarts. Stopping every rescue
   * that is up is refused without `force`, as a disruption budget guards a drain.
   */
  async operatorStop(runners: readonly GatewayRunner[], force: boolean): Promise<{ refused: string } | { outcomes: Outcome[] }> {
    const stopping = new Set(runners.map((r) => r.name));
    const upRescues = this.gateways.filter((r) => r.role === 'rescue' && r.hasProcess && r.lifecycle.want === 'up');
    const left = upRescues.filter((r) => !stopping.has(r.name));
    if (!force && upRescues.length > 0 && left.length === 0) {
      return { refused: `refusing to stop ${upRescues.map((r) => `"${r.name}"`).join(', ')}: that would leave no rescue gateway up (use --force to stop anyway)` };
    }
    for (const runner of runners) this.held.add(runner.name);
    this.holds.save([...this.held]);
    const outcomes = await Promise.all(
      runners.map(async (runner) => {
        runner.stop('stopped by the operator');
        await runner.until((s) => s.phase === 'stopped' || s.phase === 'disabled');
        return { name: runner.name, ok: true, message: 'stopped (stays stopped until `clawfleet start`)' };
      }),
    );
    return { outcomes };
  }

  /** Restarts gateways one at a time, each waiting for readiness and for the rescue rule, mains first. */
  async operatorRestart(runners: readonly GatewayRunner[], why: string): Promise<Outcome[]> {
    const ordered = [...runners.filter((r) => r.role !== 'rescue'), ...runners.filter((r) => r.role === 'rescue')];
    const outcomes: Outcome[] = [];
    for (const runner of ordered) {
      if (this.held.has(runner.name) || runner.lifecycle.phase === 'disabled') {
        outcomes.push({ name: runner.name, ok: false, message: 'stopped by the operator or disabled: use `clawfleet start`' });
        continue;
      }
      const result = await this.guardedRestart(runner, why);
      outcomes.push({ name: runner.name, ok: result.ok, message: result.ok ? `ready again (pid ${runner.lifecycle.pid})` : result.reason });
      if (!result.ok) {
        for (const rest of ordered.slice(ordered.indexOf(runner) + 1)) outcomes.push({ name: rest.name, ok: false, message: 'not restarted: the rolling restart stopped' });
        break;
      }
    }
    return outcomes;
  }

  /**
   * A graceful restart that keeps the rescue guarantee: one disruptive change at a time, and only while
   * the other role is ready; waits for the gateway to be ready again.
   */
  guardedRestart(runner: GatewayRunner, why: string): Promise<StepResult> {
    return this.exclusive(async () => {
      if (!runner.hasProcess || runner.lifecycle.want === 'down') return { ok: false, reason: `"${runner.name}" is not running` };
      const guard = await this.rollout.guard(runner);
      if (!guard.ok) return guard;
      runner.restart(why);
      return this.rollout.waitReady(runner, 'after its restart');
    });
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
        lastExit: s.lastExit ? { code: s.lastExit.code, signal: s.lastExit.signal, at: isoTime(s.lastExit.at) } : null,
        reason: s.reason ?? null,
        nextRetryAt: s.retryAt !== undefined ? isoTime(s.retryAt) : null,
        health: { live: s.live, ready: s.ready },
        cpu: s.pid !== undefined ? (this.usage.get(runner.name)?.cpuPercent ?? null) : null,
        memoryBytes: s.pid !== undefined ? (this.usage.get(runner.name)?.memoryBytes ?? null) : null,
        ports: { base: plan.port, reserved: compactRanges(plan.footprint) },
      };
    });
  }
}
