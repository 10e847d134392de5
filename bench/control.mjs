// Control-plane benchmark of the supervisor as shipped (dist/): what `clawfleet up` itself costs with
// large fleets of very light gateways, and how fast it answers status. It prints figures; it is not a test.
//
//   npm run build && node bench/control.mjs [--sizes 20,200,1000] [--window-seconds 60] [--settle-seconds 15]
//                                           [--requests 50] [--cli-runs 5] [--close] [--json]
//
// The gateways are bench/light-gateway.c (compiled here with `cc -O2` into the temp dir): a C server
// that answers any request with 200 "ok", ~1.5 MB RSS, so the figures are the supervisor's, not the
// gateways'. It keeps connections alive as the HTTP servers of real gateways do; with --close it
// answers `Connection: close`, so that every probe costs a whole TCP connection. `kind: command`, ports 30000+i, probes: startup /healthz every 500ms, liveness /healthz
// every 2 s (timeout 1 s), readiness /readyz every 2 s; stop.timeout 2 s; sampleInterval 10 s.
//
// For each fleet size N: start `up`, wait for N `ready` transitions, settle, then
//   (i)   status round trip over the control socket, sequential requests: median, p90
//         (targets: < 50 ms at 200, < 100 ms at 1 000); and the full CLI `status --json` (wall, median);
//   (ii)  the supervisor's CPU, % of one core, over the window (utime+stime; target ≤ 5 % at 1 000);
//   (iii) its VmRSS at the end of the window and VmHWM;
// then SIGTERM, time until it has exited, and check no light-gateway is left.
//
// Node built-ins only. Everything it starts is stopped on exit, on errors and on Ctrl-C.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { log, quantile, median, round1, waitPortsFree, exitOf, clockTicks, onEvents } from './lib/common.mjs';

// ---------------------------------------------------------------------------------------------
// Options

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const SOURCE = path.join(ROOT, 'bench', 'light-gateway.c');
/** Ports 30000 + i; the benchmark may use 30000–31999. */
const BASE_PORT = 30_000;
const MAX_PORT = 31_999;

class UsageError extends Error {}

function parseArgs(argv) {
  const opts = { sizes: [20, 200, 1000], windowSeconds: 60, settleSeconds: 15, requests: 50, cliRuns: 5, close: false, json: false };
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
      case '--sizes': opts.sizes = value().split(',').map((s) => Math.round(num(flag, s.trim()))); break;
      case '--window-seconds': opts.windowSeconds = num(flag, value()); break;
      case '--settle-seconds': opts.settleSeconds = Number(value()); break;
      case '--requests': opts.requests = Math.round(num(flag, value())); break;
      case '--cli-runs': opts.cliRuns = Math.round(num(flag, value())); break;
      case '--json': opts.json = true; break;
      case '--close': opts.close = true; break;
      case '-h': case '--help':
        process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n');
        process.exit(0);
      // eslint-disable-next-line no-fallthrough
      default: throw new UsageError(`unknown option ${arg}`);
    }
  }
  for (const n of opts.sizes) if (BASE_PORT + n - 1 > MAX_PORT) throw new UsageError(`--sizes: at most ${MAX_PORT - BASE_PORT + 1} gateways (ports ${BASE_PORT}..${MAX_PORT})`);
  return opts;
}

// ---------------------------------------------------------------------------------------------
// Everything this process starts, so that cleanup can find it.

const started = { supervisors: new Set(), gatewayPids: new Set(), tmp: undefined, binary: undefined };
let cleaning;

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** Only ever kill what is still one of our light gateways (a pid may have been recycled). */
function isOurGateway(pid) {
  if (!started.binary) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] === started.binary;
  } catch {
    return false;
  }
}

/** Light gateways of this run still alive: from the spawned pids, and from a scan of /proc for our binary's path. */
function leftoverGateways() {
  const found = new Set();
  for (const pid of started.gatewayPids) if (alive(pid) && isOurGateway(pid)) found.add(pid);
  if (started.binary) {
    try {
      // pgrep -f, restricted to our temp dir's binary path (never anyone else's light-gateway).
      const out = execFileSync('pgrep', ['-f', `^${started.binary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( |$)`], { encoding: 'utf8' });
      for (const line of out.split('\n')) if (line.trim()) found.add(Number(line));
    } catch {
      /* pgrep exits 1 when nothing matches */
    }
  }
  return [...found].filter((pid) => pid !== process.pid);
}

