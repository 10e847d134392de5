/**
 * The imperative shell around one gateway's lifecycle: performs the effects the pure `step` asks for
 * (spawn, stop the tree, timers, probes) through injected adapters, and feeds what happens back as
 * events. Async results carry the generation they belong to, so an answer about an old process is
 * never taken for the new one.
 */
import type { EventSink } from '../logging/events.js';
import { buildGatewayEnv } from '../plan/environment.js';
import type { GatewayPlan, ProbePlan } from '../plan/types.js';
import { EXIT_CONFLICT, type Effect, hasProcess, initialLifecycle, type Lifecycle, type LifecycleEvent, type ProbeKind, step, type TimerName } from './lifecycle.js';
import type { ProbeOutcome, ProbeTarget } from './probe.js';
import { nextProbeDelay, probePhaseMs } from './probe-schedule.js';
import type { SpawnedChild, SpawnRequest, SpawnResult } from './spawner.js';
import type { StopReport, StopRequest } from './process-tree.js';
import type { ProbeAction } from '../plan/types.js';

/** A timer handle as the clock adapter returns it. */
export type TimerHandle = { cancel(): void };

/** A listener found on one of a gateway's ports, with its owner when /proc tells it. */
export interface PortHolder {
  readonly port: number;
  /** The local address it listens on (`0.0.0.0`, `::`, `127.0.0.1`, a LAN address…). */
  readonly address?: string;
  readonly pid?: number;
  readonly command?: string;
}

/** The world as a runner sees it; the real adapters are wired in one place, tests may pass fakes. */
export interface RunnerDeps {
  now(): number;
  random(): number;
  setTimer(ms: number, fn: () => void): TimerHandle;
  spawn(req: SpawnRequest): Promise<SpawnResult>;
  stopTree(req: StopRequest): Promise<StopReport>;
  waitPortFree(port: number, timeoutMs: number): Promise<boolean>;
  /** One probe attempt; aborting `signal` ends it at once and kills what it started (an exec probe's process). */
  probe(action: ProbeAction, target: ProbeTarget, timeoutMs: number, signal?: AbortSignal): Promise<ProbeOutcome>;
  /** Which of `ports` something listens on now, and which process holds each (reads /proc: slow-ish). */
  listening(ports: readonly number[]): PortHolder[];
  /** Other processes (outside process group `exceptGroup`) running with this OPENCLAW_STATE_DIR. */
  stateDirUsers(stateDir: string, exceptGroup: number): Array<{ pid: number; command?: string | undefined }>;
  /** Quick check that the base port can be bound (undefined when it cannot tell). */
  canBind(port: number): Promise<boolean | undefined>;
  /** Opens the gateway's log file for the child to write to; returns the fd and the path. */
  openLog(gateway: string): { fd: number; path: string };
  closeFd(fd: number): void;
  /** Notes a line in the gateway's own log (starts, exits). */
  note(gateway: string, text: string): void;
  /** The program and leading arguments for a planned command (`clawfleet` is this installation). */
  resolveCommand(command: string): { command: string; args: string[] };
  /** The supervisor's environment, filtered per gateway by the allow-list. */
  readonly supervisorEnv: Readonly<Record<string, string | undefined>>;
  /** The current contents of an envFile (re-read by the manifest loader). */
  envFile(path: string): Readonly<Record<string, string>>;
  readonly emit: EventSink;
}

/** How long to wait for a base port to be released by the kernel after the old tree is gone. */
const PORT_RELEASE_TIMEOUT_MS = 10_000;
/** How long a stop's finding that the base port is free stands for the start that follows it. */
const PORT_FRESH_MS = 100;

/** The last outcome of a probe, for status and metrics. */
export interface ProbeRecord {
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly at: number;
}

