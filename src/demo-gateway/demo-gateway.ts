import http from 'node:http';
import type { DemoGatewayOptions } from './demo-gateway-args.js';
import { blockEventLoopForever, type FaultCommand } from './faults.js';
import { spawnGrandchild } from './grandchild.js';
import { listenOn, closeServer } from './listen.js';
import { createStdioLog, type DemoLog } from './log.js';
import { MemoryBallast } from './memory-ballast.js';
import type { BootPhase, ProbeState } from './probe-answers.js';
import { createGatewayHandler, handleBrowserControl, type FaultOutcome } from './routes.js';
import { claimStateDir, type GatewayInfo } from './state-dir.js';

export { parseDemoGatewayArgs, type DemoGatewayOptions } from './demo-gateway-args.js';

const CRASH_ON_BOOT_DELAY_MS = 50;
// Long enough for a prober to see "draining", short enough to stop well within 200 ms.
const DRAIN_MS = 100;
const GROW_TICK_MS = 250;
const BROWSER_CONTROL_OFFSET = 2;
const EXIT_OWNERSHIP_CONFLICT = 78;
const EXIT_STARTUP_FAILURE = 1;
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
const OK_BODY = { ok: true };

// Runs a stand-in OpenClaw gateway until it wants to exit; resolves with that exit code.
export async function runDemoGateway(options: DemoGatewayOptions): Promise<number> {
  const gateway = new DemoGateway(options, createStdioLog());
  await gateway.start();
  return gateway.exitCode;
}

// Whether leaving should remove the state lock: a crash leaves it behind, as a real one would.
type LockOnExit = 'release' | 'leave-stale';

/**
 * One gateway process's life. SIGUSR2 and the boot timer move between the two live phases;
 * a stop signal drains; faults and --exit-after leave from anywhere.
 *
 *   claim state dir ──held──► exit 78       listen ──busy──► exit 1
 *        │ (--crash-on-boot ► exit 1)         │
 *        └────────────────────────────────────┘
 *                          ▼
 *                      starting ──boot delay──► started
 *                          ▲                       │
 *                          └─────── SIGUSR2 ───────┘
 *   starting | started ──SIGTERM/SIGINT──► draining ──DRAIN_MS──► exit 0
 */
class DemoGateway {
  readonly exitCode: Promise<number>;
  private resolveExit: (code: number) => void = () => {};
  private phase: BootPhase = 'starting';
  private faultUnready = false;
  private finished = false;
  private bootTimer: NodeJS.Timeout | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly servers: http.Server[] = [];
  private readonly ballast = new MemoryBallast();
  private readonly signalHandlers = new Map<NodeJS.Signals, () => void>();
  private releaseStateDir: () => void = () => {};

  constructor(
    private readonly options: DemoGatewayOptions,
    private readonly log: DemoLog,
  ) {
    this.exitCode = new Promise((resolve) => {
      this.resolveExit = resolve;
    });
  }

  // Claims, binds and starts booting; the exit code arrives later through `exitCode`.
  async start(): Promise<void> {
    this.installSignalHandlers();
    if (!this.claimStateDir()) return;
    if (this.options.forkGrandchild) this.spawnGrandchild();
    if (this.options.exitAfterMs !== undefined) this.scheduleExitAfter(this.options.exitAfterMs);
    if (this.options.crashOnBoot) {
      this.later(CRASH_ON_BOOT_DELAY_MS, () => this.failStartup('crash on boot (--crash-on-boot)'));
      return;
    }
    if (!(await this.listen())) return;
    this.startBoot();
    if (this.options.growMbPerS > 0) this.startGrowing(this.options.growMbPerS);
  }

  private claimStateDir(): boolean {
    const stateDir = this.options.stateDir;
    if (stateDir === undefined) return true;
    try {
      const claim = claimStateDir(stateDir, this.gatewayInfo());
      if (claim.kind === 'claimed') {
        this.releaseStateDir = claim.release;
        return true;
      }
      this.log.error(`state dir ${stateDir} is locked by another gateway (pid ${claim.pid})`);
      void this.finish(EXIT_OWNERSHIP_CONFLICT, 'release');
    } catch (error) {
      this.log.error(`cannot use state dir ${stateDir}: ${describeError(error)}`);
      void this.finish(EXIT_STARTUP_FAILURE, 'release');
    }
    return false;
  }

  private gatewayInfo(): GatewayInfo {
    const env = Object.fromEntries(Object.entries(this.options.recordedEnv).map(([key, value]) => [key, value ?? null]));
    return { pid: process.pid, port: this.options.port, startedAt: new Date().toISOString(), cwd: process.cwd(), env };
  }

  // Binds the base port (fatal when busy), then base+2 and the IPv6 loopback as best effort.
  private async listen(): Promise<boolean> {
    const { port, bindHost } = this.options;
    const handler = createGatewayHandler({
      probeState: () => this.probeState(),
      runFault: (fault) => this.runFault(fault),
    });
    const error = await this.bind(http.createServer(handler), port, bindHost);
    if (error) {
      const reason = error.code === 'EADDRINUSE' ? 'is already in use' : `cannot be bound (${describeError(error)})`;
      this.failStartup(`port ${port} on ${bindHost} ${reason}`);
      return false;
    }
    // OpenClaw answers probes on ::1 too; a host without IPv6 simply has no such listener.
    if (bindHost === '127.0.0.1') await this.bind(http.createServer(handler), port, '::1');
    const controlPort = port + BROWSER_CONTROL_OFFSET;
    const controlError = await this.bind(http.createServer(handleBrowserControl), controlPort, '127.0.0.1');
    if (controlError) this.log.error(`browser-control port ${controlPort} unavailable (${describeError(controlError)}); continuing`);
    if (this.finished) return false;
    this.log.info(`listening on ${formatHostPort(bindHost, port)} (pid ${process.pid})`);
    return this.phase !== 'draining';
  }

