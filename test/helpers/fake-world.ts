/**
 * The world of gateway runners on a virtual clock, for component tests of the supervision runtime:
 * timers fire only when a test advances time, the spawner hands out fake processes, and each probe
 * is answered by `answer(port, path)`.
 */
import type { SupervisorEvent } from '../../src/logging/events.js';
import type { ProbeAction } from '../../src/plan/types.js';
import type { RunnerDeps, TimerHandle } from '../../src/supervisor/gateway-runner.js';
import type { ProbeOutcome, ProbeTarget } from '../../src/supervisor/probe.js';
import type { StopRequest } from '../../src/supervisor/process-tree.js';
import type { ChildExit, SpawnedChild, SpawnRequest } from '../../src/supervisor/spawner.js';

export interface FakeProcess {
  request: SpawnRequest;
  child: SpawnedChild;
  exit(exit?: ChildExit): void;
}

export class FakeWorld {
  now = 1_000_000;
  private timers: Array<{ at: number; seq: number; fn: () => void; cancelled: boolean }> = [];
  private seq = 0;
  private nextPid = 100;
  readonly processes: FakeProcess[] = [];
  readonly spawnedAt: number[] = [];
  readonly probes: Array<{ at: number; port: number; path: string }> = [];
  readonly stops: Array<{ at: number; pid: number }> = [];
  readonly portWaits: number[] = [];
  readonly events: SupervisorEvent[] = [];
  answer: (port: number, path: string) => ProbeOutcome = () => ({ ok: true, latencyMs: 1 });
  /** Called with every process as it is spawned (e.g. to make it crash). */
  onSpawn: (process: FakeProcess) => void = () => undefined;

  readonly deps: RunnerDeps = {
    now: () => this.now,
    random: () => 0.5,
    setTimer: (ms, fn): TimerHandle => {
      const timer = { at: this.now + ms, seq: this.seq++, fn, cancelled: false };
      this.timers.push(timer);
      return { cancel: () => (timer.cancelled = true) };
    },
    spawn: async (request: SpawnRequest) => {
      let exit!: (exit: ChildExit) => void;
      const exited = new Promise<ChildExit>((resolve) => (exit = resolve));
      const pid = this.nextPid++;
      this.spawnedAt.push(this.now);
      const child: SpawnedChild = { pid, pgid: pid, startTicks: pid, exited };
      const process: FakeProcess = { request, child, exit: (value = { code: 1, signal: null }) => exit(value) };
      this.processes.push(process);
      this.onSpawn(process);
      return { ok: true, child };
    },
    stopTree: async (req: StopRequest) => {
      this.stops.push({ at: this.now, pid: req.pid });
      this.processes.find((p) => p.child.pid === req.pid)?.exit({ code: null, signal: 'SIGTERM' });
      await req.exited;
      return { escalated: false, leftovers: [], survivors: [], denied: [], durationMs: 0 };
    },
    waitPortFree: async (port) => {
      this.portWaits.push(port);
      return true;
    },
    probe: async (action: ProbeAction, target: ProbeTarget) => {
      const path = action.type === 'http' ? action.path : action.type;
      this.probes.push({ at: this.now, port: target.port, path });
      return this.answer(target.port, path);
    },
    listening: () => [],
    stateDirUsers: () => [],
    canBind: async () => true,
    openLog: () => ({ fd: -1, path: '/dev/null' }),
    closeFd: () => undefined,
    note: () => undefined,
    resolveCommand: (command) => ({ command, args: [] }),
    supervisorEnv: { PATH: '/usr/bin', HOME: '/h' },
    envFile: () => ({}),
    emit: (event) => this.events.push(event),
  };

  /** Lets promise callbacks run (spawn, probe and stop answers are promises). */
  async settle(): Promise<void> {
    for (let i = 0; i < 20; i += 1) await Promise.resolve();
  }

  /** Moves the clock forward, firing every timer that falls due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    await this.settle();
    for (;;) {
      const due = this.timers.filter((t) => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers.splice(this.timers.indexOf(due), 1);
      this.now = Math.max(this.now, due.at);
      due.fn();
      await this.settle();
    }
    this.now = end;
    await this.settle();
  }
}
