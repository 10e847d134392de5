/** Stops a gateway's whole process tree and waits for its ports: the killer adapter, no supervision decisions here. */
import { createServer } from 'node:net';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequire } from 'node:module';
import { canReadListeners, readListeners, type Listener } from '../host/listeners.js';
import { readProcStat, type ProcStat } from './spawner.js';

/** What to stop: a group leader, its group, and how long it may take to go gracefully. */
export interface StopRequest {
  pid: number;
  pgid: number;
  /** Sent once to the group; never SIGHUP or SIGUSR1. */
  signal: NodeJS.Signals;
  timeoutMs: number;
  /** Settles when the leader has exited (the spawner's `exited`). */
  exited: Promise<unknown>;
  /** The caller already saw the leader exit: spares a turn of the event loop on the way to a restart. */
  leaderExited?: boolean;
  /**
   * Processes seen in the tree earlier (pid → start ticks), e.g. by the resource sampler. A descendant
   * that left the group loses its link to the tree when the leader dies; these are found anyway.
   */
  known?: ReadonlyMap<number, number | undefined>;
}

/** How a stop went. */
export interface StopReport {
  /** The leader outlived timeoutMs and the group got SIGKILL. */
  escalated: boolean;
  /** Pids that outlived the stop (a group member after timeoutMs, a descendant outside the group after the leader) and were swept with SIGKILL. */
  leftovers: number[];
  /** Pids still alive when we gave up (timeoutMs + 5 s): empty when the tree is gone. */
  survivors: number[];
  /** Pids, or the group id, that we were not permitted to signal (EPERM). */
  denied: number[];
  durationMs: number;
}

const POLL_INTERVAL_MS = 25;
/** How often a stop rescans all of /proc for new members of the tree. */
const FULL_SCAN_INTERVAL_MS = 250;
// After SIGKILL the kernel still has to tear processes down (and D-state ones wait for I/O).
const KILL_GRACE_MS = 5_000;
// Never treated as part of a gateway's tree, whatever /proc says.
const PROTECTED_PIDS = new Set([0, 1]);

/** Whether a promise has already settled, without waiting for it. */
async function settledNow(promise: Promise<unknown>): Promise<boolean> {
  // setImmediate runs after every pending microtask, so a settled promise always wins the race.
  return Promise.race([promise.then(() => true, () => true), new Promise<boolean>((resolve) => setImmediate(() => resolve(false)))]);
}

/** Whether any process is left in a process group (zombies included: they are about to be reaped). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A process we track, recognised by its start time so that a recycled pid is never signalled. */
type Tracked = Map<number, number>;

