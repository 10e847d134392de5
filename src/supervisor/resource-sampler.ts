/** Samples CPU and memory of whole gateway process trees: the sampler adapter around pidusage, no supervision decisions here. */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { readProcStat, type ProcStat } from './spawner.js';

// Loaded through require: importing a CommonJS package from ESM makes Node parse its source for exports.
let pidusageModule: typeof import('pidusage') | undefined;
type PidStatus = import('pidusage').Status;
const pidusage = (): typeof import('pidusage') => (pidusageModule ??= createRequire(import.meta.url)('pidusage') as typeof import('pidusage'));

/** What one gateway's process tree uses right now. */
export interface TreeUsage {
  /** Percent of one core, summed over the tree (a tree busy on two cores shows 200); a process seen for the first time counts 0. */
  cpuPercent: number;
  /** Resident set size summed over the tree; pages shared between its processes count once per process. */
  memoryBytes: number;
  /** Processes that were measured. */
  processes: number;
  /** Every process of the tree by pid, with its start time in clock ticks (to recognise it later). */
  members: Map<number, number | undefined>;
}

/** One tree to sample: its leader, its process group, and the key it is reported under. */
export interface TreeRoot {
  key: string;
  pid: number;
  pgid: number;
}

// pidusage keeps, per pid, the last CPU times and an open fd on /proc/<pid>/stat; an entry unused for this long is dropped and its fd closed.
// It must exceed the sampling interval, or every sample would start the CPU delta afresh and read 0.
const HISTORY_MAX_AGE_MS = 30_000;
// pidusage reuses that fd, so a pid that died and was recycled into one of our trees would fail to read (ESRCH) for as long as we keep asking.
// Leaving such a pid out for longer than the entry lives (max age, plus up to max age / 2 until pidusage's sweep runs) lets it expire.
const QUARANTINE_MS = 3 * HISTORY_MAX_AGE_MS;

// Pids that /proc listed but pidusage could not read in the previous sample.
const unreadable = new Set<number>();
// Pids left out of sampling, until the time (performance.now()) their stale pidusage entry has surely expired.
const quarantined = new Map<number, number>();

/** Samples many trees with ONE pidusage call over all their pids (cheap at 1 000 gateways); a tree whose processes all vanished is absent from the result; never throws. cpuPercent is % of one core summed over the tree. */
export async function sampleTrees(roots: ReadonlyArray<TreeRoot>): Promise<Map<string, TreeUsage>> {
  const usage = new Map<string, TreeUsage>();
  try {
    const { members, ticks } = listTrees(roots);
    const trees = roots.map((root, i) => ({ key: root.key, pids: members[i] ?? [] }));
    const now = performance.now();
    forgetExpiredQuarantine(now);
    const listed = new Set(trees.flatMap((tree) => tree.pids));
    const wanted = [...listed].filter((pid) => !isQuarantined(pid, now));
    const stats = await readStats(wanted);
    rememberUnreadable(wanted, stats, now);
    for (const tree of trees) {
      const total = sumTree(tree.pids, stats);
      if (total !== undefined) usage.set(tree.key, { ...total, members: new Map(tree.pids.map((pid) => [pid, ticks.get(pid)])) });
    }
  } catch {
    // A sampler failure must never take supervision down: whatever was measured so far is reported, the rest is absent.
  }
  return usage;
}

/**
 * The pids of each tree: the members of its process group and every descendant of its leader, as process-tree's treeMembers
 * finds them, but from ONE scan of /proc for all trees (treeMembers scans /proc per call: 17 s for 1 000 gateways).
 * Without /proc (macOS, BSD) only the leader can be found, so only the leader is measured.
 */
