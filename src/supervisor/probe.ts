/** Runs one attempt of a health probe (http, tcp or exec) against a gateway on loopback; decides nothing. */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ProbeAction } from '../plan/types.js';
import { probeHttpKeepAlive } from './http-probe.js';

/** The result of one probe attempt; a failure carries a short, human reason. */
export type ProbeOutcome = { ok: true; latencyMs: number } | { ok: false; latencyMs: number; reason: string };

/** Where and how a probe reaches its gateway. */
export interface ProbeTarget {
  host: string;
  port: number;
  cwd: string;
  env: Readonly<Record<string, string>>;
}

/** Observation points for tests; the supervisor passes none. */
export interface ProbeHooks {
  /** Called with the pid of an exec probe's process as soon as it is spawned. */
  onSpawn?: (pid: number) => void;
  /** Aborting ends the attempt at once (as a failure) and kills what it started. */
  signal?: AbortSignal;
}

// A literal address: `localhost` may resolve to ::1 while gateways bind 127.0.0.1, and it skips a lookup every 2 s.
const LOOPBACK = '127.0.0.1';

/** Called once by a probe with undefined on success or a reason on failure. */
type Finish = (reason?: string) => void;
/** Starts a probe and returns how to abort whatever it still has in flight. */
type Starter = (finish: Finish) => () => void;

/** Runs one attempt of a probe against a gateway; never throws, never takes longer than timeoutMs (+ a few ms). */
export function runProbe(
  action: ProbeAction,
  target: ProbeTarget,
  timeoutMs: number,
  hooks: ProbeHooks = {},
): Promise<ProbeOutcome> {
  return withDeadline(timeoutMs, starterFor(action, target, hooks), hooks.signal);
}

function starterFor(action: ProbeAction, target: ProbeTarget, hooks: ProbeHooks): Starter {
  switch (action.type) {
    case 'http':
      return (finish) => probeHttp(target.port, action.path, finish);
    case 'tcp':
      return (finish) => probeTcp(target.port, finish);
    case 'exec':
      return (finish) => probeExec(action.argv, target, hooks, finish);
  }
}

// One settle point for success, failure, sync throw and timeout, so every path cleans up exactly once.
function withDeadline(timeoutMs: number, start: Starter, signal?: AbortSignal): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const startedAt = performance.now();
    let abort: (() => void) | undefined;
    let done = false;
    const finish: Finish = (reason) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', cancel);
      abort?.();
      const latencyMs = Math.round((performance.now() - startedAt) * 10) / 10;
      resolve(reason === undefined ? { ok: true, latencyMs } : { ok: false, latencyMs, reason });
    };
    const timer = setTimeout(() => finish(`timed out after ${timeoutMs}ms`), timeoutMs);
    const cancel = (): void => finish('cancelled');
    if (signal?.aborted) return cancel();
    signal?.addEventListener('abort', cancel);
    try {
      abort = start(finish);
      if (done) abort();
    } catch (error) {
      finish(error instanceof Error ? error.message : String(error));
    }
  });
}

/** HTTP probes reuse an idle connection per gateway port (see http-probe.ts). */
function probeHttp(port: number, path: string, finish: Finish): () => void {
  if (!/^\/[\x21-\x7e]*$/.test(path)) {
    finish(`invalid probe path ${JSON.stringify(path)}`);
    return () => {};
  }
  return probeHttpKeepAlive(port, path, finish);
}

function probeTcp(port: number, finish: Finish): () => void {
  const socket = net.connect({ host: LOOPBACK, port });
  socket.once('connect', () => finish());
  socket.once('error', (error) => finish(describeSocketError(error)));
  return () => socket.destroy();
}

function probeExec(argv: readonly string[], target: ProbeTarget, hooks: ProbeHooks, finish: Finish): () => void {
  const [program, ...args] = argv;
  if (program === undefined) {
    finish('empty exec probe');
    return () => {};
  }
  // Its own process group, so a timeout also takes down whatever the probe command forked.
  const child = spawn(program, args, { cwd: target.cwd, env: { ...target.env }, stdio: 'ignore', detached: true });
  let exited = false;
  if (child.pid !== undefined) hooks.onSpawn?.(child.pid);
  child.once('error', (error: NodeJS.ErrnoException) => {
    finish(`cannot run ${program}: ${error.code ?? error.message}`);
  });
  child.once('exit', (code, signal) => {
    exited = true;
    finish(code === 0 ? undefined : code !== null ? `exit ${code}` : `killed by ${signal ?? 'signal'}`);
  });
  return () => {
    if (!exited && child.pid !== undefined) killGroup(child.pid);
  };
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: the group is already gone, which is what we wanted; nothing else can be done from a timer anyway.
  }
}

function describeSocketError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection reset';
    default:
      return error.code !== undefined ? `connection failed: ${error.code}` : error.message;
  }
}