/** Stops a gateway's whole process tree: `signal` to the process group, SIGKILL to the group after timeoutMs if the leader has not exited, then sweeps descendants that left the group with SIGKILL; resolves once the leader has exited and nothing of the group or the tree snapshotted before signalling is alive (deadline timeoutMs + 5 s). Never sends SIGHUP or SIGUSR1. */
export async function stopProcessTree(req: StopRequest): Promise<StopReport> {
  assertStoppable(req);
  const startedAt = performance.now();
  // A leader that already died with its whole group leaves nothing a scan could find: descendants that
  // left the group lost their link to it when it died. Skipping the scan keeps a crash's replacement fast.
  const knownAlive = [...(req.known ?? [])].filter(([pid, ticks]) => pid !== req.pid && !PROTECTED_PIDS.has(pid) && pid !== process.pid && ticks !== undefined && isSameProcess(pid, ticks));
  if (knownAlive.length === 0 && (req.leaderExited === true || (await settledNow(req.exited))) && !groupAlive(req.pgid)) {
    return report(startedAt, { escalated: false, leftovers: [], survivors: [], denied: [] });
  }
  const killAt = startedAt + req.timeoutMs;
  const giveUpAt = killAt + KILL_GRACE_MS;
  const procReadable = readProcStat(process.pid) !== undefined;
  const leaderTicks = readProcStat(req.pid)?.startTicks;
  // Taken before signalling: once the leader dies its children are reparented and the ppid links are lost.
  const tracked: Tracked = new Map();
  if (leaderTicks !== undefined) tracked.set(req.pid, leaderTicks);
  for (const [pid, ticks] of knownAlive) tracked.set(pid, ticks!);
  if (procReadable) extendTree(tracked, req.pgid, scanProc());

  let leaderExited = false;
  const leaderExit = req.exited.then(
    () => void (leaderExited = true),
    () => void (leaderExited = true),
  );
  const denied = new Set<number>();
  signalGroup(req.pgid, req.signal, denied);
  // As systemd does: a stopped (SIGSTOP, hung-in-debugger) tree can only act on the stop signal once continued.
  if (req.signal !== 'SIGKILL') signalGroup(req.pgid, 'SIGCONT', denied);

  let escalated = false;
  let groupKilled = false;
  const leftovers = new Set<number>();
  // Until the leader exits or its time is up there is nothing to sweep: wait without scanning, so a
  // thousand gateways stopping at once do not each read all of /proc every few milliseconds.
  await Promise.race([leaderExit, sleep(Math.max(0, killAt - performance.now()))]);
  let lastFullScan = Number.NEGATIVE_INFINITY;
  for (;;) {
    const now = performance.now();
    // Off Linux only the exit event tells; on Linux a reaped or recycled pid also means the leader is gone.
    const leaderGone = leaderExited || (procReadable && !isSameProcess(req.pid, leaderTicks));
    // A full scan finds members forked since the last one; in between, the tracked pids are checked one by one.
    const full = now - lastFullScan >= FULL_SCAN_INTERVAL_MS;
    if (full) lastFullScan = now;
    const alive = procReadable ? (full ? aliveMembers(tracked, req.pgid) : trackedAlive(tracked)) : [];
    if (leaderGone && alive.length === 0 && (full || !groupAlive(req.pgid))) break;
    if (now >= giveUpAt) {
      const survivors = leaderGone ? alive : [...new Set([req.pid, ...alive])];
      return report(startedAt, { escalated, leftovers: [...leftovers], survivors, denied: [...denied] });
    }
    if (!groupKilled && now >= killAt) {
      groupKilled = true;
      escalated = !leaderGone;
      signalGroup(req.pgid, 'SIGKILL', denied);
      if (!procReadable) sweepWithoutProc(req.pid);
    }
    // Group members got the stop signal and have until killAt; an escapee got nothing and is an orphan once the leader is gone.
    const sweepable = alive.filter((pid) => groupKilled || (leaderGone && !inGroup(pid, req.pgid)));
    for (const pid of sweepable) {
      killTracked(pid, tracked.get(pid), denied);
      if (pid !== req.pid) leftovers.add(pid);
    }
    await (leaderExited ? sleep(POLL_INTERVAL_MS) : Promise.race([sleep(POLL_INTERVAL_MS), leaderExit]));
  }
  return report(startedAt, { escalated, leftovers: [...leftovers], survivors: [], denied: [...denied] });
}

/** The supervisor's own process group, read once. */
let ownGroup: number | undefined;

/** Refuses pids that would hit init, everything (kill(-1)) or the supervisor itself: that would be a bug in the caller. */
function assertStoppable(req: StopRequest): void {
  if (!Number.isInteger(req.pid) || !Number.isInteger(req.pgid) || req.pid <= 1 || req.pgid <= 1) {
    throw new RangeError(`refusing to stop pid ${req.pid} / group ${req.pgid}`);
  }
  if (req.signal === 'SIGHUP' || req.signal === 'SIGUSR1') {
    throw new RangeError(`refusing to stop with ${req.signal}: OpenClaw dies without cleanup or opens its inspector`);
  }
  ownGroup ??= readProcStat(process.pid)?.pgrp ?? process.pid;
  if (req.pid === process.pid || req.pgid === process.pid || req.pgid === ownGroup) {
    throw new RangeError(`refusing to stop group ${req.pgid}: it is the supervisor's own`);
  }
}

function report(startedAt: number, outcome: Omit<StopReport, 'durationMs'>): StopReport {
  return { ...outcome, durationMs: Math.round(performance.now() - startedAt) };
}

/** Signals the whole group; ESRCH means it is already gone, EPERM is recorded as a pid we could not stop. */
function signalGroup(pgid: number, signal: NodeJS.Signals, denied: Set<number>): void {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EPERM') denied.add(pgid);
  }
}

/** SIGKILLs pid if it is still the process we tracked (a recycled pid is left alone); ESRCH means it beat us to it. */
function killTracked(pid: number, ticks: number | undefined, denied: Set<number>): void {
  if (!isSameProcess(pid, ticks)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EPERM') denied.add(pid);
  }
}

/** Without /proc we cannot follow escapees ourselves: let tree-kill walk `ps` from the leader while it still exists. */
function sweepWithoutProc(pid: number): void {
  // Loaded through require: importing a CommonJS package from ESM makes Node parse its source for exports.
  const treeKill = createRequire(import.meta.url)('tree-kill') as typeof import('tree-kill');
  treeKill(pid, 'SIGKILL', () => {});
}

/** Whether pid still names the process that had these start ticks (unknown ticks: whether it exists at all). */
function isSameProcess(pid: number, ticks: number | undefined): boolean {
  const stat = readProcStat(pid);
  if (stat === undefined) return false;
  return ticks === undefined || stat.startTicks === ticks;
}

function isDead(stat: ProcStat): boolean {
  return stat.state === 'Z' || stat.state === 'X';
}

