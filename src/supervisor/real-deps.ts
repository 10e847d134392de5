/** The real adapters a runner uses, wired in one place. */
import { closeSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { type Listener, readListeners } from '../host/listeners.js';
import type { EventSink } from '../logging/events.js';
import type { SupervisorPlan } from '../plan/types.js';
import { appendSupervisorNote, childLogPath, type ChildLogOptions, openChildLog } from './child-log.js';
import type { RunnerDeps } from './gateway-runner.js';
import { runProbe } from './probe.js';
import { stopProcessTree } from './process-tree.js';
import { canBind, waitUntilBindable } from '../host/port-check.js';
import { stateDirUsers } from '../host/state-dir-users.js';
import { spawnGateway } from './spawner.js';

/** The CLI entry of this installation, so `command: clawfleet` runs this very clawfleet. */
const CLI_PATH = fileURLToPath(new URL('../cli.js', import.meta.url));

/** Log options of one gateway under the supervisor's settings. */
export function logOptions(supervisor: SupervisorPlan, gateway: string): ChildLogOptions {
  return { dir: supervisor.logDir, name: gateway, maxBytes: supervisor.logMaxBytes, maxFiles: supervisor.logMaxFiles };
}

/** How long one read of the host's listeners serves every gateway starting at that moment. */
const LISTENERS_TTL_MS = 250;
let listenerCache: { at: number; listeners: Listener[] } | undefined;

/** The host's listeners, read at most once per TTL: a fleet of a thousand starting at once reads /proc once. */
function hostListeners(): Listener[] {
  const now = Date.now();
  if (!listenerCache || now - listenerCache.at > LISTENERS_TTL_MS) listenerCache = { at: now, listeners: readListeners() };
  return listenerCache.listeners;
}

/** Real adapters for the given supervisor settings. */
export function realRunnerDeps(options: {
  supervisor: SupervisorPlan;
  env: Readonly<Record<string, string | undefined>>;
  /** The envFile contents of the last accepted manifest, the fallback when a file cannot be read at a start. */
  envFiles: () => ReadonlyMap<string, Readonly<Record<string, string>>>;
  emit: EventSink;
}): RunnerDeps {
  const { supervisor } = options;
  return {
    now: () => Date.now(),
    random: () => Math.random(),
    setTimer: (ms, fn) => {
      const handle = setTimeout(fn, ms);
      return { cancel: () => clearTimeout(handle) };
    },
    spawn: spawnGateway,
    stopTree: stopProcessTree,
    waitPortFree: waitUntilBindable,
    canBind,
    stateDirUsers,
    probe: (action, target, timeoutMs, signal) => runProbe(action, target, timeoutMs, signal ? { signal } : {}),
    listening: (ports) => {
      const wanted = new Set(ports);
      const found = hostListeners().filter((l) => wanted.has(l.port));
      // Owners are looked up (a walk of /proc/*/fd) only when one of this gateway's ports is taken.
      const owned = found.length > 0 ? readListeners({ owners: true, ports: wanted }) : [];
      return owned.map((l) => ({ port: l.port, address: l.address, pid: l.pid, command: l.command }));
    },
    openLog: (gateway) => {
      const log = logOptions(supervisor, gateway);
      return { fd: openChildLog(log), path: childLogPath(log.dir, log.name) };
    },
    closeFd: (fd) => closeSync(fd),
    note: (gateway, text) => appendSupervisorNote(logOptions(supervisor, gateway), text),
    resolveCommand: (command) => (command === 'clawfleet' ? { command: process.execPath, args: [CLI_PATH] } : { command, args: [] }),
    supervisorEnv: options.env,
    envFile: (path) => {
      // Read afresh at each start so a rotated secret reaches the next process; fall back to what was validated.
      try {
        return parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
      } catch {
        return options.envFiles().get(path) ?? {};
      }
    },
    emit: options.emit,
  };
}
