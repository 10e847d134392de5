/**
 * Runs `clawfleet up` as a real process on a manifest in a temp dir and watches its JSON log.
 * Everything it started is killed in `cleanup`, even when a test failed half-way.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { CLI } from './cli.js';
import { waitFor } from './wait.js';

/** One line of the supervisor's log. */
export interface LogEvent {
  event?: string;
  gateway?: string;
  pid?: number;
  from?: string;
  to?: string;
  reason?: string;
  msg?: string;
  [key: string]: unknown;
}

export interface Fleet {
  readonly dir: string;
  readonly manifest: string;
  readonly proc: ChildProcess;
  readonly events: LogEvent[];
  stderr: string;
  exitCode: number | null;
  /** Waits for a log event matching `match`, among those after index `since`. */
  waitEvent(what: string, match: (e: LogEvent) => boolean, timeoutMs?: number, since?: number): Promise<LogEvent>;
  /** The current pid of a gateway, from its last `spawned` event. */
  pidOf(gateway: string): number | undefined;
  /** Every pid the supervisor ever spawned. */
  spawnedPids(): number[];
  /** Resolves with the supervisor's exit code. */
  exited: Promise<number | null>;
}

const running = new Set<Fleet>();

/** Writes `manifest` (YAML) into a fresh temp dir and starts `clawfleet up` on it. */
export function startFleet(manifest: string, options: { env?: Record<string, string>; sameAs?: Fleet } = {}): Fleet {
  // `sameAs`: a new supervisor on the manifest (and dir) of an earlier one, as after a restart.
  const dir = options.sameAs?.dir ?? mkdtempSync(path.join(os.tmpdir(), 'clawfleet-up-'));
  const file = path.join(dir, 'fleet.yaml');
  if (!options.sameAs) writeFileSync(file, manifest.replaceAll('{{dir}}', dir));
  const proc = spawn(process.execPath, [CLI, 'up', '-c', file], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8', CLAWFLEET_LOG_LEVEL: 'debug', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: LogEvent[] = [];
  let buffered = '';
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      try {
        events.push(JSON.parse(line) as LogEvent);
      } catch {
        events.push({ msg: line });
      }
    }
  });
  const fleet: Fleet = {
    dir,
    manifest: file,
    proc,
    events,
    stderr: '',
    exitCode: null,
    waitEvent: (what, match, timeoutMs = 15_000, since = 0) =>
      waitFor(`${what}; supervisor said:\n${events.slice(-15).map((e) => e.msg ?? JSON.stringify(e)).join('\n')}\n${fleet.stderr}`, () => events.slice(since).find(match), timeoutMs),
    pidOf: (gateway) => [...events].reverse().find((e) => e.event === 'spawned' && e.gateway === gateway)?.pid,
    spawnedPids: () => events.filter((e) => e.event === 'spawned' && typeof e.pid === 'number').map((e) => e.pid!),
    exited: new Promise((resolve) => proc.on('exit', (code) => resolve(code))),
  };
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    fleet.stderr += chunk;
  });
  void fleet.exited.then((code) => {
    fleet.exitCode = code;
  });
  running.add(fleet);
  return fleet;
}

/** Whether a process is alive (a zombie counts as dead). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

/** Stops the supervisor (SIGTERM, then SIGKILL) and kills whatever it spawned; removes the temp dir. */
export async function cleanupFleets(): Promise<void> {
  for (const fleet of running) {
    const ended = (): boolean => fleet.proc.exitCode !== null || fleet.proc.signalCode !== null;
    if (!ended() && fleet.proc.pid !== undefined) {
      fleet.proc.kill('SIGTERM');
      const deadline = Date.now() + 8_000;
      while (!ended() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      if (!ended()) fleet.proc.kill('SIGKILL');
    }
    for (const pid of fleet.spawnedPids()) {
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    running.delete(fleet);
    if (![...running].some((other) => other.dir === fleet.dir)) rmSync(fleet.dir, { recursive: true, force: true });
  }
}

/** GET a path on a loopback port: the status code, or 0 when nothing answered within timeoutMs. */
export function httpGet(port: number, urlPath: string, timeoutMs = 1000): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** POST a fault to a demo gateway. */
export function injectFault(port: number, fault: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: `/__fault/${fault}`, method: 'POST', agent: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** A manifest of demo gateways with fast probes, for tests. `gateways` is YAML for the `gateways:` map. */
export function demoManifest(gateways: string, extraDefaults = ''): string {
  return `version: 1
supervisor:
  runtimeDir: "{{dir}}/run"
defaults:
  command: clawfleet
  args: [demo-gateway, --port, "{port}", --boot-delay, 100ms]
  stateDir: "{runtimeDir}/state/{name}"
  workspace: "{runtimeDir}/workspace/{name}"
  health:
    startPeriod: 10s
    startup:   { http: /startupz, interval: 50ms, timeout: 500ms }
    liveness:  { http: /healthz, interval: 200ms, timeout: 300ms, failureThreshold: 3 }
    readiness: { http: /readyz, interval: 200ms, timeout: 300ms }
  restart:
    backoff: { initial: 100ms, max: 1s }
  stop:
    timeout: 1s
${extraDefaults}
gateways:
${gateways}`;
}
