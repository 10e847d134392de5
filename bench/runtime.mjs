// Runtime benchmark of the supervisor as shipped (dist/): how fast a killed or hung gateway is back,
// and what the supervisor itself costs while a fleet idles. It prints figures; it is not a test.
//
//   npm run build && node bench/runtime.mjs [--rounds 15] [--hang-rounds 5] [--idle-seconds 60]
//                                           [--settle-seconds 10] [--gateways 20] [--only cold,hang,idle] [--json]
//
// 1. cold:  (a) bare `clawfleet demo-gateway` from spawn() to the first 200 on /healthz, against
//           (b) SIGKILL of the gateway a running `clawfleet up` supervises, to the first 200 of its
//           replacement on the same port. Rounds alternate a, b; targets: ratio of medians b/a ≤ 1.03.
// 2. hang:  a gateway that stops answering (POST /__fault/hang, and SIGSTOP) until a new pid answers.
// 3. idle:  the supervisor's own RSS and CPU with 20 (and 2) gateways probed every 2 s.
//           Targets: RSS ≤ 50 MB, CPU ≤ 0.3 % of one core.
//
// Node built-ins only. Everything it starts is stopped on exit, on errors and on Ctrl-C.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { log, quantile, median, round1, summary, get, waitPortsFree, exitOf, clockTicks, cpuTicks, inheritedEnv, onEvents } from './lib/common.mjs';

// ---------------------------------------------------------------------------------------------
// Options

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');

