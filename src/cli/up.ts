/**
 * `clawfleet up`: runs the fleet in the foreground until SIGTERM or SIGINT, then stops it, rescue last.
 * Edits of the manifest (and of its envFiles), SIGHUP and `clawfleet reload` re-read it: a valid edit
 * rolls out one gateway at a time, an invalid one changes nothing. The control socket in the runtime
 * dir answers `status`, `start`, `stop`, `restart` and `reload`.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import type { Logger } from 'pino';
import { handleControl } from '../control/handler.js';
import { writeRuntimePointer } from '../control/locate.js';
import { SOCKET_NAME } from '../control/protocol.js';
import { listenControl } from '../control/server.js';
import type { EventSink } from '../logging/events.js';
import { createLogger, loggingSink } from '../logging/logger.js';
import { PlanLoader } from '../manifest/load-isolated.js';
import type { LoadedManifest } from '../manifest/load.js';
import { rotateChildLog } from '../supervisor/child-log.js';
import { type ManifestWatcher, watchManifest } from '../supervisor/manifest-watcher.js';
import { logOptions, realRunnerDeps } from '../supervisor/real-deps.js';
import { changedSupervisorSettings } from '../supervisor/reconcile.js';
import { Reloader } from '../supervisor/reloader.js';
import { type HoldStore, Supervisor } from '../supervisor/supervisor.js';
import { type CliContext, EXIT, loadContext, manifestFile } from './context.js';
import { reportProblems } from './report.js';
import { Maintenance } from '../supervisor/maintenance.js';
import { StateHookRunner } from '../supervisor/state-hook.js';
import { readStateFile, writeStateFile } from '../supervisor/state-file.js';
import { isoTime } from '../util/iso-time.js';

/** A state-change hook that runs longer than this is killed: it must never hold supervision up. */
const HOOK_TIMEOUT_MS = 30_000;

/** How often child logs are checked against their size cap; the timer also keeps the supervisor's event loop alive. */
const LOG_ROTATE_CHECK_MS = 5_000;

/**
 * Resolves with the first stop signal. SIGTERM and SIGINT stop the fleet; SIGUSR2 makes the supervisor
 * exit and leave every gateway running, for an upgrade: the next `up` adopts them.
 */
function nextStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      process.off('SIGUSR2', stop);
      resolve(signal);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGUSR2', stop);
  });
}

/** Files whose edits change the fleet: the manifest and every envFile it names. */
function watchedFiles(manifest: LoadedManifest): string[] {
  const envFiles = manifest.plan.gateways.flatMap((g) => (g.envFile ? [g.envFile] : []));
  return [manifest.plan.manifestPath, ...new Set(envFiles)];
}

/** The operator's stop overrides, in the runtime dir (written atomically). */
function holdFile(runtimeDir: string): HoldStore {
  const file = path.join(runtimeDir, 'stopped.json');
  return {
    load: () => {
      try {
        const names = JSON.parse(readFileSync(file, 'utf8')) as unknown;
        return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [];
      } catch {
        return [];
      }
    },
    save: (names) => {
      const temp = `${file}.${process.pid}.tmp`;
      writeFileSync(temp, `${JSON.stringify([...names].sort())}\n`, { mode: 0o600 });
      renameSync(temp, file);
    },
  };
}

/**
 * Up to this many gateways the supervisor trades V8's speed for memory; a larger fleet, whose CPU goes
 * on probes rather than on wakeups, keeps V8's defaults. Decided once, after the plan (the manifest is
 * parsed out of process) and before the fleet starts. Measured at 20 and 1 000 gateways:
 * - V8's baseline compiler (Sparkplug) keeps machine code for every warm function: ~0.8 MB of RSS at 20
 *   gateways, for no CPU there; at 1 000 it cuts the supervisor's CPU by a quarter (8.0 → 6.0 %).
 * - A young generation that may grow (V8's default) grows while the fleet starts and stays grown until
 *   V8's memory reducer runs, seconds later: +5 MB of RSS at 20 gateways. At 1 000, an ungrown one
 *   collects so often that the supervisor's CPU rises from 6.0 to 8.7 % of a core.
 */
