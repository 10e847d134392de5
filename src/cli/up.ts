/** `clawfleet up`: runs the fleet in the foreground until SIGTERM or SIGINT, then stops it, rescue last. */
import { mkdirSync } from 'node:fs';
import { createLogger, loggingSink } from '../logging/logger.js';
import { loadManifestIsolated } from '../manifest/load-isolated.js';
import { rotateChildLog } from '../supervisor/child-log.js';
import { logOptions, realRunnerDeps } from '../supervisor/real-deps.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { type CliContext, EXIT, loadContext, manifestFile } from './context.js';
import { reportProblems } from './report.js';

/** How often child logs are checked against their size cap; the timer also keeps the supervisor's event loop alive. */
const LOG_ROTATE_CHECK_MS = 5_000;

/** Resolves with the first stop signal; SIGHUP (a closed terminal, or a reload request) never stops the fleet. */
function nextStopSignal(onHangup: () => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(signal);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', onHangup);
  });
}

/** Runs the supervisor; returns the exit code. */
export async function runUp(options: { config?: string }, ctx: CliContext): Promise<number> {
  const file = manifestFile(options.config, ctx);
  const loaded = await loadManifestIsolated(file, loadContext(ctx));
  if (!loaded.ok) {
    reportProblems(loaded.problems, ctx);
    return EXIT.invalid;
  }
  const { plan, envFiles } = loaded.manifest;
  try {
    mkdirSync(plan.supervisor.runtimeDir, { recursive: true, mode: 0o700 });
    mkdirSync(plan.supervisor.logDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    ctx.stderr(`cannot create the runtime dir ${plan.supervisor.runtimeDir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}\n`);
    return EXIT.failure;
  }

  const logger = createLogger({ pretty: ctx.isTTY, level: ctx.env.CLAWFLEET_LOG_LEVEL });
  const emit = loggingSink(logger);
  const supervisor = new Supervisor(plan, realRunnerDeps({ supervisor: plan.supervisor, env: ctx.env, envFiles, emit }));

  const rotation = setInterval(() => {
    for (const gateway of plan.gateways) {
      const log = logOptions(plan.supervisor, gateway.name);
      if (rotateChildLog(log)) emit({ type: 'log-rotated', gateway: gateway.name, file: `${log.dir}/${log.name}.log` });
    }
  }, LOG_ROTATE_CHECK_MS);

  const stopping = nextStopSignal(() => logger.info({ event: 'sighup' }, 'SIGHUP received: the fleet keeps running'));
  emit({ type: 'supervisor-started', manifest: plan.manifestPath, runtimeDir: plan.supervisor.runtimeDir, gateways: plan.gateways.length, pid: process.pid });
  await supervisor.start();

  const signal = await stopping;
  const began = Date.now();
  emit({ type: 'supervisor-stopping', signal });
  const again = (): void => logger.warn('already stopping: each gateway gets SIGKILL once its stop timeout has passed');
  process.on('SIGTERM', again);
  process.on('SIGINT', again);
  await supervisor.shutdown(`supervisor received ${signal}`);
  clearInterval(rotation);
  emit({ type: 'supervisor-stopped', durationMs: Date.now() - began, leftovers: 0 });
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  return EXIT.ok;
}