function parseArgs(argv) {
  const opts = { rounds: 15, hangRounds: 5, idleSeconds: 60, settleSeconds: 10, gateways: 20, only: ['cold', 'hang', 'idle'], json: false };
  const num = (name, value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} needs a positive number, got ${value}`);
    return n;
  };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--rounds': opts.rounds = Math.round(num(flag, value())); break;
      case '--hang-rounds': opts.hangRounds = Math.round(num(flag, value())); break;
      case '--idle-seconds': opts.idleSeconds = num(flag, value()); break;
      case '--settle-seconds': opts.settleSeconds = Number(value()); break;
      case '--gateways': opts.gateways = Math.round(num(flag, value())); break;
      case '--only': opts.only = value().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--json': opts.json = true; break;
      case '-h': case '--help':
        process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n');
        process.exit(0);
      // eslint-disable-next-line no-fallthrough
      default: throw new UsageError(`unknown option ${arg}`);
    }
  }
  for (const s of opts.only) if (!['cold', 'hang', 'idle'].includes(s)) throw new UsageError(`--only: unknown section ${s}`);
  if (opts.gateways > 20) throw new UsageError('--gateways: at most 20 (ports 29000..31390, 120 apart)');
  return opts;
}

class UsageError extends Error {}

// Ports, all in 26000–31999, base ports ≥ 120 apart (a gateway reserves base..base+110). Above 29000:
// the integration tests use 26000–28200. Sections run one after another, so cold/hang reuse idle's range.
const PORTS = {
  idleBase: 29_000, // 20 gateways: 29000, 29120, … 31280
  idleSmallBase: 31_480, // the 2-gateway comparison fleet: 31480, 31600
  bare: 31_800,
  supervised: 29_000,
  hang: 29_240,
};

// ---------------------------------------------------------------------------------------------
// Everything this process starts, so that cleanup can find it.

const started = { supervisors: new Set(), bare: new Set(), gatewayPids: new Set(), tmp: undefined };
let cleaning;

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** Only ever kill what is still one of our demo gateways (a pid may have been recycled). */
function isOurGateway(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('demo-gateway');
  } catch {
    return false;
  }
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  }
}

async function cleanup() {
  cleaning ??= (async () => {
    await Promise.all([...started.supervisors].map((s) => s.stop().catch(() => undefined)));
    for (const child of started.bare) if (child.exitCode === null && child.signalCode === null) killGroup(child.pid, 'SIGKILL');
    for (const pid of started.gatewayPids) if (alive(pid) && isOurGateway(pid)) killGroup(pid, 'SIGKILL');
    if (started.tmp && process.env.BENCH_KEEP_TMP) log(`kept ${started.tmp}`);
    else if (started.tmp) rmSync(started.tmp, { recursive: true, force: true });
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    process.stderr.write(`\n${signal}: stopping everything this benchmark started…\n`);
    void cleanup().finally(() => process.exit(128 + os.constants.signals[signal]));
  });
}

// ---------------------------------------------------------------------------------------------
// Small helpers




function post(port, pathname, timeoutMs = 2_000) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: pathname, method: 'POST', agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy(new Error(`POST ${pathname} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Polls GET /healthz every 2 ms (fresh connection each time) until a 200 whose request was sent once
 * `accept(sentAt)` holds; returns performance.now() at that 200.
 */
async function pollHealthy(port, { accept = () => true, deadlineMs = 30_000, requestTimeoutMs = 100 } = {}) {
  const deadline = performance.now() + deadlineMs;
  for (;;) {
    const sentAt = performance.now();
    const r = await get(port, '/healthz', requestTimeoutMs);
    const at = performance.now();
    if (r.status === 200 && accept(sentAt)) return at;
    if (at > deadline) throw new Error(`port ${port}: no 200 on /healthz within ${deadlineMs} ms (last: ${r.status ?? r.error})`);
    await sleep(2);
  }
}

/** VmRSS and VmHWM of pid, in bytes. */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

const MB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Manifests and the supervisor

function writeManifest(dir, { gateways, health, stop, restart }) {
  mkdirSync(dir, { recursive: true });
  const json = {
    version: 1,
    supervisor: { runtimeDir: dir },
    defaults: {
      kind: 'openclaw',
      command: 'clawfleet',
      args: ['demo-gateway', '--port', '{port}', '--boot-delay', '0ms'],
      stateDir: '{runtimeDir}/state/{name}',
      workspace: '{runtimeDir}/ws/{name}',
      health,
      ...(stop && { stop }),
      ...(restart && { restart }),
    },
    gateways,
  };
  const file = path.join(dir, 'fleet.yaml');
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`); // JSON is YAML
  return file;
}

/** A running `clawfleet up`, its events as parsed objects, and waits on them. */
class Supervisor {
  constructor(manifest, { logLevel } = {}) {
    this.manifest = manifest;
    this.events = [];
    this.watchers = new Set();
    this.stderr = '';
    const env = { ...process.env };
    for (const name of Object.keys(env)) if (name.startsWith('CLAWFLEET_') || name.startsWith('OPENCLAW_')) delete env[name];
    if (logLevel) env.CLAWFLEET_LOG_LEVEL = logLevel;
    // Detached: our Ctrl-C reaches only us, and cleanup stops it the orderly way.
    this.child = spawn(process.execPath, [CLI, 'up', '-c', manifest], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    started.supervisors.add(this);
    this.exited = exitOf(this.child);
    this.child.stderr.on('data', (d) => (this.stderr += d));
    onEvents(this.child.stdout, (event) => {
      if (event.event === 'spawned') started.gatewayPids.add(event.pid);
      this.events.push(event);
      for (const w of [...this.watchers]) w(event);
    });
    this.child.once('exit', (code, signal) => {
      for (const w of [...this.watchers]) w({ event: '__exit', code, signal });
    });
  }

  get pid() {
    return this.child.pid;
  }

  /** Resolves with the first event, from now on, that satisfies predicate. */
  next(predicate, timeoutMs = 30_000, what = 'event') {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.watchers.delete(watch);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}${this.stderr ? `; supervisor stderr: ${this.stderr.trim()}` : ''}`));
      }, timeoutMs);
      const watch = (event) => {
        if (event.event === '__exit') {
          clearTimeout(timer);
          this.watchers.delete(watch);
          reject(new Error(`supervisor exited (${event.code ?? event.signal}) while waiting for ${what}: ${this.stderr.trim()}`));
          return;
        }
        if (!predicate(event)) return;
        clearTimeout(timer);
        this.watchers.delete(watch);
        resolve(event);
      };
      this.watchers.add(watch);
    });
  }

  /** Resolves once every named gateway has reached `ready` (counting transitions seen so far too). */
  async allReady(names, timeoutMs = 60_000) {
    const pending = new Set(names);
    const isReady = (e) => e.event === 'transition' && e.to === 'ready';
    for (const e of this.events) if (isReady(e)) pending.delete(e.gateway);
    if (pending.size === 0) return;
    await this.next((e) => {
      if (isReady(e)) pending.delete(e.gateway);
      return pending.size === 0;
    }, timeoutMs, `${[...pending].join(', ')} to be ready`);
  }

  lastReady(gateway) {
    for (let i = this.events.length - 1; i >= 0; i -= 1) {
      const e = this.events[i];
      if (e.event === 'transition' && e.gateway === gateway && e.to === 'ready') return e;
    }
    return undefined;
  }

  currentPid(gateway) {
    for (let i = this.events.length - 1; i >= 0; i -= 1) {
      const e = this.events[i];
      if (e.event === 'spawned' && e.gateway === gateway) return e.pid;
    }
    return undefined;
  }

  /** SIGTERM, wait for it to stop its gateways and exit; SIGKILL after 30 s. */
  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timedOut = await Promise.race([this.exited.then(() => false), sleep(30_000).then(() => true)]);
      if (timedOut) {
        log(`supervisor ${this.pid} did not exit 30 s after SIGTERM: SIGKILL`);
        killGroup(this.pid, 'SIGKILL');
        await this.exited;
      }
    }
    started.supervisors.delete(this);
  }
}

