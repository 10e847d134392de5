/**
 * What an edit of the manifest asks for, as an ordered list of changes: pure, so the order rules
 * (removals first, ports released before they are taken, broken gateways before healthy ones, mains
 * before rescues) are tested as tables.
 */
import { createHash } from 'node:crypto';
import { firstSharedPort } from '../plan/port-conflicts.js';
import type { GatewayPlan, SupervisorPlan } from '../plan/types.js';

/** A gateway as it runs now. */
export interface RunningGateway {
  readonly plan: GatewayPlan;
  /** Hash of everything that needs a new process to take effect. */
  readonly specHash: string;
  /** Whether it serves now; restarting a gateway that does not serve costs no availability. */
  readonly ready: boolean;
}

/** One change of a rollout. */
export type Change =
  | { readonly kind: 'remove'; readonly name: string; readonly why: string }
  | { readonly kind: 'add'; readonly plan: GatewayPlan; readonly specHash: string }
  | { readonly kind: 'restart'; readonly plan: GatewayPlan; readonly specHash: string; readonly why: string }
  | { readonly kind: 'update'; readonly plan: GatewayPlan };

export type ChangePlan = { ok: true; changes: Change[] } | { ok: false; reason: string };

/**
 * The settings that need a new process: command line, environment (envFile contents included),
 * paths, ports, profile, kind. Probe, restart, stop, limit and schedule settings apply live.
 */
export function startSpecHash(plan: GatewayPlan, envFileValues: Readonly<Record<string, string>> | undefined): string {
  const spec = {
    kind: plan.kind,
    command: plan.command,
    args: plan.args,
    port: plan.port,
    profile: plan.profile,
    stateDir: plan.stateDir,
    configPath: plan.configPath,
    workspace: plan.workspace,
    cwd: plan.cwd,
    env: plan.env,
    envFile: plan.envFile,
    envFileValues: envFileValues ?? null,
    inheritEnv: plan.inheritEnv,
    footprint: plan.footprint.ranges.map((r) => [r.from, r.to]),
  };
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
}

/** Whether a gateway's non-start settings differ (what `update` would change). */
function liveSettingsDiffer(a: GatewayPlan, b: GatewayPlan): boolean {
  const pick = (p: GatewayPlan) => JSON.stringify([p.role, p.health, p.restart, p.stop, p.memoryLimitBytes, p.restartSchedule]);
  return pick(a) !== pick(b);
}

/**
 * The changes that take `current` to `next`, in the order they may be applied one at a time.
 * Fails (changing nothing) when no one-at-a-time order is safe, e.g. two gateways swapping ports.
 */
export function planChanges(
  current: ReadonlyMap<string, RunningGateway>,
  next: readonly GatewayPlan[],
  nextHashes: ReadonlyMap<string, string>,
): ChangePlan {
  const removals: Change[] = [];
  const updates: Change[] = [];
  const starts: Array<Extract<Change, { kind: 'add' | 'restart' }>> = [];
  const nextNames = new Set(next.map((p) => p.name));

  for (const [name, running] of current) {
    if (!nextNames.has(name)) removals.push({ kind: 'remove', name, why: 'removed from the manifest' });
  }
  for (const plan of next) {
    const running = current.get(plan.name);
    const specHash = nextHashes.get(plan.name) ?? '';
    if (!running) {
      starts.push({ kind: 'add', plan, specHash });
    } else if (running.plan.enabled && !plan.enabled) {
      removals.push({ kind: 'remove', name: plan.name, why: 'disabled in the manifest' });
    } else if (!running.plan.enabled && plan.enabled) {
      starts.push({ kind: 'add', plan, specHash });
    } else if (!plan.enabled) {
      if (liveSettingsDiffer(running.plan, plan) || running.specHash !== specHash) updates.push({ kind: 'update', plan });
    } else if (running.specHash !== specHash) {
      starts.push({ kind: 'restart', plan, specHash, why: 'its start settings changed in the manifest' });
    } else if (liveSettingsDiffer(running.plan, plan)) {
      updates.push({ kind: 'update', plan });
    }
  }

  const ordered = orderStarts(starts, current);
  if (!ordered.ok) return ordered;
  return { ok: true, changes: [...removals, ...updates, ...ordered.changes] };
}

/** Broken first (restarting them costs nothing), then mains, then rescues; adds of rescues before adds of mains. */
function priority(change: Extract<Change, { kind: 'add' | 'restart' }>, current: ReadonlyMap<string, RunningGateway>): number {
  if (change.kind === 'add') return change.plan.role === 'rescue' ? 0 : 1;
  const ready = current.get(change.plan.name)?.ready ?? false;
  if (!ready) return 0;
  return change.plan.role === 'rescue' ? 3 : 2;
}

/**
 * Orders starts so that none takes ports another still holds: a change whose new footprint touches the
 * current footprint of a gateway that changes too must wait for that gateway to move first.
 */
function orderStarts(
  starts: Array<Extract<Change, { kind: 'add' | 'restart' }>>,
  current: ReadonlyMap<string, RunningGateway>,
): { ok: true; changes: Change[] } | { ok: false; reason: string } {
  const moving = new Map(starts.filter((s) => s.kind === 'restart').map((s) => [s.plan.name, s]));
  const waitsFor = new Map<string, string[]>();
  for (const start of starts) {
    const deps: string[] = [];
    for (const [name] of moving) {
      if (name === start.plan.name) continue;
      const old = current.get(name)!.plan;
      if (firstSharedPort(start.plan.footprint, old.footprint)) deps.push(name);
    }
    waitsFor.set(start.plan.name, deps);
  }
  const sorted = [...starts].sort((a, b) => priority(a, current) - priority(b, current) || byName(a.plan.name, b.plan.name));
  const done = new Set<string>();
  const out: Change[] = [];
  while (out.length < sorted.length) {
    const next = sorted.find((s) => !done.has(s.plan.name) && (waitsFor.get(s.plan.name) ?? []).every((d) => done.has(d)));
    if (!next) {
      const stuck = sorted.filter((s) => !done.has(s.plan.name)).map((s) => `"${s.plan.name}"`);
      return { ok: false, reason: `gateways ${stuck.join(' and ')} would each take ports the other still holds; move them in two separate edits` };
    }
    done.add(next.plan.name);
    out.push(next);
  }
  return { ok: true, changes: out };
}

/** Code-unit order: `localeCompare` would load ICU's collation data (~3 MB of RSS) into the supervisor. */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The manifest keys of the supervisor's own settings, by plan field. */
const SUPERVISOR_KEYS: ReadonlyArray<[keyof SupervisorPlan, string]> = [
  ['runtimeDir', 'supervisor.runtimeDir'],
  ['logDir', 'supervisor.logs.dir'],
  ['logMaxBytes', 'supervisor.logs.maxSize'],
  ['logMaxFiles', 'supervisor.logs.maxFiles'],
  ['metrics', 'supervisor.metrics'],
  ['sampleIntervalMs', 'supervisor.sampleInterval'],
  ['onStateChange', 'supervisor.hooks.onStateChange'],
];

/** Which of the supervisor's own settings an edit changed (they apply when the supervisor restarts). */
export function changedSupervisorSettings(before: SupervisorPlan, after: SupervisorPlan): string[] {
  return SUPERVISOR_KEYS.filter(([field]) => JSON.stringify(before[field]) !== JSON.stringify(after[field])).map(([, key]) => key);
}
