/**
 * `clawfleet up`: runs the fleet in the foreground until SIGTERM or SIGINT, then stops it, rescue last.
 * Edits of the manifest (and of its envFiles), SIGHUP and `clawfleet reload` re-read it: a valid edit
 * rolls out one gateway at a time, an invalid one changes nothing.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { EventSink } from '../logging/events.js';
import { createLogger, loggingSink } from '../logging/logger.js';
import { PlanLoader } from '../manifest/load-isolated.js';
import type { LoadedManifest } from '../manifest/load.js';
import { formatProblem } from '../manifest/problems.js';
import { rotateChildLog } from '../supervisor/child-log.js';
import { type ManifestWatcher, watchManifest } from '../supervisor/manifest-watcher.js';
import { logOptions, realRunnerDeps } from '../supervisor/real-deps.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { type CliContext, EXIT, loadContext, manifestFile } from './context.js';
import { reportProblems } from './report.js';

/** How often child logs are checked against their size cap; the timer also keeps the supervisor's event loop alive. */
const LOG_ROTATE_CHECK_MS = 5_000;

/** Where a running supervisor leaves its pid, so `clawfleet reload` can find it. */
export function pidFile(runtimeDir: string): string {
  return path.join(runtimeDir, 'supervisor.pid');
}

/** Resolves with the first stop signal. */
function nextStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(signal);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/** Files whose edits change the fleet: the manifest and every envFile it names. */
function watchedFiles(manifest: LoadedManifest): string[] {
  const envFiles = manifest.plan.gateways.flatMap((g) => (g.envFile ? [g.envFile] : []));
  return [manifest.plan.manifestPath, ...new Set(envFiles)];
}

/**
 * Serialises reloads: one load at a time, and a request that arrives during a load is run once after
 * it (latest wins), so no edit is lost and none is applied out of order.
 */
class Reloader {
  private busy = false;
  private again: string | undefined;
  envFiles: LoadedManifest['envFiles'];

  constructor(
    private readonly file: string,
    private readonly display: string,
    private readonly loader: PlanLoader,
    private readonly supervisor: Supervisor,
    private readonly onAccepted: (manifest: LoadedManifest) => void,
    initial: LoadedManifest,
  ) {
    this.envFiles = initial.envFiles;
  }

  async reload(trigger: string): Promise<void> {
    if (this.busy) {
      this.again = trigger;
      return;
    }
    this.busy = true;
    try {
      const result = await this.loader.load(this.file, this.display);
      if (!result.ok) this.supervisor.rejectManifest(result.problems.map(formatProblem), trigger);
      else {
        this.envFiles = result.manifest.envFiles;
        this.onAccepted(result.manifest);
        void this.supervisor.applyManifest(result.manifest, trigger);
      }
    } finally {
      this.busy = false;
    }
    const again = this.again;
    this.again = undefined;
    if (again !== undefined) await this.reload(again);
  }
}

/** Runs the supervisor; returns the exit code. */
export async function runUp(options: { config?: string }, ctx: CliContext): Promise<number> {
  const file = manifestFile(options.config, ctx);
  const absolute = path.resolve(ctx.cwd, file);
  const loader = new PlanLoader(loadContext(ctx));
  const loaded = await loader.load(absolute, file);
  if (!loaded.ok) {
    reportProblems(loaded.problems, ctx);
    return EXIT.invalid;
  }
  const { plan } = loaded.manifest;
  try {
    mkdirSync(plan.supervisor.runtimeDir, { recursive: true, mode: 0o700 });
    mkdirSync(plan.supervisor.logDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    ctx.stderr(`cannot create the runtime dir ${plan.supervisor.runtimeDir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}\n`);
    return EXIT.failure;
  }

  const logger = createLogger({ pretty: ctx.isTTY, level: ctx.env.CLAWFLEET_LOG_LEVEL });
  const emit = loggingSink(logger);
  let reloader: Reloader | undefined;
  const deps = realRunnerDeps({ supervisor: plan.supervisor, env: ctx.env, envFiles: () => reloader?.envFiles ?? loaded.manifest.envFiles, emit });
  const supervisor = new Supervisor(loaded.manifest, deps);

  let watcher: ManifestWatcher | undefined;
  reloader = new Reloader(absolute, file, loader, supervisor, (manifest) => watcher?.watch(watchedFiles(manifest)), loaded.manifest);
  const onHangup = (): void => void reloader!.reload('SIGHUP');
  process.on('SIGHUP', onHangup);
  watcher = await startWatcher(loaded.manifest, loader, reloader, emit, logger);

  const rotation = setInterval(() => {
    for (const gateway of supervisor.plan.gateways) {
      const log = logOptions(plan.supervisor, gateway.name);
      if (rotateChildLog(log)) emit({ type: 'log-rotated', gateway: gateway.name, file: `${log.dir}/${log.name}.log` });
    }
  }, LOG_ROTATE_CHECK_MS);

  const pidPath = pidFile(plan.supervisor.runtimeDir);
  writeFileSync(pidPath, `${process.pid}\n`, { mode: 0o600 });
  const stopping = nextStopSignal();
  emit({ type: 'supervisor-started', manifest: plan.manifestPath, runtimeDir: plan.supervisor.runtimeDir, gateways: plan.gateways.length, pid: process.pid });
  await supervisor.start();

  const signal = await stopping;
  const began = Date.now();
  emit({ type: 'supervisor-stopping', signal });
  const again = (): void => logger.warn('already stopping: each gateway gets SIGKILL once its stop timeout has passed');
  process.on('SIGTERM', again);
  process.on('SIGINT', again);
  await watcher?.close();
  loader.dispose();
  await supervisor.shutdown(`supervisor received ${signal}`);
  clearInterval(rotation);
  rmSync(pidPath, { force: true });
  emit({ type: 'supervisor-stopped', durationMs: Date.now() - began, leftovers: 0 });
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  return EXIT.ok;
}

async function startWatcher(manifest: LoadedManifest, loader: PlanLoader, reloader: Reloader, emit: EventSink, logger: Logger): Promise<ManifestWatcher | undefined> {
  try {
    return await watchManifest(watchedFiles(manifest), {
      onFirstChange: () => loader.prepare(),
      onSettled: (files) => void reloader.reload(`edit of ${files.map((f) => path.basename(f)).join(', ')}`),
      onError: (error) => emit({ type: 'internal-error', where: 'manifest watcher', message: error.message }),
    });
  } catch (error) {
    logger.warn(`cannot watch the manifest (${(error as Error).message}); edits apply on SIGHUP or \`clawfleet reload\``);
    return undefined;
  }
}