// ---------------------------------------------------------------------------------------------
// 1. Cold start vs SIGKILL replacement

/** (a) one bare demo gateway: spawn() to first 200, then SIGKILL and wait for its ports. */
async function bareColdStart(dir, port) {
  const stateDir = path.join(dir, 'state');
  const cwd = path.join(dir, 'cwd');
  mkdirSync(stateDir, { recursive: true });
  mkdirSync(cwd, { recursive: true });
  const logFd = openSync(path.join(dir, 'bare.log'), 'a');
  const env = { ...inheritedEnv(), OPENCLAW_STATE_DIR: stateDir, OPENCLAW_CONFIG_PATH: path.join(stateDir, 'openclaw.json'), OPENCLAW_PROFILE: 'bare', OPENCLAW_GATEWAY_PORT: String(port) };
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, 'demo-gateway', '--port', String(port), '--boot-delay', '0ms'], {
    cwd,
    env,
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  started.bare.add(child);
  closeSync(logFd);
  let earlyExit;
  child.once('exit', (code, signal) => (earlyExit = `${code ?? signal}`));
  let t1;
  try {
    t1 = await pollHealthy(port, {
      accept: () => {
        if (earlyExit !== undefined) throw new Error(`bare gateway exited ${earlyExit} before answering; see ${path.join(dir, 'bare.log')}`);
        return true;
      },
    });
  } finally {
    killGroup(child.pid, 'SIGKILL');
    await exitOf(child);
    started.bare.delete(child);
    await waitPortsFree([port, port + 2]);
  }
  return t1 - t0;
}