const LEAN_V8_MAX_GATEWAYS = 100;

/** Runs the supervisor; returns the exit code. */
export async function runUp(options: { config?: string }, ctx: CliContext): Promise<number> {
  const file = manifestFile(options.config, ctx);
  const absolute = path.resolve(ctx.cwd, file);
  const loadCtx = loadContext(ctx);
  const loader = new PlanLoader(loadCtx);
  const loaded = await loader.load(absolute, file);
  if (!loaded.ok) {
    reportProblems(loaded.problems, ctx);
    return EXIT.invalid;
  }
  const { plan } = loaded.manifest;
  if (plan.gateways.length <= LEAN_V8_MAX_GATEWAYS) setFlagsFromString('--no-sparkplug --semi-space-growth-factor=1');
  const runtimeDir = plan.supervisor.runtimeDir;
  try {
    mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
    mkdirSync(plan.supervisor.logDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    ctx.stderr(`cannot create the runtime dir ${runtimeDir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}\n`);
    return EXIT.failure;
  }

  const logger = createLogger({ pretty: ctx.isTTY, level: ctx.env.CLAWFLEET_LOG_LEVEL });
  const log = loggingSink(logger);
  let supervisor: Supervisor | undefined;
  const hooks = stateHooks(plan.supervisor.onStateChange, runtimeDir, ctx.env, (event) => log(event));
  const emit: EventSink = (event) => {
    log(event);
    if (hooks && event.type === 'transition') {
      hooks.notify({
        gateway: event.gateway,
        role: supervisor?.runner(event.gateway)?.role ?? 'main',
        from: event.from,
        to: event.to,
        reason: event.reason,
        pid: event.pid,
        at: isoTime(Date.now()),
      });
    }
  };
  let reloader: Reloader | undefined;
  const deps = realRunnerDeps({ supervisor: plan.supervisor, env: ctx.env, envFiles: () => reloader?.envFiles ?? loaded.manifest.envFiles, emit });
  supervisor = new Supervisor(loaded.manifest, deps, holdFile(runtimeDir), {
    load: () => readStateFile(runtimeDir),
    save: (fleet) => writeStateFile(runtimeDir, fleet),
  });
  const fleet = supervisor;
  const maintenance = new Maintenance(fleet, emit, plan.supervisor.sampleIntervalMs);
  const startedAt = new Date();

  let watcher: ManifestWatcher | undefined;
  reloader = new Reloader(absolute, file, loader, fleet, (manifest) => {
    const pending = changedSupervisorSettings(plan.supervisor, manifest.plan.supervisor);
    if (pending.length > 0) emit({ type: 'supervisor-settings-pending', keys: pending });
    watcher?.watch(watchedFiles(manifest));
    void maintenance.reschedule();
  }, loaded.manifest);
  const control = await listenControl(path.join(runtimeDir, SOCKET_NAME), (req) => handleControl(req, { supervisor: fleet, reloader: reloader!, startedAt }));
  if (!control.ok) {
    const who = control.running.pid !== undefined ? `${control.running.manifest} (pid ${control.running.pid})` : `${file} (it holds the lock but did not answer on ${path.join(runtimeDir, SOCKET_NAME)})`;
    ctx.stderr(`a supervisor is already running for ${who}; stop it first\n`);
    loader.dispose();
    return EXIT.supervisor;
  }
  // Only the supervisor that holds the runtime dir tells clients where it is.
  try {
    writeRuntimePointer(absolute, loadCtx.stateHome, runtimeDir);
  } catch (error) {
    logger.warn(`cannot leave a pointer to ${runtimeDir} for \`clawfleet status\` (${(error as NodeJS.ErrnoException).code ?? String(error)}); control commands find it by reading the manifest`);
  }
  process.on('SIGHUP', () => void reloader!.reload('SIGHUP'));
  watcher = await startWatcher(loaded.manifest, loader, reloader, emit, logger);

  const rotation = setInterval(() => {
    for (const gateway of fleet.plan.gateways) {
      const log = logOptions(plan.supervisor, gateway.name);
      if (rotateChildLog(log)) emit({ type: 'log-rotated', gateway: gateway.name, file: `${log.dir}/${log.name}.log` });
    }
  }, LOG_ROTATE_CHECK_MS);

  const metrics = plan.supervisor.metrics ? await startMetrics(plan.supervisor.metrics, fleet, emit) : undefined;
  const stopping = nextStopSignal();
  emit({ type: 'supervisor-started', manifest: plan.manifestPath, runtimeDir, gateways: plan.gateways.length, pid: process.pid });
  await fleet.start();
  await maintenance.start();

  const signal = await stopping;
  const began = Date.now();
  if (signal === 'SIGUSR2') {
    // Hand over: gateways keep running (and are recorded in the state file) for the next supervisor.
    logger.info({ event: 'handover' }, 'SIGUSR2: exiting and leaving the gateways running for the next supervisor to adopt');
    await watcher?.close();
    loader.dispose();
    await maintenance.stop();
    fleet.persist();
    await control.close();
    await metrics?.close();
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    return EXIT.ok;
  }
  emit({ type: 'supervisor-stopping', signal });
  const again = (): void => logger.warn('already stopping: each gateway gets SIGKILL once its stop timeout has passed');
  process.on('SIGTERM', again);
  process.on('SIGINT', again);
  await watcher?.close();
  loader.dispose();
  await maintenance.stop();
  const leftovers = await fleet.shutdown(`supervisor received ${signal}`);
  await control.close();
  await metrics?.close();
  await hooks?.drain();
  clearInterval(rotation);
  emit({ type: 'supervisor-stopped', durationMs: Date.now() - began, leftovers });
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  return EXIT.ok;
}

/** The operator's state-change hook, when the manifest names one. */
function stateHooks(argv: readonly string[] | undefined, cwd: string, env: CliContext['env'], emit: EventSink): StateHookRunner | undefined {
  if (!argv || argv.length === 0) return undefined;
  const base: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'TZ', 'USER']) if (env[name] !== undefined) base[name] = env[name]!;
  return new StateHookRunner(argv, {
    env: base,
    cwd,
    timeoutMs: HOOK_TIMEOUT_MS,
    onDone: (change, result) => {
      if (!result.ok) {
        const detail = result.timedOut ? `timed out after ${HOOK_TIMEOUT_MS} ms` : `exit ${result.code ?? result.signal}${result.stderrTail ? `: ${result.stderrTail.trim().split('\n').pop()}` : ''}`;
        emit({ type: 'hook-failed', gateway: change.gateway, to: change.to, detail });
      }
    },
    onDropped: (change) => emit({ type: 'hook-failed', gateway: change.gateway, to: change.to, detail: 'dropped: too many hooks queued' }),
  });
}

