/** What every command gets from the composition root: where to print and where the user is. */
import os from 'node:os';
import path from 'node:path';
import type { LoadContext } from '../manifest/load.js';

/** Exit codes of SPEC §1. */
export const EXIT = { ok: 0, failure: 1, invalid: 2, supervisor: 3 } as const;

/** Streams and process facts, passed in so commands can be run in-process by tests. */
export interface CliContext {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly isTTY: boolean;
}

/** The default manifest: `$CLAWFLEET_CONFIG`, else `config/fleet.yaml`. */
export function manifestFile(option: string | undefined, ctx: CliContext): string {
  return option ?? ctx.env.CLAWFLEET_CONFIG ?? path.join('config', 'fleet.yaml');
}

/** Home and state dirs the planner derives paths from. */
export function loadContext(ctx: CliContext): LoadContext {
  const home = ctx.env.HOME || os.homedir();
  const stateHome = ctx.env.XDG_STATE_HOME || path.join(home, '.local', 'state');
  return { home, stateHome, cwd: ctx.cwd };
}