/** (b) SIGKILL the supervised gateway and time its replacement's first 200 on the same port. */
async function supervisedReplacement(sup, port, stableMs) {
  const ready = sup.lastReady('main');
  const since = performance.now() - ready.receivedAt;
  // Let the gateway count as stable (restart.resetAfter), so this is a first crash after a healthy run.
  if (since < stableMs) await sleep(stableMs - since);
  const oldPid = sup.currentPid('main');
  const respawned = sup.next((e) => e.event === 'spawned' && e.gateway === 'main' && e.pid !== oldPid, 30_000, 'the replacement to spawn');
  const exited = sup.next((e) => e.event === 'exited' && e.gateway === 'main' && e.pid === oldPid, 30_000, 'the exit to be seen');
  const backoff = sup.next((e) => e.event === 'transition' && e.gateway === 'main' && (e.to === 'backoff' || e.to === 'crashloop' || e.to === 'starting'), 30_000, 'a restart');
  const readyAgain = sup.next((e) => e.event === 'transition' && e.gateway === 'main' && e.to === 'ready' && e.pid !== oldPid, 30_000, 'the replacement to be ready');
  const t0 = performance.now();
  try {
    process.kill(oldPid, 'SIGKILL');
  } catch (error) {
    const recent = sup.events.slice(-8).map((e) => `${e.event} ${e.from ?? ''}${e.to ? `->${e.to}` : ''} pid=${e.pid} ${e.reason ?? ''}`.trim());
    throw new Error(`cannot SIGKILL gateway pid ${oldPid} (${error.code}); last supervisor events:\n  ${recent.join('\n  ')}`);
  }
  const t1 = await pollHealthy(port);
  const [spawned, restart, , exit] = await Promise.all([respawned, backoff, readyAgain, exited]);
  return { ms: t1 - t0, exitedAfterMs: exit.receivedAt - t0, spawnedAfterMs: spawned.receivedAt - t0, retryInMs: restart.retryInMs ?? 0 };
}