/** Runs one gateway. */
export class GatewayRunner {
  private state: Lifecycle;
  private generation = 0;
  private footprintChecked = false;
  private child: SpawnedChild | undefined;
  /** The base port the current process was started on: an edit may have moved the plan's since. */
  private childPort: number | undefined;
  /** The last of our processes whose exit we saw. */
  private exitedPid: number | undefined;
  /** When a stop last found the base port bindable: a start right after it need not bind it again. */
  private portFreeAt: { port: number; at: number } | undefined;
  /** The current process's tree as last sampled (pid → start ticks), so a stop finds what left its group. */
  private knownTree: ReadonlyMap<number, number | undefined> = new Map();
  private readonly timers = new Map<TimerName, TimerHandle>();
  private readonly probeLoops = new Map<ProbeKind, { cancel(): void }>();
  private readonly listeners = new Set<(state: Lifecycle) => void>();
  readonly lastProbe = new Map<ProbeKind, ProbeRecord>();
  /** Processes the last stop could not remove (outlived SIGKILL, or not ours to signal). */
  survivors = 0;

  constructor(
    private plan: GatewayPlan,
    private readonly deps: RunnerDeps,
    /** How many probe slots the fleet uses now (probe-schedule.ts); the supervisor knows the fleet's size. */
    private readonly probeSlots: () => number = () => 1,
  ) {
    this.state = initialLifecycle(plan.enabled);
  }

  get name(): string {
    return this.plan.name;
  }

  get role(): GatewayPlan['role'] {
    return this.plan.role;
  }

  get gatewayPlan(): GatewayPlan {
    return this.plan;
  }

  get lifecycle(): Lifecycle {
    return this.state;
  }

  /** Starts the gateway (or retries it at once if it is waiting to). */
  start(): void {
    this.dispatch({ type: 'start' });
  }

  /** Stops the whole tree and keeps it down. */
  stop(reason: string): void {
    this.dispatch({ type: 'stop', reason });
  }

  /** Stops the tree and starts it again, without counting a failure. */
  restart(reason: string): void {
    this.dispatch({ type: 'restart', reason });
  }

  /** The current process, for the state file. */
  get process(): { pid: number; pgid: number; startTicks: number | undefined; port: number } | undefined {
    return this.child ? { pid: this.child.pid, pgid: this.child.pgid, startTicks: this.child.startTicks, port: this.childPort ?? this.plan.port } : undefined;
  }

  /** Records the current process's tree as the resource sampler saw it (ignored for an older process). */
  noteTree(pid: number, members: ReadonlyMap<number, number | undefined>): void {
    if (this.child?.pid === pid) this.knownTree = members;
  }

  /** Calls `listener` after every change of the lifecycle. */
  subscribe(listener: (state: Lifecycle) => void): void {
    this.listeners.add(listener);
  }

  /**
   * Takes over a process an earlier supervisor started: it is probed, sampled, stopped and restarted
   * like one of ours. Its exit is noticed by polling, since it is not our child.
   */
  adopt(child: SpawnedChild, record: { startedAt: number; port: number; restarts?: number }): void {
    this.footprintChecked = true;
    this.child = child;
    // Until a rollout replaces it, the process serves where it was started, whatever the manifest says now.
    this.childPort = record.port;
    this.knownTree = new Map();
    this.generation += 1;
    void child.exited.then((exit) => {
      this.deps.emit({ type: 'exited', gateway: this.plan.name, pid: child.pid, code: exit.code, signal: exit.signal, expected: this.state.phase === 'stopping' });
      if (this.child === child) this.dispatch({ type: 'exited', code: exit.code, signal: exit.signal });
    });
    this.dispatch({ type: 'adopted', pid: child.pid, startedAt: record.startedAt, restarts: record.restarts ?? 0 });
  }

  /** Takes new settings that need no new process (probes, restart, stop, limits): probes restart with them. */
  applyLive(plan: GatewayPlan): void {
    this.plan = plan;
    const running = [...this.probeLoops.keys()];
    for (const loop of this.probeLoops.values()) loop.cancel();
    this.probeLoops.clear();
    this.setProbes(running);
  }

  /** Takes new start settings; they apply at the next start (the caller restarts it). */
  replacePlan(plan: GatewayPlan): void {
    this.plan = plan;
    this.footprintChecked = false;
  }

