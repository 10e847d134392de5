/** `clawfleet logs NAME [-n N] [-f]`: a gateway's captured output, across rotations. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { locateRuntimeDir } from '../control/locate.js';
import { followChildLog, readLastLines } from '../supervisor/child-log.js';
import { type CliContext, EXIT, loadContext, manifestFile } from './context.js';

/**
 * Reads the log files directly: they are the gateway's own, so logs work with no supervisor running.
 * The log dir is the runtime dir's unless the manifest moved it; then the manifest is read to find it.
 */
export async function runLogs(name: string, options: { config?: string; lines?: string; follow?: boolean }, ctx: CliContext): Promise<number> {
  const file = manifestFile(options.config, ctx);
  const manifestPath = path.resolve(ctx.cwd, file);
  const lc = loadContext(ctx);
  const count = options.lines !== undefined ? Number(options.lines) : 50;
  if (!Number.isInteger(count) || count < 0) {
    ctx.stderr(`-n takes a number of lines, not "${options.lines}"\n`);
    return EXIT.invalid;
  }
  let dir = path.join(locateRuntimeDir(manifestPath, lc.stateHome), 'logs');
  const { loadManifest } = await import('../manifest/load.js');
  const loaded = loadManifest(file, lc);
  if (loaded.ok) {
    dir = loaded.manifest.plan.supervisor.logDir;
    if (!loaded.manifest.plan.gateways.some((g) => g.name === name) && !existsSync(path.join(dir, `${name}.log`))) {
      ctx.stderr(`no gateway named "${name}" in ${file} (known: ${loaded.manifest.plan.gateways.map((g) => g.name).join(', ')})\n`);
      return EXIT.invalid;
    }
  }
  const log = { dir, name, maxBytes: Number.MAX_SAFE_INTEGER, maxFiles: 1000 };
  if (!existsSync(path.join(dir, `${name}.log`)) && !options.follow) {
    ctx.stderr(`no log yet for "${name}" (looked in ${dir})\n`);
    return EXIT.failure;
  }
  for (const line of readLastLines(log, count)) ctx.stdout(`${line}\n`);
  if (!options.follow) return EXIT.ok;
  const stop = followChildLog(log, (line) => ctx.stdout(`${line}\n`));
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  stop();
  return EXIT.ok;
}