function inGroup(pid: number, pgid: number): boolean {
  return readProcStat(pid)?.pgrp === pgid;
}

/** Every process in /proc, by pid. */
/**
 * One scan of /proc serves every stop begun in the same turn of the event loop: a fleet stopping at
 * once scans it once, not once per gateway, and a later stop never sees a stale picture.
 */
let sameTurnScan: Map<number, ProcStat> | undefined;

function scanProc(): Map<number, ProcStat> {
  if (!sameTurnScan) {
    sameTurnScan = scanProcNow();
    setImmediate(() => {
      sameTurnScan = undefined;
    });
  }
  return sameTurnScan;
}

function scanProcNow(): Map<number, ProcStat> {
  const stats = new Map<number, ProcStat>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return stats;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name));
    if (stat !== undefined) stats.set(stat.pid, stat);
  }
  return stats;
}

/** Adds to tracked the group's members and every descendant of a tracked process (transitively). */
function extendTree(tracked: Tracked, pgid: number, stats: Map<number, ProcStat>): void {
  for (const stat of stats.values()) {
    if (stat.pgrp === pgid && !isDead(stat)) tracked.set(stat.pid, stat.startTicks);
  }
  const children = new Map<number, ProcStat[]>();
  for (const stat of stats.values()) {
    const siblings = children.get(stat.ppid) ?? [];
    siblings.push(stat);
    children.set(stat.ppid, siblings);
  }
  const queue = [...tracked.keys()];
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    for (const child of children.get(next) ?? []) {
      if (tracked.get(child.pid) === child.startTicks) continue;
      tracked.set(child.pid, child.startTicks);
      queue.push(child.pid);
    }
  }
  for (const guarded of [...PROTECTED_PIDS, process.pid]) tracked.delete(guarded);
}

/** Forgets tracked pids that are gone or now name another process, so that neither they nor their children are followed. */
function pruneGone(tracked: Tracked, stats: Map<number, ProcStat>): void {
  for (const [member, ticks] of tracked) {
    if (stats.get(member)?.startTicks !== ticks) tracked.delete(member);
  }
}

/** The tracked pids that are still the same live process, without scanning /proc. */
function trackedAlive(tracked: Tracked): number[] {
  return [...tracked.keys()].filter((pid) => {
    const stat = readProcStat(pid);
    return stat !== undefined && !isDead(stat) && stat.startTicks === tracked.get(pid);
  });
}

/** Tracked processes (plus any new member or descendant) that are still alive and not zombies. */
function aliveMembers(tracked: Tracked, pgid: number): number[] {
  const stats = scanProc();
  pruneGone(tracked, stats);
  extendTree(tracked, pgid, stats);
  return [...tracked.keys()].filter((member) => {
    const stat = stats.get(member);
    return stat !== undefined && !isDead(stat);
  });
}

/** Pids of the process group pgid and of all descendants of pid, from /proc. */
export function treeMembers(pid: number, pgid: number): number[] {
  const stats = scanProc();
  const tracked: Tracked = new Map();
  const leader = stats.get(pid);
  if (leader !== undefined) tracked.set(pid, leader.startTicks);
  extendTree(tracked, pgid, stats);
  return [...tracked.keys()].filter((member) => {
    const stat = stats.get(member);
    return stat !== undefined && !isDead(stat);
  });
}

/** Resolves true once nothing listens on 127.0.0.1/::/0.0.0.0 at `port` (check by reading /proc/net/tcp and tcp6 for LISTEN state 0A on that port; off Linux, try binding a server to it and closing it), false after timeoutMs. Poll every 25 ms. */
export async function waitForPortFree(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  const useProc = canReadListeners();
  for (;;) {
    const busy = useProc ? hasBlockingListener(port) : !(await canBind(port));
    if (!busy) return true;
    if (performance.now() >= deadline) return false;
    await sleep(POLL_INTERVAL_MS);
  }
}

/** Whether a listener holds port on an address a loopback gateway would collide with (loopback or wildcard, v4 or v6). */
function hasBlockingListener(port: number): boolean {
  return readListeners({ ports: new Set([port]) }).some(isLoopbackOrWildcard);
}

function isLoopbackOrWildcard(listener: Listener): boolean {
  const address = listener.address;
  return (
    address === '0.0.0.0' ||
    address.startsWith('127.') ||
    address === '::' ||
    address === '::1' ||
    // An IPv4-mapped loopback address, as /proc/net/tcp6 shows ::ffff:127.x.y.z.
    /^0:0:0:0:0:ffff:7f/.test(address)
  );
}

/** Tries to listen on 127.0.0.1:port and closes again; true when that worked. */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolveBind) => {
    const server = createServer();
    server.once('error', () => resolveBind(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolveBind(true)));
  });
}
