/**
 * What the supervisor does on its own clock, besides probing: samples each gateway's process tree
 * (CPU, memory), restarts a tree that stays over its memory limit, and runs planned restarts. Every
 * restart goes through the supervisor's guarded, one-at-a-time path, so main and rescue never restart
 * together whoever asked.
 */
import type { EventSink } from '../logging/events.js';
import { sampleTrees } from './resource-sampler.js';
import type { Supervisor } from './supervisor.js';

/** How often process trees are sampled: often enough for a status, cheap at a thousand gateways. */
export const SAMPLE_INTERVAL_MS = 10_000;
/** Consecutive samples over the limit before a restart: a short spike is not a leak. */
export const MEMORY_SAMPLES_OVER_LIMIT = 3;

interface CronTask {
  stop(): void | Promise<void>;
  destroy(): void | Promise<void>;
}

export class Maintenance {
  private sampler: NodeJS.Timeout | undefined;
  private sampling = false;
  private readonly overLimit = new Map<string, number>();
  private readonly schedules = new Map<string, { expression: string; task: CronTask }>();
  private stopped = false;

  constructor(
    private readonly supervisor: Supervisor,
    private readonly emit: EventSink,
    private readonly sampleEveryMs = SAMPLE_INTERVAL_MS,
  ) {}

  /** Starts sampling and the planned restarts of the current plan. */
  async start(): Promise<void> {
    this.sampler = setInterval(() => void this.sample(), this.sampleEveryMs);
    this.sampler.unref();
    // A first look soon after start, so status shows figures without waiting a whole interval.
    setTimeout(() => void this.sample(), Math.min(1_000, this.sampleEveryMs)).unref();
    await this.reschedule();
  }

  /** Stops everything; no restart is started afterwards. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sampler) clearInterval(this.sampler);
    for (const { task } of this.schedules.values()) await task.destroy();
    this.schedules.clear();
  }

  /** Brings the cron tasks in line with the current plan (after an edit). */
  async reschedule(): Promise<void> {
    if (this.stopped) return;
    const wanted = new Map(this.supervisor.plan.gateways.filter((g) => g.enabled && g.restartSchedule).map((g) => [g.name, g.restartSchedule!]));
    for (const [name, entry] of this.schedules) {
      if (wanted.get(name) === entry.expression) continue;
      await entry.task.destroy();
      this.schedules.delete(name);
    }
    if (wanted.size === 0) return;
    const cron = await import('node-cron');
    for (const [name, expression] of wanted) {
      if (this.schedules.has(name)) continue;
      const task = cron.schedule(expression, () => this.planned(name, expression), { name: `restart ${name}`, noOverlap: true });
      this.schedules.set(name, { expression, task });
    }
  }

  private planned(name: string, expression: string): void {
    const runner = this.supervisor.runner(name);
    if (!runner || !runner.hasProcess || runner.lifecycle.want === 'down') return;
    this.emit({ type: 'planned-restart', gateway: name, schedule: expression });
    void this.supervisor.guardedRestart(runner, `planned restart (${expression})`).then((result) => {
      if (!result.ok) this.emit({ type: 'restart-deferred', gateway: name, why: 'planned restart', reason: result.reason });
    });
  }

  /** One sample of every running tree; also the memory-limit check. */
  async sample(): Promise<void> {
    if (this.sampling || this.stopped) return;
    this.sampling = true;
    try {
      const roots = this.supervisor.gateways.flatMap((r) => (r.lifecycle.pid !== undefined ? [{ key: r.name, pid: r.lifecycle.pid, pgid: r.lifecycle.pid }] : []));
      const usage = await sampleTrees(roots);
      this.supervisor.usage.clear();
      for (const [name, tree] of usage) {
        this.supervisor.usage.set(name, { cpuPercent: tree.cpuPercent, memoryBytes: tree.memoryBytes });
        const root = roots.find((r) => r.key === name);
        if (root) this.supervisor.runner(name)?.noteTree(root.pid, tree.members);
      }
      this.checkLimits();
    } catch (error) {
      this.emit({ type: 'internal-error', where: 'resource sampler', message: (error as Error).message });
    } finally {
      this.sampling = false;
    }
  }

  private checkLimits(): void {
    for (const runner of this.supervisor.gateways) {
      const limit = runner.gatewayPlan.memoryLimitBytes;
      const used = this.supervisor.usage.get(runner.name)?.memoryBytes;
      if (limit === undefined || used === undefined || used <= limit || runner.lifecycle.phase === 'stopping') {
        this.overLimit.delete(runner.name);
        continue;
      }
      const samples = (this.overLimit.get(runner.name) ?? 0) + 1;
      this.overLimit.set(runner.name, samples);
      if (samples !== MEMORY_SAMPLES_OVER_LIMIT) continue;
      this.emit({ type: 'memory-limit', gateway: runner.name, memoryBytes: used, limitBytes: limit, samples });
      void this.supervisor.guardedRestart(runner, `memory limit: ${Math.round(used / 1048576)} MB over ${Math.round(limit / 1048576)} MB`).then((result) => {
        // Deferred restarts are tried again once the count of samples over the limit comes round again.
        this.overLimit.delete(runner.name);
        if (!result.ok) this.emit({ type: 'restart-deferred', gateway: runner.name, why: 'memory-limit restart', reason: result.reason });
      });
    }
  }
}