/** The Prometheus endpoint, when the manifest asks for one; a failure to listen is logged, not fatal. */
async function startMetrics(address: string, supervisor: Supervisor, emit: EventSink): Promise<{ close(): Promise<void> } | undefined> {
  const { startMetricsServer } = await import('../metrics/metrics-server.js');
  try {
    const server = await startMetricsServer(address, () => ({
      gateways: supervisor.status().map((g) => {
        const runner = supervisor.runner(g.name);
        const latency: Partial<Record<'startup' | 'liveness' | 'readiness', number>> = {};
        for (const [kind, record] of runner?.lastProbe ?? []) latency[kind] = record.latencyMs;
        return {
          name: g.name,
          role: g.role,
          state: g.state,
          up: g.pid !== null,
          ready: g.health.ready,
          restarts: g.restarts,
          cpuPercent: g.cpu,
          memoryBytes: g.memoryBytes,
          probeLatencyMs: latency,
        };
      }),
      manifestErrors: supervisor.manifestStatus().error ? 1 : 0,
    }));
    emit({ type: 'metrics-listening', address });
    return server;
  } catch (error) {
    emit({ type: 'internal-error', where: 'metrics', message: `cannot serve metrics on ${address}: ${(error as Error).message}` });
    return undefined;
  }
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