async function benchCold(opts, tmp) {
  const dir = path.join(tmp, 'cold');
  const bareDir = path.join(dir, 'bare');
  const supDir = path.join(dir, 'sup');
  const manifest = writeManifest(supDir, {
    gateways: { main: { port: PORTS.supervised } },
    health: {
      startup: { http: '/startupz', interval: '100ms' },
      liveness: { http: '/healthz', interval: '1s' },
      readiness: false,
    },
    // Short, so that every round is a first crash after a stable run (the streak is reset); default 60s.
    restart: { resetAfter: '1s' },
  });
  const stableMs = 1_200;
  await waitPortsFree([PORTS.bare, PORTS.bare + 2, PORTS.supervised, PORTS.supervised + 2]);
  const sup = new Supervisor(manifest);
  try {
    await sup.allReady(['main'], 30_000);
    log(`cold: supervisor ${sup.pid} ready; 1 warm-up round, then ${opts.rounds} rounds of (a) bare, (b) SIGKILL under up`);
    await bareColdStart(bareDir, PORTS.bare);
    await supervisedReplacement(sup, PORTS.supervised, stableMs);
    const bare = [];
    const supervised = [];
    const details = [];
    for (let r = 0; r < opts.rounds; r += 1) {
      const a = await bareColdStart(bareDir, PORTS.bare);
      const b = await supervisedReplacement(sup, PORTS.supervised, stableMs);
      bare.push(a);
      supervised.push(b.ms);
      details.push(b);
      log(`  round ${String(r + 1).padStart(2)}: (a) bare ${a.toFixed(1).padStart(6)} ms   (b) SIGKILL→200 ${b.ms.toFixed(1).padStart(6)} ms  (exit seen ${b.exitedAfterMs.toFixed(1)}, spawned ${b.spawnedAfterMs.toFixed(1)} ms, backoff ${b.retryInMs} ms)`);
    }
    const a = summary(bare);
    const b = summary(supervised);
    return {
      rounds: opts.rounds,
      bare: a,
      sigkill: { ...b, exitSeenMedianMs: round1(median(details.map((d) => d.exitedAfterMs))), spawnedAfterMedianMs: round1(median(details.map((d) => d.spawnedAfterMs))), retryInMs: [...new Set(details.map((d) => d.retryInMs))] },
      ratio: Math.round((median(supervised) / median(bare)) * 1000) / 1000,
      target: 1.03,
    };
  } finally {
    await sup.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Hung gateway replacement

async function benchHang(opts, tmp, bareBootMs) {
  const dir = path.join(tmp, 'hang');
  const liveness = { intervalMs: 500, timeoutMs: 250, failureThreshold: 3 };
  const stopTimeoutMs = 1_000;
  const manifest = writeManifest(dir, {
    gateways: { main: { port: PORTS.hang } },
    health: {
      startup: { http: '/startupz', interval: '100ms' },
      liveness: { http: '/healthz', interval: '500ms', timeout: '250ms', failureThreshold: 3 },
      readiness: false,
    },
    stop: { timeout: '1s' },
    restart: { resetAfter: '1s' },
  });
  await waitPortsFree([PORTS.hang, PORTS.hang + 2]);
  // debug level, for the probe-failed events (the detection timeline); nothing else changes.
  const sup = new Supervisor(manifest, { logLevel: 'debug' });
  const variants = { hang: [], sigstop: [] };
  try {
    await sup.allReady(['main'], 30_000);
    log(`hang: supervisor ${sup.pid} ready; ${opts.hangRounds} rounds of each variant`);
    for (let r = 0; r < opts.hangRounds; r += 1) {
      for (const variant of ['hang', 'sigstop']) {
        const ready = sup.lastReady('main');
        const since = performance.now() - ready.receivedAt;
        if (since < 1_200) await sleep(1_200 - since);
        const oldPid = sup.currentPid('main');
        const marks = {};
        const watch = (e) => {
          if (e.gateway !== 'main') return false;
          const at = e.receivedAt;
          if (e.event === 'probe-failed') marks.firstProbeFailed ??= at;
          if (e.event === 'transition' && e.to === 'stopping') marks.stopping ??= at;
          if (e.event === 'stop-escalated') marks.escalated ??= at;
          if (e.event === 'exited' && e.pid === oldPid) marks.exited ??= at;
          if (e.event === 'spawned' && e.pid !== oldPid) marks.spawned ??= at;
          return false;
        };
        sup.watchers.add(watch);
        const readyAgain = sup.next((e) => e.event === 'transition' && e.gateway === 'main' && e.to === 'ready' && e.pid !== oldPid, 30_000, 'the replacement to be ready');
        let t0;
        try {
          t0 = performance.now();
          if (variant === 'hang') {
            const status = await post(PORTS.hang, '/__fault/hang');
            if (status !== 200) throw new Error(`POST /__fault/hang answered ${status}`);
          } else {
            process.kill(oldPid, 'SIGSTOP');
          }
          // Only a request sent after the replacement was spawned counts: a SIGSTOPped gateway gets
          // SIGCONT with its SIGTERM and may still answer queued requests while it drains.
          const t1 = await pollHealthy(PORTS.hang, { accept: (sentAt) => marks.spawned !== undefined && sentAt >= marks.spawned, requestTimeoutMs: 100 });
          await readyAgain;
          const rel = (t) => (t === undefined ? undefined : round1(t - t0));
          const row = {
            ms: round1(t1 - t0),
            firstProbeFailedMs: rel(marks.firstProbeFailed),
            stoppingMs: rel(marks.stopping),
            escalated: marks.escalated !== undefined,
            exitedMs: rel(marks.exited),
            spawnedMs: rel(marks.spawned),
          };
          variants[variant].push(row);
          log(`  round ${r + 1} ${variant.padEnd(7)}: new pid answers after ${row.ms} ms (probe failed ${row.firstProbeFailedMs}, stopping ${row.stoppingMs}, old exited ${row.exitedMs}${row.escalated ? ' after SIGKILL' : ''}, new spawned ${row.spawnedMs})`);
        } finally {
          sup.watchers.delete(watch);
          if (alive(oldPid) && isOurGateway(oldPid)) killGroup(oldPid, 'SIGCONT');
        }
      }
    }
  } finally {
    await sup.stop();
  }
  const bound = liveness.intervalMs * liveness.failureThreshold + liveness.timeoutMs + stopTimeoutMs + bareBootMs;
  const worst = liveness.failureThreshold * (liveness.intervalMs + liveness.timeoutMs) + stopTimeoutMs + bareBootMs;
  const pick = (rows, key) => rows.map((x) => x[key]).filter((v) => v !== undefined);
  const describe = (rows) => ({
    n: rows.length,
    medianMs: round1(median(pick(rows, 'ms'))),
    maxMs: round1(Math.max(...pick(rows, 'ms'))),
    medianStoppingMs: round1(median(pick(rows, 'stoppingMs'))),
    medianExitedMs: round1(median(pick(rows, 'exitedMs'))),
    medianSpawnedMs: round1(median(pick(rows, 'spawnedMs'))),
    escalated: rows.filter((x) => x.escalated).length,
    rounds: rows,
  });
  return {
    liveness,
    stopTimeoutMs,
    bareBootMs: round1(bareBootMs),
    boundMs: round1(bound),
    boundFormula: 'interval*failureThreshold + timeout + stop.timeout + bare boot',
    worstCaseMs: round1(worst),
    worstCaseFormula: 'failureThreshold*(interval+timeout) + stop.timeout + bare boot (probes run interval after the previous one ends)',
    hang: describe(variants.hang),
    sigstop: describe(variants.sigstop),
  };
}

// ---------------------------------------------------------------------------------------------
// 3. Supervisor RSS and idle CPU

async function benchIdle(opts, tmp, n, base) {
  const dir = path.join(tmp, `idle-${n}`);
  const gateways = {};
  const names = [];
  for (let i = 0; i < n; i += 1) {
    const name = `gw${String(i).padStart(2, '0')}`;
    names.push(name);
    gateways[name] = { port: base + i * 120, ...(i % 2 === 1 && { role: 'rescue' }) };
  }
  const manifest = writeManifest(dir, {
    gateways,
    health: {
      startup: { http: '/startupz', interval: '250ms' },
      liveness: { http: '/healthz', interval: '2s' },
      readiness: { http: '/readyz', interval: '2s' },
    },
  });
  await waitPortsFree(names.map((_, i) => base + i * 120));
  const sup = new Supervisor(manifest);
  try {
    const t0 = performance.now();
    await sup.allReady(names, 120_000);
    const readyMs = performance.now() - t0;
    log(`idle ${n}: all ${n} ready after ${Math.round(readyMs)} ms; settling ${opts.settleSeconds} s, then sampling supervisor pid ${sup.pid} for ${opts.idleSeconds} s`);
    await sleep(opts.settleSeconds * 1000);
    const eventsBefore = sup.events.length;
    const hz = clockTicks();
    let maxRss = 0;
    const startTicks = cpuTicks(sup.pid);
    const start = performance.now();
    const end = start + opts.idleSeconds * 1000;
    for (;;) {
      maxRss = Math.max(maxRss, memory(sup.pid).rss);
      const left = end - performance.now();
      if (left <= 0) break;
      await sleep(Math.min(1_000, left));
    }
    const endTicks = cpuTicks(sup.pid);
    const elapsedS = (performance.now() - start) / 1000;
    const mem = memory(sup.pid);
    maxRss = Math.max(maxRss, mem.rss);
    const during = sup.events.slice(eventsBefore);
    const floor = n === opts.gateways ? await probeFloor(names.map((_, i) => base + i * 120), Math.min(opts.idleSeconds, 30), hz) : undefined;
    return {
      gateways: n,
      readyAfterMs: Math.round(readyMs),
      windowS: round1(elapsedS),
      rssEndMB: round1(mem.rss / MB),
      rssMaxMB: round1(maxRss / MB),
      hwmMB: round1(mem.hwm / MB),
      cpuTicks: endTicks - startTicks,
      clkTck: hz,
      cpuPercent: Math.round(((endTicks - startTicks) / hz / elapsedS) * 100 * 1000) / 1000,
      eventsDuringWindow: during.length,
      probeFailuresDuringWindow: during.filter((e) => e.event === 'probe-failed').length,
      ...(floor && { probeFloor: floor }),
    };
  } finally {
    await sup.stop();
  }
}

/**
 * The same probe traffic from a plain Node script (GET /healthz and /readyz per gateway every 2 s,
 * fresh connection each, agent:false): the CPU floor of probing this many gateways over HTTP in Node.
 */
async function probeFloor(ports, seconds, hz) {
  const script = `
    const http = require('node:http');
    const ports = ${JSON.stringify(ports)};
    const probe = (port, path) => {
      const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: 1000 }, (res) => res.resume());
      req.on('timeout', () => req.destroy());
      req.on('error', () => {});
    };
    ports.forEach((port, i) => setTimeout(() => {
      for (const path of ['/healthz', '/readyz']) setInterval(() => probe(port, path), 2000);
    }, (i * 2000) / ports.length));
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  started.bare.add(child);
  try {
    await sleep(3_000);
    const t0 = cpuTicks(child.pid);
    const start = performance.now();
    await sleep(seconds * 1000);
    const ticks = cpuTicks(child.pid) - t0;
    const elapsedS = (performance.now() - start) / 1000;
    return { windowS: round1(elapsedS), cpuPercent: Math.round((ticks / hz / elapsedS) * 100 * 1000) / 1000, rssMB: round1(memory(child.pid).rss / MB) };
  } finally {
    child.kill('SIGKILL');
    await exitOf(child);
    started.bare.delete(child);
  }
}

/** RSS of an idle `node -e 'setInterval(…)'` on this machine: the floor any Node supervisor starts from. */
async function nodeFloorRss() {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { stdio: 'ignore' });
  started.bare.add(child);
  try {
    await sleep(1_000);
    return round1(memory(child.pid).rss / MB);
  } finally {
    child.kill('SIGKILL');
    await exitOf(child);
    started.bare.delete(child);
  }
}

// ---------------------------------------------------------------------------------------------
// Report

function table(results) {
  const out = [];
  const f = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '–');
  out.push('');
  out.push(`clawfleet runtime benchmark — node ${process.version}, ${os.cpus().length} CPU (${os.cpus()[0]?.model ?? '?'}), ${os.platform()} ${os.release()}`);
  if (results.cold) {
    const c = results.cold;
    out.push('');
    out.push(`1. cold start vs SIGKILL replacement (${c.rounds} interleaved rounds, 2 ms /healthz polling)`);
    out.push('   measurement                                    median      p90      min      max');
    out.push(`   (a) bare: spawn() → first 200             ${f(c.bare.medianMs).padStart(8)} ms ${f(c.bare.p90Ms).padStart(6)} ms ${f(c.bare.minMs).padStart(6)} ms ${f(c.bare.maxMs).padStart(6)} ms`);
    out.push(`   (b) under up: SIGKILL → first 200         ${f(c.sigkill.medianMs).padStart(8)} ms ${f(c.sigkill.p90Ms).padStart(6)} ms ${f(c.sigkill.minMs).padStart(6)} ms ${f(c.sigkill.maxMs).padStart(6)} ms`);
    out.push(`       SIGKILL → 'exited' logged (median)    ${f(c.sigkill.exitSeenMedianMs).padStart(8)} ms`);
    out.push(`       SIGKILL → 'spawned' logged (median)   ${f(c.sigkill.spawnedAfterMedianMs).padStart(8)} ms   (backoff delays seen: ${c.sigkill.retryInMs.join(', ')} ms)`);
    out.push(`       'spawned' → first 200 (median)        ${f(c.sigkill.medianMs - c.sigkill.spawnedAfterMedianMs).padStart(8)} ms   (difference of medians)`);
    out.push(`   ratio of medians (b)/(a)                  ${f(c.ratio, 3).padStart(8)}      target ≤ ${c.target}  ${c.ratio <= c.target ? 'MET' : 'MISSED'}`);
  }
  if (results.hang) {
    const h = results.hang;
    out.push('');
    out.push(`2. hung gateway → new pid answers 200 (liveness ${h.liveness.intervalMs}ms × ${h.liveness.failureThreshold}, timeout ${h.liveness.timeoutMs}ms; stop.timeout ${h.stopTimeoutMs}ms)`);
    out.push('   variant                  median      max   → stopping      → old exited → new spawned  SIGKILLed');
    for (const [label, v] of [['POST /__fault/hang', h.hang], ['SIGSTOP', h.sigstop]]) {
      out.push(`   ${label.padEnd(20)} ${f(v.medianMs).padStart(8)} ms ${f(v.maxMs).padStart(6)} ms ${f(v.medianStoppingMs).padStart(12)} ms ${f(v.medianExitedMs).padStart(8)} ms ${f(v.medianSpawnedMs).padStart(9)} ms   ${v.escalated}/${v.n}`);
    }
    out.push(`   bound ${h.boundFormula}: ${f(h.boundMs, 0)} ms`);
    out.push(`   worst case ${h.worstCaseFormula}: ${f(h.worstCaseMs, 0)} ms`);
  }
  if (results.idle) {
    out.push('');
    out.push('3. supervisor process only (not its gateways), idle fleet, liveness+readiness every 2 s');
    out.push('   gateways  ready after  window   RSS end   RSS max   VmHWM    CPU (1 core)   events in window');
    for (const r of results.idle) {
      out.push(`   ${String(r.gateways).padStart(8)}  ${String(r.readyAfterMs).padStart(8)} ms  ${f(r.windowS, 0).padStart(4)} s  ${f(r.rssEndMB).padStart(5)} MB  ${f(r.rssMaxMB).padStart(5)} MB  ${f(r.hwmMB).padStart(5)} MB  ${f(r.cpuPercent, 3).padStart(8)} %   ${String(r.eventsDuringWindow).padStart(6)}`);
    }
    const big = results.idle.find((r) => r.gateways === results.options.gateways) ?? results.idle[0];
    for (const r of results.idle) {
      if (r.probeFloor) out.push(`   for reference, a plain Node script sending the same ${r.gateways}×2 probes / 2 s: ${f(r.probeFloor.cpuPercent, 3)} % CPU over ${f(r.probeFloor.windowS, 0)} s, ${f(r.probeFloor.rssMB)} MB RSS`);
    }
    out.push(`   for reference, an idle \`node -e 'setInterval(…)'\` here: ${f(results.nodeFloorRssMB)} MB RSS`);
    out.push(`   targets (${big.gateways} gateways): RSS ≤ 50 MB ${big.rssMaxMB <= 50 ? 'MET' : 'MISSED'}, CPU ≤ 0.3 % ${big.cpuPercent <= 0.3 ? 'MET' : 'MISSED'} (CPU from utime+stime, ${big.cpuTicks} ticks at ${big.clkTck} Hz)`);
  }
  out.push('');
  return out.join('\n');
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(CLI)) throw new UsageError(`${CLI} is missing: run npm run build first`);
  if (!existsSync('/proc/self/stat')) throw new UsageError('needs Linux /proc');
  started.tmp = mkdtempSync(path.join(os.tmpdir(), 'clawfleet-bench-'));
  const results = { node: process.version, cpus: os.cpus().length, options: opts };
  if (opts.only.includes('cold')) results.cold = await benchCold(opts, started.tmp);
  if (opts.only.includes('hang')) {
    let bareBoot = results.cold?.bare.medianMs;
    if (bareBoot === undefined) {
      const boots = [];
      for (let i = 0; i < 4; i += 1) boots.push(await bareColdStart(path.join(started.tmp, 'bare-for-hang'), PORTS.bare));
      bareBoot = median(boots.slice(1));
    }
    results.hang = await benchHang(opts, started.tmp, bareBoot);
  }
  if (opts.only.includes('idle')) {
    results.idle = [await benchIdle(opts, started.tmp, opts.gateways, PORTS.idleBase)];
    if (opts.gateways !== 2) results.idle.push(await benchIdle(opts, started.tmp, 2, PORTS.idleSmallBase));
    results.nodeFloorRssMB = await nodeFloorRss();
  }
  await cleanup();
  if (opts.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else process.stdout.write(`${table(results)}\n`);
}

try {
  await main();
} catch (error) {
  process.stderr.write(`${error instanceof UsageError ? '' : 'benchmark failed: '}${error instanceof UsageError ? error.message : error.stack ?? error}\n`);
  await cleanup();
  process.exit(error instanceof UsageError ? 2 : 1);
}
