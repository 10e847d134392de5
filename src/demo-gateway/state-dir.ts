import fs from 'node:fs';
import path from 'node:path';
import { acquireStateLock, releaseStateLock } from './state-lock.js';

/** What demo-gateway.json records, so tests and demos can see how the gateway was started. */
export interface GatewayInfo {
  pid: number;
  port: number;
  startedAt: string;
  cwd: string;
  env: Record<string, string | null>;
}

/** Owning a state dir: either ours until `release`, or held by a live `pid`. */
export type StateDirClaim = { kind: 'claimed'; release: () => void } | { kind: 'held'; pid: number };

export const LOCK_FILE = 'gateway.lock';
export const INFO_FILE = 'demo-gateway.json';

// Creates the state dir, takes its lock and records the gateway's info, like OpenClaw's ownership lock.
export function claimStateDir(stateDir: string, info: GatewayInfo): StateDirClaim {
  fs.mkdirSync(stateDir, { recursive: true });
  const lockPath = path.join(stateDir, LOCK_FILE);
  const lock = acquireStateLock(lockPath, info.pid);
  if (lock.kind === 'held') return lock;
  const release = (): void => releaseStateLock(lockPath, info.pid);
  try {
    writeInfoFile(path.join(stateDir, INFO_FILE), info);
  } catch (error) {
    release();
    throw error;
  }
  return { kind: 'claimed', release };
}

// Written via rename so a poller never reads half a file.
function writeInfoFile(infoPath: string, info: GatewayInfo): void {
  const tmpPath = `${infoPath}.${info.pid}.tmp`;
  fs.writeFileSync(tmpPath, `${JSON.stringify(info, null, 2)}\n`);
  fs.renameSync(tmpPath, infoPath);
}
