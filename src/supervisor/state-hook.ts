/** Runs the operator's onStateChange command when a gateway changes state: the hook adapter, no supervision decisions here. */
import { spawn, type ChildProcess } from 'node:child_process';

/** One gateway state change, as the hook sees it (CLAWFLEET_* variables). */
export interface StateChange {
  gateway: string;
  role: string;
  from: string;
  to: string;
  reason: string | undefined;
  pid: number | undefined;
  /** ISO 8601 time of the change. */
  at: string;
}

/** How one hook run went. */
export interface HookResult {
  /** Exited with code 0 before the timeout. */
  ok: boolean;
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  /** The last STDERR_TAIL_BYTES of its stderr, or why it could not be started. */
  stderrTail: string;
}

/** How the hook runs and how much of it may run at once. */
export interface StateHookOptions {
  /** The whole environment of the hook, before the CLAWFLEET_* variables are added. */
  env: Record<string, string>;
  cwd: string;
  timeoutMs: number;
  maxConcurrent?: number;
  maxQueue?: number;
  onDone?: (change: StateChange, result: HookResult) => void;
  onDropped?: (change: StateChange) => void;
}

const DEFAULT_MAX_CONCURRENT = 4;
const DEFAULT_MAX_QUEUE = 64;
const STDERR_TAIL_BYTES = 2048;
// After the hook's leader exits, its stderr may still be held by a process that escaped the group: stop waiting for it after this.
const STDERR_GRACE_MS = 100;

/** Runs the onStateChange hook: detached, bounded in time, in concurrency and in backlog, never blocking or failing the caller. */
export class StateHookRunner {
  readonly #argv: readonly string[];
  readonly #options: StateHookOptions;
  readonly #maxConcurrent: number;
  readonly #maxQueue: number;
  // Hooks started or about to start (their spawn waits for the next turn of the event loop).
  #active = 0;
  readonly #queue: StateChange[] = [];
  readonly #drained: Array<() => void> = [];

  constructor(argv: readonly string[], options: StateHookOptions) {
    if (argv.length === 0 || argv[0] === '') throw new RangeError('the state hook needs a command');
    if (!(options.timeoutMs > 0)) throw new RangeError(`the state hook timeout must be positive, got ${options.timeoutMs}`);
    this.#argv = [...argv];
    this.#options = options;
    this.#maxConcurrent = Math.max(1, options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT);
    this.#maxQueue = Math.max(0, options.maxQueue ?? DEFAULT_MAX_QUEUE);
  }

  /** Runs argv (no shell) with env = base env + CLAWFLEET_GATEWAY, CLAWFLEET_ROLE, CLAWFLEET_FROM, CLAWFLEET_TO, CLAWFLEET_REASON, CLAWFLEET_PID, CLAWFLEET_AT; detached in its own process group; stdin ignored, stdout ignored, stderr: keep the last 2 KB; kills the group with SIGKILL after timeoutMs; never throws; never blocks the caller (returns immediately, reports through onDone). At most `maxConcurrent` hooks run at once; further changes queue up to `maxQueue` and beyond that the OLDEST queued are dropped (reported via onDropped) so a hook storm cannot eat the host. */
  notify(change: StateChange): void {
    if (this.#active < this.#maxConcurrent) {
      this.#start(change);
      return;
    }
    this.#queue.push(change);
    while (this.#queue.length > this.#maxQueue) {
      const dropped = this.#queue.shift();
      if (dropped !== undefined) report(() => this.#options.onDropped?.(dropped));
    }
  }

  /** Resolves when everything queued has finished. */
  drain(): Promise<void> {
    if (this.#active === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  #start(change: StateChange): void {
    this.#active += 1;
    // Forking takes milliseconds: do it on a later turn so that the caller (a state transition) is never held up.
    setImmediate(() => {
      void runHook(this.#argv, change, this.#options).then((result) => {
        report(() => this.#options.onDone?.(change, result));
        this.#active -= 1;
        this.#next();
      });
    });
  }

  #next(): void {
    const change = this.#queue.shift();
    if (change !== undefined) {
      this.#start(change);
      return;
    }
    if (this.#active === 0) for (const resolve of this.#drained.splice(0)) resolve();
  }
}

/** Calls an operator-supplied callback; its bug must not stall the queue or crash the supervisor. */
function report(callback: () => void): void {
  try {
    callback();
  } catch {
    // Nothing sensible to do here: the runner's own state must stay consistent.
  }
}

/** Runs one hook to completion; resolves (never rejects) with how it went. */
function runHook(argv: readonly string[], change: StateChange, options: StateHookOptions): Promise<HookResult> {
  const startedAt = performance.now();
  const [command, ...args] = argv;
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(command!, args, {
        cwd: options.cwd,
        env: { ...options.env, ...hookEnv(change) },
        // Its own process group, so the timeout takes its children too, and our terminal's signals never reach it.
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    } catch (error) {
      resolve(failure(startedAt, error));
      return;
    }

    let tail = Buffer.alloc(0);
    child.stderr?.on('data', (chunk: Buffer) => {
      tail = Buffer.concat([tail, chunk]);
      if (tail.length > STDERR_TAIL_BYTES) tail = tail.subarray(tail.length - STDERR_TAIL_BYTES);
    });
    // A stderr read error only loses the tail; the hook's outcome still comes from its exit.
    child.stderr?.on('error', () => {});

    let timedOut = false;
    let settled = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, options.timeoutMs);

    const settle = (result: HookResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stderr?.destroy();
      resolve(result);
    };

    child.once('error', (error) => {
      // Spawn failures (ENOENT, EACCES, bad cwd) leave no pid; later errors (a failed kill) do not end the hook.
      if (child.pid === undefined) settle(failure(startedAt, error));
    });
    child.once('exit', (code, signal) => {
      // Whatever the hook left running in its group is swept, so that hooks cannot pile up behind our concurrency limit.
      killGroup(child.pid);
      const finish = (): void =>
        settle({
          ok: !timedOut && code === 0,
          code,
          signal,
          timedOut,
          durationMs: Math.round(performance.now() - startedAt),
          stderrTail: tail.toString('utf8'),
        });
      if (child.stderr === null || child.stderr.readableEnded) {
        finish();
        return;
      }
      child.stderr.once('close', finish);
      setTimeout(finish, STDERR_GRACE_MS);
    });
  });
}

/** The CLAWFLEET_* variables; an unknown reason or pid is the empty string, so scripts need not test for unset variables. */
function hookEnv(change: StateChange): Record<string, string> {
  return {
    CLAWFLEET_GATEWAY: change.gateway,
    CLAWFLEET_ROLE: change.role,
    CLAWFLEET_FROM: change.from,
    CLAWFLEET_TO: change.to,
    CLAWFLEET_REASON: change.reason ?? '',
    CLAWFLEET_PID: change.pid === undefined ? '' : String(change.pid),
    CLAWFLEET_AT: change.at,
  };
}

function killGroup(pgid: number | undefined): void {
  if (pgid === undefined || pgid <= 1) return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // ESRCH: the group is already gone.
  }
}

function failure(startedAt: number, error: unknown): HookResult {
  return {
    ok: false,
    code: null,
    signal: null,
    timedOut: false,
    durationMs: Math.round(performance.now() - startedAt),
    stderrTail: error instanceof Error ? error.message : String(error),
  };
}
