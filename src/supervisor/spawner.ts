/** Starts gateway processes in their own session and reads their identity from /proc: no supervision decisions here. */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { readProcFile } from '../host/proc-file.js';

/** What to start: the environment is passed as is, never merged with the supervisor's own. */
export interface SpawnRequest {
  command: string;
  args: readonly string[];
  cwd: string;
  env: Readonly<Record<string, string>>;
  /** An open file descriptor that receives both stdout and stderr. */
  logFd: number;
}

/** How a child ended: exactly one of code and signal is set. */
export type ChildExit = { code: number | null; signal: NodeJS.Signals | null };

/** A started gateway: the leader of its own session and process group. */
export interface SpawnedChild {
  pid: number;
  /** Equal to pid: the child called setsid before exec. */
  pgid: number;
  /** Start time in clock ticks since boot, to recognise this pid later; undefined off Linux. */
  startTicks: number | undefined;
  /** resolves once with the exit; never rejects */
  exited: Promise<ChildExit>;
}

/** The outcome of a start: a child, or a reason fit to show the operator. */
export type SpawnResult = { ok: true; child: SpawnedChild } | { ok: false; reason: string };

/** The fields of /proc/<pid>/stat that the supervisor uses. */
export interface ProcStat {
  pid: number;
  /** R, S, D, Z, T, … (Z and X: dead but not yet reaped or gone). */
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  startTicks: number;
}

/** Starts a gateway in its own session and process group (detached), stdin ignored, stdout+stderr to logFd, so terminal signals (SIGINT/SIGHUP of the supervisor's terminal) never reach it. */
export async function spawnGateway(req: SpawnRequest): Promise<SpawnResult> {
  const cwdProblem = ensureWorkingDirectory(req.cwd);
  if (cwdProblem !== undefined) return { ok: false, reason: cwdProblem };
  const found = locateProgram(req.command, req.env.PATH, req.cwd);
  if (!found.ok) return found;

  let child: ChildProcess;
  try {
    child = spawn(found.path, [...req.args], {
      argv0: req.command,
      cwd: req.cwd,
      env: { ...req.env },
      // setsid in the child: its own session and group, out of reach of our terminal's SIGINT/SIGHUP.
      detached: true,
      stdio: ['ignore', req.logFd, req.logFd],
    });
  } catch (error) {
    return { ok: false, reason: `cannot run ${req.command}: ${describeError(error)}` };
  }
  // Read before yielding to the event loop: the child cannot have been reaped yet, even if it already exited.
  const startTicks = child.pid === undefined ? undefined : processStartTicks(child.pid);
  const exited = trackExit(child);
  const started = await startOutcome(child);
  if (started !== undefined) return { ok: false, reason: `cannot run ${req.command}: ${started}` };
  const pid = child.pid!;
  // The supervisor stops its children itself; the handle must not keep it alive. 'exit' is still delivered.
  child.unref();
  return { ok: true, child: { pid, pgid: pid, startTicks, exited } };
}

/** Creates the working directory (private to the user) and checks it is a directory; returns a problem or undefined. */
function ensureWorkingDirectory(cwd: string): string | undefined {
  try {
    mkdirSync(cwd, { recursive: true, mode: 0o700 });
    if (!statSync(cwd).isDirectory()) return `working directory ${cwd} is not a directory`;
    accessSync(cwd, constants.X_OK);
    return undefined;
  } catch (error) {
    return `cannot use working directory ${cwd}: ${describeError(error)}`;
  }
}

type Located = { ok: true; path: string } | { ok: false; reason: string };

/** Finds the program the way execvp would, but synchronously and with a message that names the program and PATH. */
function locateProgram(command: string, pathVar: string | undefined, cwd: string): Located {
  if (command === '') return { ok: false, reason: 'cannot run an empty command' };
  if (command.includes('/')) {
    // A relative path is resolved from the child's working directory, as exec does after chdir.
    const path = isAbsolute(command) ? command : resolve(cwd, command);
    const problem = executableProblem(path);
    return problem === undefined ? { ok: true, path } : { ok: false, reason: `cannot run ${command}: ${problem}` };
  }
  if (pathVar === undefined) {
    return { ok: false, reason: `cannot run ${command}: PATH is not set in its environment (ENOENT)` };
  }
  // Empty PATH entries would mean the working directory: never look there implicitly.
  const dirs = pathVar.split(delimiter).filter((dir) => dir !== '');
  let deniedAt: string | undefined;
  for (const dir of dirs) {
    const path = join(dir, command);
    const problem = executableProblem(path);
    if (problem === undefined) return { ok: true, path };
    if (problem.includes('EACCES')) deniedAt ??= path;
  }
  if (deniedAt !== undefined) {
    return { ok: false, reason: `cannot run ${command}: ${deniedAt} is not executable (EACCES)` };
  }
  return { ok: false, reason: `cannot run ${command}: no such program on PATH (ENOENT); PATH=${pathVar}` };
}

/** Why path cannot be executed, with the errno name in parentheses, or undefined when it can. */
function executableProblem(path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return `${path} is not a regular file (EACCES)`;
  } catch {
    return `${path} does not exist (ENOENT)`;
  }
  try {
    accessSync(path, constants.X_OK);
    return undefined;
  } catch {
    return `${path} is not executable (EACCES)`;
  }
}

/** Resolves with the child's exit; the 'error' listener keeps a late error (e.g. a failed kill) from crashing us. */
function trackExit(child: ChildProcess): Promise<ChildExit> {
  child.on('error', () => {});
  return new Promise((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit({ code, signal }));
  });
}

/** Waits for 'spawn' or 'error' (Node reports ENOENT/EACCES/EAGAIN asynchronously); returns a problem or undefined. */
function startOutcome(child: ChildProcess): Promise<string | undefined> {
  return new Promise((resolveStart) => {
    const onSpawn = (): void => {
      child.off('error', onError);
      resolveStart(undefined);
    };
    const onError = (error: Error): void => {
      child.off('spawn', onSpawn);
      resolveStart(describeError(error));
    };
    child.once('spawn', onSpawn);
    child.once('error', onError);
  });
}

/** An error's message, with its errno code when the message does not already name it. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  return code !== undefined && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
}

/** Whether this host exposes processes through /proc (Linux). */
function hasProc(): boolean {
  return existsSync('/proc/self/stat');
}

/** The fields of /proc/<pid>/stat, or undefined when the process does not exist or /proc is unreadable. */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readProcFile(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  return parseProcStat(text);
}

/** Parses the text of /proc/<pid>/stat; the command name may itself contain spaces and parentheses. */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  // Fields after the name start at field 3 (state); field n is rest[n - 3].
  const rest = text.slice(close + 2).trim().split(/\s+/);
  const numbers = [rest[1], rest[2], rest[3], rest[19]].map(Number);
  const [ppid, pgrp, session, startTicks] = numbers;
  const state = rest[0];
  if (state === undefined || numbers.some((n) => !Number.isInteger(n))) return undefined;
  return { pid: Number(text.slice(0, open).trim()), state, ppid: ppid!, pgrp: pgrp!, session: session!, startTicks: startTicks! };
}

/** The start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat), used to recognise a pid later; undefined off Linux. */
export function processStartTicks(pid: number): number | undefined {
  return readProcStat(pid)?.startTicks;
}

/** Whether pid is alive and not a zombie (read /proc/<pid>/stat state 'Z' as dead; a zombie answers kill(pid,0)). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (hasProc()) {
    const stat = readProcStat(pid);
    return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
