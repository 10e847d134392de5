/**
 * What the supervisor runs, on disk (written atomically), so the next supervisor of the same manifest
 * can take its gateways over instead of starting duplicates: per gateway its pid, process group, start
 * time as /proc knows it, command line, spec hash and base port.
 */
import { readFileSync, readlinkSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { processCommand } from '../host/listeners.js';
import { readProcStat } from './spawner.js';

/** One running gateway as recorded. */
export interface RecordedGateway {
  readonly pid: number;
  readonly pgid: number;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22): a reused pid has another. */
  readonly startTicks: number | undefined;
  readonly command: string | undefined;
  /** The executable (/proc/<pid>/exe): unlike the command line, a process cannot rename it. */
  readonly exe: string | undefined;
  readonly specHash: string;
  readonly port: number;
  readonly startedAt: number;
  /** Restarts so far; absent in files of older versions. */
  readonly restarts?: number;
}

/** The whole file. */
export interface RecordedFleet {
  readonly version: 1;
  readonly supervisorPid: number;
  /** The kernel's boot id: after a reboot no recorded process can be alive. */
  readonly bootId: string | undefined;
  readonly gateways: Record<string, RecordedGateway>;
}

/** The state file of a runtime dir. */
export function stateFilePath(runtimeDir: string): string {
  return path.join(runtimeDir, 'state.json');
}

/** Reads the state file; undefined when there is none or it cannot be read. */
export function readStateFile(runtimeDir: string): RecordedFleet | undefined {
  try {
    const data = JSON.parse(readFileSync(stateFilePath(runtimeDir), 'utf8')) as RecordedFleet;
    return data.version === 1 && typeof data.gateways === 'object' ? data : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the state file atomically: a reader sees the old file or the new one, never half of one. */
export function writeStateFile(runtimeDir: string, fleet: RecordedFleet): void {
  const file = stateFilePath(runtimeDir);
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(fleet, null, 1)}\n`, { mode: 0o600 });
  renameSync(temp, file);
}

/**
 * Whether a recorded gateway is still the very same process: alive (not a zombie), the same start time
 * and the same command line, so a pid the kernel gave to something else is never taken for it.
 */
export function isSameProcess(record: RecordedGateway, fleet: RecordedFleet): boolean {
  if (fleet.bootId !== undefined && fleet.bootId !== bootId()) return false;
  const stat = readProcStat(record.pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X') return false;
  if (record.startTicks === undefined || stat.startTicks !== record.startTicks) return false;
  // A gateway may retitle itself (OpenClaw becomes `openclaw-gateway`): the executable still tells.
  return processCommand(record.pid) === record.command || executable(record.pid) === record.exe;
}

/** The executable behind a pid, when /proc tells it. */
export function executable(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

/** The kernel's boot id, when /proc tells it. */
export function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** A recorded process's exit, noticed by polling: it is not a child of this supervisor. */
export function pollExit(pid: number, startTicks: number | undefined, everyMs = 200): Promise<{ code: null; signal: null }> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const stat = readProcStat(pid);
      if (!stat || stat.state === 'Z' || stat.state === 'X' || (startTicks !== undefined && stat.startTicks !== startTicks)) {
        clearInterval(timer);
        resolve({ code: null, signal: null });
      }
    }, everyMs);
    timer.unref();
  });
}
