/**
 * Loads a manifest in a short-lived child process. The parser and the schema library stay out of the
 * long-running supervisor's memory (they cost about 20 MB of RSS there); only the plan comes back.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadContext, LoadedManifest, LoadResult } from './load.js';

const CLI_PATH = fileURLToPath(new URL('../cli.js', import.meta.url));
/** A manifest of a thousand gateways plans in well under a second; this bound only catches a wedged child. */
const LOAD_TIMEOUT_MS = 30_000;
const MAX_PLAN_BYTES = 256 * 1024 * 1024;

/** The wire form of a load result: maps become entry lists. */
export type SerializedLoad =
  | { ok: true; manifest: Omit<LoadedManifest, 'envFiles'> & { envFiles: Array<[string, Record<string, string>]> } }
  | { ok: false; problems: Extract<LoadResult, { ok: false }>['problems'] };

/** Turns a load result into JSON-safe data (secrets included: it only travels over a pipe to the parent). */
export function serializeLoad(result: LoadResult): SerializedLoad {
  if (!result.ok) return result;
  return { ok: true, manifest: { ...result.manifest, envFiles: [...result.manifest.envFiles.entries()] } };
}

/** Loads `file` in a child `clawfleet __plan`; resolves with the same result `loadManifest` would give. */
export function loadManifestIsolated(file: string, ctx: LoadContext): Promise<LoadResult> {
  const absolute = path.resolve(ctx.cwd, file);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI_PATH, '__plan', '-c', absolute, '--display', file],
      {
        cwd: ctx.cwd,
        env: { PATH: process.env.PATH ?? '', HOME: ctx.home, XDG_STATE_HOME: ctx.stateHome },
        maxBuffer: MAX_PLAN_BYTES,
        timeout: LOAD_TIMEOUT_MS,
        killSignal: 'SIGKILL',
      },
      (error, stdout, stderr) => {
        try {
          const data = JSON.parse(stdout) as SerializedLoad;
          if (!data.ok) return resolve(data);
          return resolve({ ok: true, manifest: { ...data.manifest, envFiles: new Map(data.manifest.envFiles) } });
        } catch {
          const why = error ? (error.killed ? 'timed out' : error.message.split('\n')[0]) : 'no answer';
          return resolve({ ok: false, problems: [{ file, path: [], message: `could not load the manifest (${why}) ${stderr.trim().split('\n')[0] ?? ''}`.trim() }] });
        }
      },
    );
  });
}