  /** Resolves once the lifecycle satisfies `predicate`. */
  until(predicate: (state: Lifecycle) => boolean): Promise<Lifecycle> {
    return this.untilOr(predicate, undefined) as Promise<Lifecycle>;
  }

  /** Resolves with the state once `predicate` holds, or undefined after `timeoutMs`. */
  untilOr(predicate: (state: Lifecycle) => boolean, timeoutMs: number | undefined): Promise<Lifecycle | undefined> {
    if (predicate(this.state)) return Promise.resolve(this.state);
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined;
      const listener = (state: Lifecycle): void => {
        if (!predicate(state)) return;
        this.listeners.delete(listener);
        timer?.cancel();
        resolve(state);
      };
      this.listeners.add(listener);
      if (timeoutMs !== undefined) {
        timer = this.deps.setTimer(timeoutMs, () => {
          this.listeners.delete(listener);
          resolve(undefined);
        });
      }
    });
  }

  /** Whether a process of this gateway may be alive. */
  get hasProcess(): boolean {
    return hasProcess(this.state);
  }

  private dispatch(event: LifecycleEvent): void {
    const before = this.state;
    let next;
    try {
      next = step(before, event, { plan: this.plan, now: this.deps.now(), random: this.deps.random() });
    } catch (error) {
      this.deps.emit({ type: 'internal-error', where: `${this.plan.name} lifecycle`, message: (error as Error).message });
      return;
    }
    this.state = next.state;
    if (before.phase !== next.state.phase) {
      const retryInMs = next.state.retryAt !== undefined ? next.state.retryAt - this.deps.now() : undefined;
      this.deps.emit({
        type: 'transition',
        gateway: this.plan.name,
        from: before.phase,
        to: next.state.phase,
        reason: next.state.reason,
        pid: next.state.pid ?? before.pid,
        restarts: next.state.restarts,
        ...(retryInMs !== undefined && { retryInMs }),
      });
    }
    for (const effect of next.effects) this.perform(effect);
    for (const listener of [...this.listeners]) listener(this.state);
  }

  private perform(effect: Effect): void {
    switch (effect.type) {
      case 'spawn':
        void this.spawnNow();
        return;
      case 'stop-tree':
        void this.stopTreeNow();
        return;
      case 'set-timer': {
        this.timers.get(effect.timer)?.cancel();
        const timer = effect.timer;
        this.timers.set(timer, this.deps.setTimer(effect.ms, () => {
          this.timers.delete(timer);
          this.dispatch({ type: 'timer', timer });
        }));
        return;
      }
      case 'clear-timer':
        this.timers.get(effect.timer)?.cancel();
        this.timers.delete(effect.timer);
        return;
      case 'probes':
        this.setProbes(effect.run);
        return;
    }
  }

  /** Checks the footprint, builds the environment afresh, and starts the process. */
  private async spawnNow(): Promise<void> {
    const generation = ++this.generation;
    const plan = this.plan;
    const failed = (reason: string): void => {
      this.deps.emit({ type: 'spawn-failed', gateway: plan.name, reason });
      if (generation === this.generation) this.dispatch({ type: 'spawn-failed', reason });
    };
    try {
      // The whole footprint is read from /proc at the first start and whenever the base port is taken;
      // a restart after a crash only needs the quick check, so the replacement is not delayed.
      // Right after a stop found it free (a restart), binding it again would only delay the replacement.
      const fresh = this.portFreeAt?.port === plan.port && this.deps.now() - this.portFreeAt.at <= PORT_FRESH_MS;
      this.portFreeAt = undefined;
      const baseFree = fresh ? true : await this.deps.canBind(plan.port);
      const fullCheck = !this.footprintChecked || baseFree !== true;
      this.footprintChecked = true;
      const holders = fullCheck ? this.deps.listening(footprintPorts(plan)) : [];
      for (const holder of holders) {
        const range = plan.footprint.ranges.find((r) => r.from <= holder.port && holder.port <= r.to);
        // Loopback can be bound (baseFree): a listener on another address only breaks a gateway that binds beyond loopback.
        const fatal = holder.port === plan.port && baseFree !== true;
        this.deps.emit({ type: 'port-busy', gateway: plan.name, port: holder.port, address: holder.address, use: range?.label ?? 'reserved', holderPid: holder.pid, holder: holder.command, fatal });
      }
      // Binding is the fresh answer for the base port; the listener list only names the holder.
      const listed = holders.find((h) => h.port === plan.port);
      const base = baseFree === false ? (listed ?? { port: plan.port }) : baseFree === undefined ? listed : undefined;
      if (base) {
        failed(`port ${plan.port} is busy: held by ${base.pid !== undefined ? `pid ${base.pid} (${base.command ?? '?'})` : 'a process this user cannot see'}`);
        return;
      }
      const env = buildGatewayEnv(plan, this.deps.supervisorEnv, plan.envFile ? this.deps.envFile(plan.envFile) : {});
      const resolved = this.deps.resolveCommand(plan.command);
      const log = this.deps.openLog(plan.name);
      let result: SpawnResult;
      try {
        this.deps.note(plan.name, `starting: ${[plan.command, ...plan.args].join(' ')}`);
        result = await this.deps.spawn({ command: resolved.command, args: [...resolved.args, ...plan.args], cwd: plan.cwd, env, logFd: log.fd });
      } finally {
        this.deps.closeFd(log.fd);
      }
      if (!result.ok) {
        failed(result.reason);
        return;
      }
      const child = result.child;
      this.child = child;
      this.childPort = plan.port;
      this.knownTree = new Map();
      this.deps.emit({ type: 'spawned', gateway: plan.name, pid: child.pid, command: [plan.command, ...plan.args].join(' '), cwd: plan.cwd, log: log.path });
      void child.exited.then((exit) => {
        const expected = this.state.phase === 'stopping';
        this.deps.emit({ type: 'exited', gateway: plan.name, pid: child.pid, code: exit.code, signal: exit.signal, expected });
        this.exitedPid = child.pid;
        if (this.child === child) this.dispatch({ type: 'exited', code: exit.code, signal: exit.signal, ...this.exitDetail(exit.code, child.pgid) });
        // After the dispatch: the restart must not wait for a write to the log file.
        this.deps.note(plan.name, `pid ${child.pid} ${exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`}`);
      });
      if (generation === this.generation) this.dispatch({ type: 'spawned', pid: child.pid });
    } catch (error) {
      failed(`internal error while starting: ${(error as Error).message}`);
    }
  }

  /** For OpenClaw's conflict exit: who else runs on this gateway's state dir, or else that its config is the likely cause. */
  private exitDetail(code: number | null, pgid: number): { detail?: string } {
    if (code !== EXIT_CONFLICT || this.plan.stateDir === undefined) return {};
    let owners: Array<{ pid: number; command?: string | undefined }>;
    try {
      owners = this.deps.stateDirUsers(this.plan.stateDir, pgid);
    } catch {
      return {};
    }
    if (owners.length === 0) return { detail: `no other process of this user runs on its state dir ${this.plan.stateDir}, so its config is the likely cause (see its log)` };
    const who = owners.map((o) => `pid ${o.pid}${o.command ? ` (${o.command.slice(0, 80)})` : ''}`).join(', ');
    return { detail: `its state dir ${this.plan.stateDir} is in use by ${who}` };
  }

  /** Stops the current tree, waits for the base port, then reports the tree gone. */
  private async stopTreeNow(): Promise<void> {
    const child = this.child;
    const generation = this.generation;
    if (!child) {
      this.dispatch({ type: 'tree-gone' });
      return;
    }
    const plan = this.plan;
    const port = this.childPort ?? plan.port;
    try {
      const report = await this.deps.stopTree({ pid: child.pid, pgid: child.pgid, signal: plan.stop.signal, timeoutMs: plan.stop.timeoutMs, exited: child.exited, known: this.knownTree, leaderExited: this.exitedPid === child.pid });
      if (report.escalated) this.deps.emit({ type: 'stop-escalated', gateway: plan.name, pid: child.pid, signal: plan.stop.signal, timeoutMs: plan.stop.timeoutMs });
      if (report.leftovers.length > 0) this.deps.emit({ type: 'leftovers-killed', gateway: plan.name, pids: report.leftovers });
      this.survivors = report.survivors.length + report.denied.length;
      if (this.survivors > 0) this.deps.emit({ type: 'stop-incomplete', gateway: plan.name, survivors: report.survivors, denied: report.denied });
      const started = this.deps.now();
      if (await this.deps.waitPortFree(port, PORT_RELEASE_TIMEOUT_MS)) this.portFreeAt = { port, at: this.deps.now() };
      else this.deps.emit({ type: 'port-still-busy', gateway: plan.name, port, waitedMs: this.deps.now() - started });
    } catch (error) {
      this.deps.emit({ type: 'internal-error', where: `${plan.name} stop`, message: (error as Error).message });
    }
    if (this.child === child) {
      this.child = undefined;
      this.childPort = undefined;
    }
    if (generation === this.generation) this.dispatch({ type: 'tree-gone' });
  }

  private setProbes(kinds: readonly ProbeKind[]): void {
    for (const [kind, loop] of this.probeLoops) {
      if (!kinds.includes(kind)) {
        loop.cancel();
        this.probeLoops.delete(kind);
      }
    }
    for (const kind of kinds) {
      if (this.probeLoops.has(kind)) continue;
      const probe = this.plan.health[kind];
      if (probe) this.probeLoops.set(kind, this.probeLoop(kind, probe));
    }
  }

  /**
   * Probes every interval, the first at once; one attempt at a time, so a slow gateway is never flooded.
   * Liveness and readiness then run on the fleet's shared grid (probe-schedule.ts); startup probes keep
   * their own short cadence, since they decide how soon a new process counts as started.
   */
  private probeLoop(kind: ProbeKind, probe: ProbePlan): { cancel(): void } {
    let cancelled = false;
    let timer: TimerHandle | undefined;
    const inFlight = new AbortController();
    const generation = this.generation;
    const target: ProbeTarget = { host: '127.0.0.1', port: this.childPort ?? this.plan.port, cwd: this.plan.cwd, env: probeEnv(this.deps.supervisorEnv) };
    const delay = (): number =>
      kind === 'startup' ? probe.intervalMs : nextProbeDelay(this.deps.now(), probe.intervalMs, probePhaseMs(this.plan.name, probe.intervalMs, this.probeSlots()));
    const tick = async (): Promise<void> => {
      const outcome = await this.deps.probe(probe.action, target, probe.timeoutMs, inFlight.signal);
      if (cancelled || generation !== this.generation) return;
      this.lastProbe.set(kind, { ok: outcome.ok, latencyMs: outcome.latencyMs, at: this.deps.now() });
      if (!outcome.ok) this.deps.emit({ type: 'probe-failed', gateway: this.plan.name, probe: kind, reason: outcome.reason });
      this.dispatch({ type: 'probe', probe: kind, ok: outcome.ok, ...(!outcome.ok && { reason: outcome.reason }) });
      if (!cancelled) timer = this.deps.setTimer(delay(), () => void tick());
    };
    timer = this.deps.setTimer(0, () => void tick());
    return {
      cancel: () => {
        cancelled = true;
        timer?.cancel();
        inFlight.abort();
      },
    };
  }
}

/** The ports to check before a start: the whole footprint, as a list. */
function footprintPorts(plan: GatewayPlan): number[] {
  const ports: number[] = [];
  for (const range of plan.footprint.ranges) for (let p = range.from; p <= range.to; p += 1) ports.push(p);
  return ports;
}

/** Exec probes run with the supervisor's PATH and HOME only. */
function probeEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'TZ']) if (env[name] !== undefined) out[name] = env[name]!;
  return out;
}
