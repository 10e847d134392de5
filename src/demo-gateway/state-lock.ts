import fs from 'node:fs';

/** Outcome of trying to own a state dir's lock file. */
export type LockClaim = { kind: 'acquired' } | { kind: 'held'; pid: number };

// Stale-lock reclaim can race with another reclaimer; a few rounds settle it.
const MAX_CLAIM_ATTEMPTS = 5;
// A lock is created empty (O_EXCL) and its pid written right after: give the writer this long.
const HALF_WRITTEN_RETRIES = 5;
const HALF_WRITTEN_WAIT_MS = 10;

// Takes `lockPath` for `ownPid` with O_EXCL, reclaiming it when its recorded pid is dead.
export function acquireStateLock(lockPath: string, ownPid: number, isAlive: (pid: number) => boolean = isPidAlive): LockClaim {
  for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
    if (tryCreateLock(lockPath, ownPid)) return { kind: 'acquired' };
    const holder = readLockPid(lockPath);
    // Our own pid in an old lock means pid reuse (containers restart at low pids): stale.
    if (holder !== undefined && holder !== ownPid && isAlive(holder)) return { kind: 'held', pid: holder };
    removeIfPresent(lockPath);
  }
  throw new Error(`could not take ${lockPath}: it keeps reappearing`);
}

// Removes the lock only while it still names us, so we never delete a successor's lock.
export function releaseStateLock(lockPath: string, ownPid: number): void {
  if (readLockPid(lockPath) === ownPid) removeIfPresent(lockPath);
}

// Liveness as `kill -0` sees it (EPERM: alive, someone else's), except that a zombie is dead.
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

// A killed gateway stays a zombie until its parent reaps it; its lock is stale already.
// Only Linux exposes this cheaply; elsewhere a zombie counts as alive.
function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

function tryCreateLock(lockPath: string, ownPid: number): boolean {
  let fd: number;
  try {
    fd = fs.openSync(lockPath, 'wx', 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    fs.writeSync(fd, `${ownPid}\n`);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

function readLockPid(lockPath: string): number | undefined {
  for (let attempt = 0; attempt <= HALF_WRITTEN_RETRIES; attempt++) {
    let text: string;
    try {
      text = fs.readFileSync(lockPath, 'utf8');
    } catch {
      return undefined;
    }
    const pid = Number(text.trim());
    if (Number.isInteger(pid) && pid > 0) return pid;
    sleepSync(HALF_WRITTEN_WAIT_MS);
  }
  return undefined;
}

function removeIfPresent(lockPath: string): void {
  try {
    fs.unlinkSync(lockPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