function kill(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch {
    /* gone */
  }
}

async function cleanup() {
  cleaning ??= (async () => {
    await Promise.all([...started.supervisors].map((s) => s.stop().catch(() => undefined)));
    for (const pid of leftoverGateways()) if (isOurGateway(pid)) kill(pid, 'SIGKILL');
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


const round2 = (n) => Math.round(n * 100) / 100;
const summary = (samples) => ({
  n: samples.length,
  medianMs: round2(median(samples)),
  p90Ms: round2(quantile(samples, 0.9)),
  minMs: round2(Math.min(...samples)),
  maxMs: round2(Math.max(...samples)),
});

/** utime+stime in clock ticks, from /proc/<pid>/stat (fields 14 and 15, counted after the comm). */
function cpuTicks(statPath) {
  const stat = readFileSync(statPath, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Per-thread CPU ticks of pid, keyed by "tid comm": which threads (JS, GC, libuv pool) use the CPU. */
function threadTicks(pid) {
  const out = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      out.set(`${tid} ${comm}`, cpuTicks(`/proc/${pid}/task/${tid}/stat`));
    } catch {
      /* thread gone */
    }
  }
  return out;
}

/** VmRSS, VmHWM and the RssAnon/RssFile split of pid, in bytes. */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile') };
}

function openFiles(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

/** The soft "Max open files" limit of this process (the supervisor inherits it). */
function openFilesLimit() {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  if (!m) return { soft: NaN, hard: NaN };
  const n = (s) => (s === 'unlimited' ? Infinity : Number(s));
  return { soft: n(m[1]), hard: n(m[2]) };
}

const MB = 1024 * 1024;

/** One request on the supervisor's control socket (src/control/protocol.ts): a JSON line each way. */
function control(socketPath, req, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let bytes = 0;
    let settled = false;
    const socket = net.createConnection(socketPath);
    const finish = (error, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value);
    };
    const timer = setTimeout(() => finish(new Error(`control ${req.cmd}: no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => socket.write(`${JSON.stringify(req)}\n`));
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      bytes += chunk.length;
      if (!chunk.includes(10)) return;
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        const response = JSON.parse(text.slice(0, text.indexOf('\n')));
        if (!response.ok) finish(new Error(`control ${req.cmd}: ${response.error}`));
        else finish(undefined, { response, bytes });
      } catch (error) {
        finish(error);
      }
    });
    socket.on('error', (error) => finish(error));
    socket.on('end', () => finish(new Error(`control ${req.cmd}: closed without an answer`)));
  });
}

function supervisorEnv() {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('CLAWFLEET_') || name.startsWith('OPENCLAW_')) delete env[name];
  return env;
}

/** Wall time of one `node dist/cli.js ARGS`, and its exit code. */
async function timeCli(args) {
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: supervisorEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let bytes = 0;
  let stderr = '';
  child.stdout.on('data', (d) => (bytes += d.length));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise((resolve) => child.once('exit', (c, s) => resolve(c ?? s)));
  return { ms: performance.now() - t0, code, bytes, stderr: stderr.trim() };
}

// ---------------------------------------------------------------------------------------------
// The supervisor

/** A running `clawfleet up`, its events as parsed objects, and waits on them. */
class Supervisor {
  constructor(manifest) {
    this.manifest = manifest;
    this.events = [];
    this.watchers = new Set();
    this.stderr = '';
    this.spawned = 0;
    this.readyNames = new Set();
    // Detached: our Ctrl-C reaches only us, and cleanup stops it the orderly way.
    this.child = spawn(process.execPath, [CLI, 'up', '-c', manifest], { cwd: ROOT, env: supervisorEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    started.supervisors.add(this);
    this.exited = exitOf(this.child);
    this.child.stderr.on('data', (d) => (this.stderr += d));
    onEvents(this.child.stdout, (event) => {
      if (event.event === 'spawned') {
        started.gatewayPids.add(event.pid);
        this.spawned += 1;
      }
      if (event.event === 'transition' && event.to === 'ready') this.readyNames.add(event.gateway);
      this.events.push(event);
      for (const w of [...this.watchers]) w(event);
    });
    this.child.once('exit', (code, signal) => {
      this.exitStatus = code ?? signal;
      for (const w of [...this.watchers]) w({ event: '__exit', code, signal });
    });
  }

  get pid() {
    return this.child.pid;
  }

  /** Resolves once every named gateway has reached `ready` at least once; rejects with the ones that did not. */
  allReady(names, timeoutMs) {
    const pending = () => names.filter((n) => !this.readyNames.has(n));
    if (pending().length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.watchers.delete(watch);
        const left = pending();
        reject(Object.assign(new Error(`${left.length} gateway(s) not ready after ${timeoutMs} ms: ${left.slice(0, 10).join(', ')}${left.length > 10 ? ', …' : ''}`), { notReady: left }));
      }, timeoutMs);
      const watch = (event) => {
        if (event.event === '__exit') {
          clearTimeout(timer);
          this.watchers.delete(watch);
          reject(new Error(`supervisor exited (${event.code ?? event.signal}) before the fleet was ready: ${this.stderr.trim()}`));
          return;
        }
        if (event.event !== 'transition' || event.to !== 'ready' || pending().length > 0) return;
        clearTimeout(timer);
        this.watchers.delete(watch);
        resolve();
      };
      this.watchers.add(watch);
    });
  }

  /** SIGTERM, wait for it to stop its gateways and exit; SIGKILL after timeoutMs. Resolves with ms to exit. */
  async stop(timeoutMs = 120_000) {
    let ms = 0;
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const t0 = performance.now();
      this.child.kill('SIGTERM');
      const timedOut = await Promise.race([this.exited.then(() => false), sleep(timeoutMs).then(() => true)]);
      if (timedOut) {
        log(`supervisor ${this.pid} did not exit ${timeoutMs / 1000} s after SIGTERM: SIGKILL`);
        this.killedAfterTimeout = true;
        try {
          process.kill(-this.pid, 'SIGKILL');
        } catch {
          kill(this.pid, 'SIGKILL');
        }
        await this.exited;
      }
      ms = performance.now() - t0;
    }
    started.supervisors.delete(this);
    return ms;
  }

  /** Warnings and errors it logged (pino levels ≥ 40), grouped by message without the gateway. */
  problems() {
    const counts = new Map();
    for (const e of this.events) {
      if (!(e.level >= 40)) continue;
      const key = `${e.event ?? '?'}: ${String(e.msg).replace(/\d+/g, 'N')}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts].map(([message, count]) => ({ message, count })).sort((a, b) => b.count - a.count);
  }
}

// ---------------------------------------------------------------------------------------------
// One fleet size

function writeManifest(dir, n, binary, closeEach) {
  mkdirSync(dir, { recursive: true });
  const gateways = {};
  for (let i = 0; i < n; i += 1) gateways[`g${String(i).padStart(4, '0')}`] = { port: BASE_PORT + i };
  const json = {
    version: 1,
    supervisor: { runtimeDir: path.join(dir, 'run'), sampleInterval: '10s' },
    defaults: {
      kind: 'command',
      command: binary,
      args: ['{port}', ...(closeEach ? ['--close'] : [])],
      health: {
        startup: { http: '/healthz', interval: '500ms' },
        liveness: { http: '/healthz', interval: '2s', timeout: '1s' },
        readiness: { http: '/readyz', interval: '2s' },
      },
      stop: { timeout: '2s' },
    },
    gateways,
  };
  const file = path.join(dir, 'fleet.yaml');
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`); // JSON is YAML
  return { file, names: Object.keys(gateways) };
}

async function benchSize(opts, tmp, n, hz) {
  const dir = path.join(tmp, `fleet-${n}`);
  const { file, names } = writeManifest(dir, n, started.binary, opts.close);
  const socketPath = path.join(dir, 'run', 'control.sock');
  const limit = openFilesLimit();
  const warnings = [];
  if (limit.soft < 4 * n) {
    warnings.push(`open files limit ${limit.soft} < 4 × ${n}: the supervisor may run out of descriptors (raise it with ulimit -n before running)`);
    log(`WARNING: ${warnings.at(-1)}`);
  }
  await waitPortsFree(names.map((_, i) => BASE_PORT + i), { timeoutMs: 15_000, pollMs: 50 });
  const sup = new Supervisor(file);
  const result = { gateways: n, openFilesLimit: limit.soft, warnings };
  try {
    const t0 = performance.now();
    try {
      await sup.allReady(names, Math.max(60_000, n * 200));
    } catch (error) {
      result.notReady = error.notReady;
      result.readyCount = sup.readyNames.size;
      throw error;
    }
    result.readyAfterMs = Math.round(performance.now() - t0);
    result.spawnedToReady = sup.spawned;
    log(`fleet ${n}: all ${n} ready after ${result.readyAfterMs} ms (supervisor ${sup.pid}); settling ${opts.settleSeconds} s`);
    await sleep(opts.settleSeconds * 1000);

    // (i) status round trips, sequential, then the full CLI for reference.
    const rtts = [];
    let bytes = 0;
    let states = {};
    for (let i = 0; i < opts.requests; i += 1) {
      const a = performance.now();
      const { response, bytes: b } = await control(socketPath, { cmd: 'status' });
      rtts.push(performance.now() - a);
      bytes = b;
      if (i === 0) {
        if (response.status.gateways.length !== n) throw new Error(`status lists ${response.status.gateways.length} gateways, expected ${n}`);
        states = {};
        for (const g of response.status.gateways) states[g.state] = (states[g.state] ?? 0) + 1;
      }
    }
    result.status = { ...summary(rtts), responseBytes: bytes, states };
    const cli = [];
    for (let i = 0; i < opts.cliRuns; i += 1) {
      const r = await timeCli(['status', '--json', '-c', file]);
      if (r.code !== 0) throw new Error(`clawfleet status --json exited ${r.code}: ${r.stderr}`);
      cli.push(r.ms);
      result.cliStdoutBytes = r.bytes;
    }
    result.cliStatus = summary(cli);
    log(`  status over the socket: median ${result.status.medianMs} ms, p90 ${result.status.p90Ms} ms (${Math.round(bytes / 1024)} KiB); CLI status --json median ${result.cliStatus.medianMs} ms`);

    // (ii) CPU over the window, (iii) RSS.
    log(`  sampling supervisor pid ${sup.pid} for ${opts.windowSeconds} s`);
    const eventsBefore = sup.events.length;
    const spawnedBefore = sup.spawned;
    const threadsBefore = threadTicks(sup.pid);
    const ticksBefore = cpuTicks(`/proc/${sup.pid}/stat`);
    const start = performance.now();
    const end = start + opts.windowSeconds * 1000;
    let maxRss = 0;
    let maxFds = 0;
    for (;;) {
      maxRss = Math.max(maxRss, memory(sup.pid).rss);
      maxFds = Math.max(maxFds, openFiles(sup.pid));
      const left = end - performance.now();
      if (left <= 0) break;
      await sleep(Math.min(1_000, left));
    }
    const ticks = cpuTicks(`/proc/${sup.pid}/stat`) - ticksBefore;
    const elapsedS = (performance.now() - start) / 1000;
    const threadsAfter = threadTicks(sup.pid);
    const mem = memory(sup.pid);
    const byThread = {};
    for (const [key, after] of threadsAfter) {
      const comm = key.slice(key.indexOf(' ') + 1);
      byThread[comm] = (byThread[comm] ?? 0) + after - (threadsBefore.get(key) ?? 0);
    }
    const during = sup.events.slice(eventsBefore);
    const eventCounts = {};
    for (const e of during) eventCounts[e.event ?? '?'] = (eventCounts[e.event ?? '?'] ?? 0) + 1;
    result.window = {
      seconds: round1(elapsedS),
      cpuTicks: ticks,
      clkTck: hz,
      cpuPercent: Math.round((ticks / hz / elapsedS) * 100 * 1000) / 1000,
      cpuTicksByThread: Object.fromEntries(Object.entries(byThread).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1])),
      rssEndMB: round1(mem.rss / MB),
      rssAnonEndMB: round1(mem.anon / MB),
      rssMaxMB: round1(maxRss / MB),
      hwmMB: round1(mem.hwm / MB),
      openFdsMax: maxFds,
      probesPerSecond: (2 * n) / 2,
      eventsDuringWindow: during.length,
      eventCounts,
      respawnsDuringWindow: sup.spawned - spawnedBefore,
    };
    log(`  CPU ${result.window.cpuPercent} % of one core; RSS ${result.window.rssEndMB} MB (HWM ${result.window.hwmMB} MB); ${during.length} events in the window`);
  } catch (error) {
    // Reported in the table; the stop below still runs and is measured.
    log(`fleet ${n} failed: ${error.stack ?? error}`);
    result.error = error.message;
  } finally {
    // Stop: SIGTERM, wait for the exit, then look for anything left behind.
    const gatewayPids = [...started.gatewayPids];
    const stopMs = await sup.stop(Math.max(60_000, n * 100));
    const stopped = sup.events.find((e) => e.event === 'supervisor-stopped');
    result.stop = {
      ms: Math.round(stopMs),
      exit: sup.exitStatus,
      killedAfterTimeout: Boolean(sup.killedAfterTimeout),
      loggedDurationMs: stopped?.durationMs !== undefined ? Math.round(stopped.durationMs) : undefined,
      loggedLeftovers: stopped?.leftovers,
      escalations: sup.events.filter((e) => e.event === 'stop-escalated').length,
      spawnedPids: gatewayPids.length,
    };
    const left = leftoverGateways();
    result.stop.leftoverGateways = left.length;
    if (left.length) {
      log(`  ${left.length} light-gateway process(es) left after the supervisor exited: ${left.slice(0, 10).join(' ')}; SIGKILL`);
      for (const pid of left) if (isOurGateway(pid)) kill(pid, 'SIGKILL');
    }
    for (const pid of gatewayPids) started.gatewayPids.delete(pid);
    result.problems = sup.problems();
    result.stderr = sup.stderr.trim().slice(0, 2000);
    log(`  stopped in ${result.stop.ms} ms (exit ${result.stop.exit}; logged ${result.stop.loggedDurationMs} ms); leftovers: ${left.length}`);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Report

function table(results) {
  const out = [];
  const f = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '–');
  out.push('');
  out.push(`clawfleet control-plane benchmark — node ${process.version}, ${os.cpus().length} CPU (${os.cpus()[0]?.model ?? '?'}), ${os.platform()} ${os.release()}`);
  out.push(`light-gateway (C) RSS ${f(results.lightGatewayRssMB)} MB, ${results.options.close ? 'Connection: close (a new TCP connection per probe)' : 'keep-alive (probes reuse connections)'}; open files limit ${results.openFilesLimit}`);
  out.push('');
  out.push(`(i) status round trip over the control socket (${results.options.requests} sequential requests) and the full CLI`);
  out.push('   gateways   ready after   socket median    p90      max   answer    CLI status --json (median)   target');
  for (const r of results.fleets) {
    if (r.error) {
      out.push(`   ${String(r.gateways).padStart(8)}   FAILED: ${r.error}`);
      continue;
    }
    const target = r.gateways >= 1000 ? 100 : r.gateways >= 200 ? 50 : undefined;
    out.push(`   ${String(r.gateways).padStart(8)}  ${String(r.readyAfterMs).padStart(8)} ms  ${f(r.status.medianMs, 2).padStart(10)} ms ${f(r.status.p90Ms, 2).padStart(7)} ms ${f(r.status.maxMs, 1).padStart(6)} ms ${f(r.status.responseBytes / 1024, 0).padStart(5)} KiB  ${f(r.cliStatus.medianMs).padStart(14)} ms             ${target ? `< ${target} ms ${r.status.medianMs < target && r.status.p90Ms < target ? 'MET' : 'MISSED'}` : ''}`);
  }
  out.push('');
  out.push(`(ii, iii) the supervisor process alone over ${results.options.windowSeconds} s (after ${results.options.settleSeconds} s settle); probes: liveness + readiness every 2 s each`);
  out.push('   gateways  probes/s   CPU (1 core)   RSS end  RSS max   VmHWM   fds   events  respawns   target');
  for (const r of results.fleets) {
    if (!r.window) continue;
    const w = r.window;
    const target = r.gateways >= 1000 ? `CPU ≤ 5 % ${w.cpuPercent <= 5 ? 'MET' : 'MISSED'}` : '';
    out.push(`   ${String(r.gateways).padStart(8)}  ${String(w.probesPerSecond).padStart(8)}  ${f(w.cpuPercent, 2).padStart(10)} %  ${f(w.rssEndMB).padStart(6)} MB ${f(w.rssMaxMB).padStart(6)} MB ${f(w.hwmMB).padStart(6)} MB ${String(w.openFdsMax).padStart(5)} ${String(w.eventsDuringWindow).padStart(8)} ${String(w.respawnsDuringWindow).padStart(9)}   ${target}`);
  }
  for (const r of results.fleets) {
    if (!r.window) continue;
    const total = r.window.cpuTicks || 1;
    const threads = Object.entries(r.window.cpuTicksByThread).map(([comm, t]) => `${comm} ${Math.round((t / total) * 100)} %`).join(', ');
    out.push(`   ${r.gateways}: CPU by thread: ${threads || 'none'}; RssAnon ${f(r.window.rssAnonEndMB)} MB`);
  }
  out.push('');
  out.push('   stopping (SIGTERM → supervisor exited)');
  out.push('   gateways   stop wall   logged   SIGKILL escalations   leftovers   exit');
  for (const r of results.fleets) {
    if (!r.stop) continue;
    const s = r.stop;
    out.push(`   ${String(r.gateways).padStart(8)}  ${String(s.ms).padStart(7)} ms ${String(s.loggedDurationMs ?? '–').padStart(6)} ms ${String(s.escalations).padStart(13)} ${String(s.leftoverGateways).padStart(16)}   ${s.exit}${s.killedAfterTimeout ? ' (SIGKILLed after timeout)' : ''}`);
  }
  const problems = results.fleets.filter((r) => r.problems?.length);
  if (problems.length) {
    out.push('');
    out.push('   supervisor warnings/errors');
    for (const r of problems) for (const p of r.problems.slice(0, 8)) out.push(`   ${String(r.gateways).padStart(8)}  ${String(p.count).padStart(5)} × ${p.message.slice(0, 140)}`);
  }
  for (const r of results.fleets) for (const w of r.warnings ?? []) out.push(`   warning (${r.gateways}): ${w}`);
  out.push('');
  return out.join('\n');
}

/** Compiles the light gateway into the temp dir and measures one instance's RSS. */
async function buildLightGateway(tmp) {
  const binary = path.join(tmp, 'light-gateway');
  try {
    execFileSync('cc', ['-O2', '-o', binary, SOURCE], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    throw new UsageError(`cannot compile ${SOURCE} with cc: ${error.stderr?.toString().trim() || error.message}`);
  }
  started.binary = binary;
  const port = MAX_PORT;
  await waitPortsFree([port], { timeoutMs: 15_000, pollMs: 50 });
  const child = spawn(binary, [String(port)], { stdio: 'ignore' });
  started.gatewayPids.add(child.pid);
  try {
    await sleep(300);
    return round1(memory(child.pid).rss / MB);
  } finally {
    child.kill('SIGTERM');
    await exitOf(child);
    started.gatewayPids.delete(child.pid);
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(CLI)) throw new UsageError(`${CLI} is missing: run npm run build first`);
  if (!existsSync('/proc/self/stat')) throw new UsageError('needs Linux /proc');
  started.tmp = mkdtempSync(path.join(os.tmpdir(), 'clawfleet-control-'));
  const results = { node: process.version, cpus: os.cpus().length, options: opts, openFilesLimit: openFilesLimit().soft };
  results.lightGatewayRssMB = await buildLightGateway(started.tmp);
  const hz = clockTicks();
  results.fleets = [];
  for (const n of opts.sizes) {
    try {
      results.fleets.push(await benchSize(opts, started.tmp, n, hz));
    } catch (error) {
      log(`fleet ${n} failed: ${error.stack ?? error}`);
      results.fleets.push({ gateways: n, error: error.message, ...(error.notReady && { notReady: error.notReady }) });
    }
  }
  await cleanup();
  if (opts.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else process.stdout.write(`${table(results)}\n`);
  if (results.fleets.some((r) => r.error)) process.exitCode = 1;
}

try {
  await main();
} catch (error) {
  process.stderr.write(`${error instanceof UsageError ? '' : 'benchmark failed: '}${error instanceof UsageError ? error.message : error.stack ?? error}\n`);
  await cleanup();
  process.exit(error instanceof UsageError ? 2 : 1);
}