function listTrees(roots: ReadonlyArray<TreeRoot>): { members: number[][]; ticks: Map<number, number> } {
  if (!hasProc()) return { members: roots.map((root) => [root.pid]), ticks: new Map() };
  const stats = scanProc();
  const ticks = new Map<number, number>();
  for (const stat of stats.values()) ticks.set(stat.pid, stat.startTicks);
  const children = new Map<number, number[]>();
  const groups = new Map<number, number[]>();
  for (const stat of stats.values()) {
    append(children, stat.ppid, stat.pid);
    if (!isDead(stat)) append(groups, stat.pgrp, stat.pid);
  }
  const members = roots.map((root) => {
    const seen = new Set<number>(stats.has(root.pid) ? [root.pid] : []);
    for (const member of groups.get(root.pgid) ?? []) seen.add(member);
    const queue = [...seen];
    for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
      for (const child of children.get(next) ?? []) {
        if (seen.has(child)) continue;
        seen.add(child);
        queue.push(child);
      }
    }
    // Never measure init or ourselves as part of a gateway, whatever /proc says.
    return [...seen].filter((pid) => pid > 1 && pid !== process.pid && !isDead(stats.get(pid)));
  });
  return { members, ticks };
}

let procAvailable: boolean | undefined;
function hasProc(): boolean {
  procAvailable ??= existsSync('/proc/self/stat');
  return procAvailable;
}

/** Every process in /proc, by pid; one that exits while we read is simply left out. */
function scanProc(): Map<number, ProcStat> {
  const stats = new Map<number, ProcStat>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return stats;
  }
  for (const name of names) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    const stat = readProcStat(Number(name));
    if (stat !== undefined) stats.set(stat.pid, stat);
  }
  return stats;
}

function isDead(stat: ProcStat | undefined): boolean {
  return stat === undefined || stat.state === 'Z' || stat.state === 'X';
}

function append(index: Map<number, number[]>, key: number, value: number): void {
  const values = index.get(key);
  if (values === undefined) index.set(key, [value]);
  else values.push(value);
}

/** One pidusage call for all pids; a pid that vanished between listing and reading is simply missing from the result. */
async function readStats(pids: number[]): Promise<Map<number, PidStatus>> {
  const stats = new Map<number, PidStatus>();
  if (pids.length === 0) return stats;
  let raw: Partial<Record<string, PidStatus | null>>;
  try {
    // pidusage rejects the whole call when its only pid is gone; with several it leaves the missing ones empty.
    raw = await pidusage()([...pids], { maxage: HISTORY_MAX_AGE_MS });
  } catch {
    return stats;
  }
  for (const pid of pids) {
    const stat = raw[pid];
    if (stat && Number.isFinite(stat.cpu) && Number.isFinite(stat.memory)) stats.set(pid, stat);
  }
  return stats;
}

/** A pid unreadable twice in a row while /proc still lists it holds a stale pidusage entry: quarantine it so the entry can expire. */
function rememberUnreadable(wanted: number[], stats: Map<number, PidStatus>, now: number): void {
  const failed = wanted.filter((pid) => !stats.has(pid));
  for (const pid of failed) {
    if (unreadable.has(pid)) quarantined.set(pid, now + QUARANTINE_MS);
  }
  unreadable.clear();
  for (const pid of failed) if (!quarantined.has(pid)) unreadable.add(pid);
}

function isQuarantined(pid: number, now: number): boolean {
  return (quarantined.get(pid) ?? 0) > now;
}

// Swept every sample so that pids which never come back do not pile up.
function forgetExpiredQuarantine(now: number): void {
  for (const [pid, until] of quarantined) if (until <= now) quarantined.delete(pid);
}

function sumTree(pids: number[], stats: Map<number, PidStatus>): TreeUsage | undefined {
  let total: TreeUsage | undefined;
  for (const pid of pids) {
    const stat = stats.get(pid);
    if (stat === undefined) continue;
    total ??= { cpuPercent: 0, memoryBytes: 0, processes: 0, members: new Map() };
    total.cpuPercent += stat.cpu;
    total.memoryBytes += stat.memory;
    total.processes += 1;
  }
  return total;
}