  // Keeps every bound server so that any exit path closes it, even one that raced the bind.
  private async bind(server: http.Server, port: number, host: string): Promise<NodeJS.ErrnoException | undefined> {
    const error = await listenOn(server, port, host);
    if (error) return error;
    if (this.finished) {
      void closeServer(server);
      return undefined;
    }
    server.on('error', (late: Error) => this.log.error(`server error: ${describeError(late)}`));
    this.servers.push(server);
    return undefined;
  }

  private probeState(): ProbeState {
    return { phase: this.phase, neverReady: this.options.neverReady, faultUnready: this.faultUnready };
  }

  private startBoot(): void {
    this.phase = 'starting';
    if (this.bootTimer) clearTimeout(this.bootTimer);
    this.bootTimer = this.later(this.options.bootDelayMs, () => {
      this.phase = 'started';
      this.log.info(this.options.neverReady ? 'boot complete (never ready: --never-ready)' : 'boot complete, ready');
    });
  }

  private startGrowing(mbPerSecond: number): void {
    const timer = setInterval(() => this.ballast.grow((mbPerSecond * GROW_TICK_MS) / 1000), GROW_TICK_MS);
    this.timers.push(timer);
  }

  private scheduleExitAfter(ms: number): void {
    this.later(ms, () => {
      this.log.info(`exiting with code 1 (--exit-after ${ms}ms)`);
      void this.finish(1, 'release');
    });
  }

  private failStartup(message: string): void {
    this.log.error(message);
    void this.finish(EXIT_STARTUP_FAILURE, 'release');
  }

  private installSignalHandlers(): void {
    for (const signal of STOP_SIGNALS) this.signalHandlers.set(signal, () => this.onStopSignal(signal));
    this.signalHandlers.set('SIGUSR2', () => this.onRestartSignal());
    for (const [signal, handler] of this.signalHandlers) process.on(signal, handler);
  }

  private onStopSignal(signal: NodeJS.Signals): void {
    if (this.options.ignoreSigterm) return this.log.info(`signal received: ${signal} (ignored: --ignore-sigterm)`);
    // Like OpenClaw, a second stop signal does not hurry the drain: escalation is the supervisor's job.
    if (this.phase === 'draining') return this.log.info(`signal received: ${signal} (already draining)`);
    this.log.info(`signal received: ${signal} (draining)`);
    this.phase = 'draining';
    if (this.bootTimer) clearTimeout(this.bootTimer);
    this.later(DRAIN_MS, () => void this.finish(0, 'release'));
  }

  // OpenClaw restarts in place on SIGUSR2: same pid, not ready again until it has booted.
  private onRestartSignal(): void {
    if (this.phase === 'draining' || this.finished) return this.log.info('signal received: SIGUSR2 (ignored while stopping)');
    this.log.info('signal received: SIGUSR2 (restarting in place)');
    this.startBoot();
  }

  private runFault(fault: FaultCommand): FaultOutcome {
    this.log.info(`fault injected: ${describeFault(fault)}`);
    switch (fault.kind) {
      case 'crash':
        return { status: 200, body: OK_BODY, afterReply: () => void this.finish(1, 'leave-stale') };
      case 'exit':
        return { status: 200, body: OK_BODY, afterReply: () => void this.finish(fault.code, 'release') };
      case 'hang':
        return { status: 200, body: OK_BODY, afterReply: blockEventLoopForever };
      case 'grow':
        return { status: 200, body: OK_BODY, afterReply: () => this.growBy(fault.mb) };
      case 'unready':
      case 'ready':
        this.faultUnready = fault.kind === 'unready';
        return { status: 200, body: OK_BODY };
      case 'spawn-grandchild': {
        const pid = this.spawnGrandchild();
        if (pid === undefined) return { status: 500, body: { ok: false, error: 'could not spawn a grandchild' } };
        return { status: 200, body: { ok: true, pid } };
      }
    }
  }

  private growBy(mb: number): void {
    try {
      this.ballast.grow(mb);
      this.log.info(`holding ${this.ballast.heldMb} MB of ballast`);
    } catch (error) {
      this.log.error(`could not grow by ${mb} MB: ${describeError(error)}`);
    }
  }

  private spawnGrandchild(): number | undefined {
    // A real gateway leaks its port into what it spawns (upstream #17833); so does this one.
    const pid = spawnGrandchild({ ...process.env, OPENCLAW_GATEWAY_PORT: String(this.options.port) });
    this.log.info(pid === undefined ? 'grandchild spawn failed' : `grandchild spawned (pid ${pid})`);
    return pid;
  }

  private later(ms: number, action: () => void): NodeJS.Timeout {
    const timer = setTimeout(action, ms);
    this.timers.push(timer);
    return timer;
  }

  // The one way out: stop timers and signal handlers, close servers, settle the lock, report the code.
  private async finish(code: number, lock: LockOnExit): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    for (const timer of this.timers) clearTimeout(timer);
    for (const [signal, handler] of this.signalHandlers) process.off(signal, handler);
    await Promise.all(this.servers.map(closeServer));
    if (lock === 'release') this.releaseStateDir();
    if (code === 0) this.log.info('stopped');
    this.resolveExit(code);
  }
}

function describeFault(fault: FaultCommand): string {
  switch (fault.kind) {
    case 'exit':
      return `exit with code ${fault.code}`;
    case 'grow':
      return `grow by ${fault.mb} MB`;
    default:
      return fault.kind;
  }
}

function describeError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
