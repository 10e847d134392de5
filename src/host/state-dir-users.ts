/**
 * Which processes run with a given OPENCLAW_STATE_DIR, from /proc/<pid>/environ: when a gateway exits
 * 78 ("another instance owns this state"), this names the owner. Only processes this user may read are
 * seen; nothing is found off Linux.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { processCommand } from './listeners.js';
import { readProcStat } from '../supervisor/spawner.js';

/** A process found using the state dir. */
export interface StateDirUser {
  readonly pid: number;
  readonly command: string | undefined;
}

/** Processes whose environment sets OPENCLAW_STATE_DIR to `stateDir`, except members of process group `exceptGroup`. */
export function stateDirUsers(stateDir: string, exceptGroup: number): StateDirUser[] {
  const needle = `\0OPENCLAW_STATE_DIR=${stateDir}\0`;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const users: StateDirUser[] = [];
  for (const name of pids) {
    const pid = Number(name);
    if (pid === process.pid) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue; // gone, or not ours to read
    }
    if (!`\0${environ}`.includes(needle)) continue;
    const stat = readProcStat(pid);
    if (!stat || stat.pgrp === exceptGroup || stat.state === 'Z') continue;
    users.push({ pid, command: processCommand(pid) });
  }
  return users;
}
