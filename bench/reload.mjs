// Benchmark of editing the manifest while `clawfleet up` runs (SPEC §6), as shipped (dist/). It prints
// figures; it is not a test.
//
//   npm run build && node bench/reload.mjs [--rounds 10] [--gateways 20] [--only save,fleet] [--json]
//
// 1. save:  main + rescue demo gateways (kind openclaw). Each round saves a change of main's `env`
//           (the file written in place) and times save → the first 200 on /readyz from the NEW main
//           process (polled every 2 ms, fresh connection, only once the old pid is gone or the new one
//           was logged as spawned). Interleaved with the demo gateway's own bare boot (spawn() → first
//           200 on /readyz, same environment as bench/runtime.mjs's bare baseline). The supervisor's own
//           overhead is save→serving − the 200 ms edit debounce − the gateway's own time (the old one's
//           drain after SIGTERM, the new one's boot); target < 100 ms.
// 2. fleet: 20 demo gateways ready; an edit of ONE gateway's env must restart exactly that one, and an
//           edit of one gateway's probe interval (a live setting) none. Counted twice: `spawned` events
//           after the edit, and the pids of the control socket's status before and after.
//
// Node built-ins only. Everything it starts is stopped on exit, on errors and on Ctrl-C.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { log, quantile, median, round1, summary, get, waitPortsFree, exitOf, inheritedEnv, onEvents } from './lib/common.mjs';

// ---------------------------------------------------------------------------------------------
// Options

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
/** src/supervisor/manifest-watcher.ts EDIT_DEBOUNCE_MS: how long a save must be quiet before it is read. */
const EDIT_DEBOUNCE_MS = 200;

class UsageError extends Error {}

function parseArgs(argv) {
  const opts = { rounds: 10, gateways: 20, only: ['save', 'fleet'], json: false };
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
  for (const s of opts.only) if (!['save', 'fleet'].includes(s)) throw new UsageError(`--only: unknown section ${s}`);
  if (opts.gateways > 190) throw new UsageError('--gateways: at most 190 (ports 30000..31899, 10 apart)');
  return opts;
}

// Ports, all in 30000–31999. Sections run one after another, so they share the range.
// An OpenClaw footprint is base..base+110, so only 16 `kind: openclaw` gateways fit in 2 000 ports: the
// 20-gateway fleet of section 2 runs the same demo gateway as `kind: command` (footprint: its base port;
// the demo also binds base+2), 10 ports apart. What an edit restarts does not depend on the kind.
const PORTS = {
  main: 30_000,
  rescue: 30_120,
  bare: 31_800,
  fleetBase: 30_000,
  fleetStep: 10,
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

/** Running, i.e. neither gone nor a zombie waiting to be reaped. */
function running(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
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




/**
 * Polls GET `pathname` every 2 ms (fresh connection each time) until a 200 whose request was sent once
 * `accept(sentAt)` holds; returns performance.now() at that 200. While `ready()` is false nothing is
 * sent (checked every 2 ms too).
 */
async function pollOk(port, pathname, { ready = () => true, accept = () => true, deadlineMs = 30_000, requestTimeoutMs = 100 } = {}) {
  const deadline = performance.now() + deadlineMs;
  let last = 'nothing sent';
  for (;;) {
    if (performance.now() > deadline) throw new Error(`port ${port}: no 200 on ${pathname} within ${deadlineMs} ms (last: ${last})`);
    if (!ready()) {
      await sleep(2);
      continue;
    }
    const sentAt = performance.now();
    const r = await get(port, pathname, requestTimeoutMs);
    const at = performance.now();
    last = r.status ?? r.error;
    if (r.status === 200 && accept(sentAt)) return at;
    await sleep(2);
  }
}

/** One request on the supervisor's control socket (src/control/protocol.ts): a JSON line each way. */
function control(socketPath, req, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const chunks = [];
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
      if (!chunk.includes(10)) return;
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        const response = JSON.parse(text.slice(0, text.indexOf('\n')));
        if (!response.ok) finish(new Error(`control ${req.cmd}: ${response.error}`));
        else finish(undefined, response);
      } catch (error) {
        finish(error);
      }
    });
    socket.on('error', (error) => finish(error));
    socket.on('end', () => finish(new Error(`control ${req.cmd}: closed without an answer`)));
  });
}

/** name → pid from the control socket's status. */
async function statusPids(socketPath) {
  const { status } = await control(socketPath, { cmd: 'status' });
  return new Map(status.gateways.map((g) => [g.name, g.pid ?? null]));
}

// ---------------------------------------------------------------------------------------------
// Manifests and the supervisor

function manifestJson(dir, { kind = 'openclaw', gateways, health }) {
  return {
    version: 1,
    supervisor: { runtimeDir: path.join(dir, 'run'), sampleInterval: '10s' },
    defaults: {
      kind,
      command: 'clawfleet',
      args: ['demo-gateway', '--port', '{port}', '--boot-delay', '0ms'],
      ...(kind === 'openclaw' && { stateDir: '{runtimeDir}/state/{name}', workspace: '{runtimeDir}/ws/{name}' }),
      health,
    },
    gateways,
  };
}

/** Writes the manifest in place (truncate and write, like most editors' plain save). */
function saveManifest(file, json) {
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`); // JSON is YAML
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

  /** Warnings and errors it logged (pino levels ≥ 40). */
  problems() {
    return this.events.filter((e) => e.level >= 40).map((e) => `${e.gateway ? `${e.gateway}: ` : ''}${e.msg}`);
  }
}

// ---------------------------------------------------------------------------------------------
// 1. Save → serving

/** One bare demo gateway: spawn() to the first 200 on /readyz, then SIGKILL and wait for its ports. */
async function bareBoot(dir, port) {
  const stateDir = path.join(dir, 'state');
  const cwd = path.join(dir, 'cwd');
  mkdirSync(stateDir, { recursive: true });
  mkdirSync(cwd, { recursive: true });
  const logFd = openSync(path.join(dir, 'bare.log'), 'a');
  const env = { ...inheritedEnv(), OPENCLAW_STATE_DIR: stateDir, OPENCLAW_CONFIG_PATH: path.join(stateDir, 'openclaw.json'), OPENCLAW_PROFILE: 'bare', OPENCLAW_GATEWAY_PORT: String(port) };
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, 'demo-gateway', '--port', String(port), '--boot-delay', '0ms'], { cwd, env, detached: true, stdio: ['ignore', logFd, logFd] });
  started.bare.add(child);
  closeSync(logFd);
  let earlyExit;
  child.once('exit', (code, signal) => (earlyExit = `${code ?? signal}`));
  try {
    const t1 = await pollOk(port, '/readyz', {
      accept: () => {
        if (earlyExit !== undefined) throw new Error(`bare gateway exited ${earlyExit} before answering; see ${path.join(dir, 'bare.log')}`);
        return true;
      },
    });
    return t1 - t0;
  } finally {
    killGroup(child.pid, 'SIGKILL');
    await exitOf(child);
    started.bare.delete(child);
    await waitPortsFree([port, port + 2]);
  }
}

/** Saves a change of main's env and times it until the new main process answers 200 on /readyz. */
async function saveRound(sup, file, json, round) {
  const oldPid = sup.currentPid('main');
  const marks = {};
  const watch = (e) => {
    const at = e.receivedAt;
    if (e.event === 'manifest-rejected') marks.rejected ??= e;
    if (e.event === 'manifest-accepted') marks.accepted ??= at;
    if (e.gateway !== 'main') return;
    if (e.event === 'rollout-step') marks.step ??= at;
    if (e.event === 'exited' && e.pid === oldPid) marks.exited ??= at;
    if (e.event === 'spawned' && e.pid !== oldPid) {
      marks.spawned ??= at;
      marks.newPid ??= e.pid;
    }
    if (e.event === 'transition' && e.to === 'ready' && marks.spawned !== undefined) marks.ready ??= at;
  };
  sup.watchers.add(watch);
  const done = sup.next((e) => e.event === 'rollout-done' || e.event === 'rollout-stopped' || e.event === 'manifest-rejected', 30_000, 'the rollout of the edit');
  try {
    json.gateways.main.env = { BENCH_EDIT: String(round) };
    saveManifest(file, json);
    const t0 = performance.now();
    // A 200 counts only if its request was sent once the old process cannot answer any more.
    let oldGoneAt;
    const oldGone = () => {
      if (oldGoneAt === undefined && (marks.spawned !== undefined || !running(oldPid))) oldGoneAt = performance.now();
      return oldGoneAt !== undefined;
    };
    const t1 = await pollOk(PORTS.main, '/readyz', { ready: oldGone, accept: (sentAt) => sentAt >= oldGoneAt, deadlineMs: 20_000 });
    const end = await done;
    if (end.event !== 'rollout-done') throw new Error(`edit ${round}: ${end.msg}`);
    const rel = (t) => (t === undefined ? undefined : round1(t - t0));
    return {
      ms: t1 - t0,
      acceptedMs: rel(marks.accepted),
      stepMs: rel(marks.step),
      oldGoneMs: rel(oldGoneAt),
      exitedMs: rel(marks.exited),
      spawnedMs: rel(marks.spawned),
      readyLoggedMs: rel(marks.ready),
      rolloutDoneMs: rel(end.receivedAt),
      rolloutDurationMs: end.durationMs,
      oldPid,
      newPid: marks.newPid,
    };
  } finally {
    sup.watchers.delete(watch);
  }
}

async function benchSave(opts, tmp) {
  const dir = path.join(tmp, 'save');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'fleet.yaml');
  const json = manifestJson(dir, {
    gateways: { main: { port: PORTS.main, env: { BENCH_EDIT: 'start' } }, rescue: { role: 'rescue', port: PORTS.rescue } },
    health: {
      startup: { http: '/startupz', interval: '100ms' },
      liveness: { http: '/healthz', interval: '1s' },
      readiness: { http: '/readyz', interval: '100ms' },
    },
  });
  saveManifest(file, json);
  await waitPortsFree([PORTS.main, PORTS.main + 2, PORTS.rescue, PORTS.rescue + 2, PORTS.bare, PORTS.bare + 2]);
  const sup = new Supervisor(file);
  try {
    await sup.allReady(['main', 'rescue'], 30_000);
    await sleep(500);
    log(`save: supervisor ${sup.pid} ready; 1 warm-up round, then ${opts.rounds} rounds of (a) bare boot, (b) save → new main serving`);
    await bareBoot(path.join(dir, 'bare'), PORTS.bare);
    await saveRound(sup, file, json, 'warm-up');
    await sleep(300);
    const bare = [];
    const rounds = [];
    for (let r = 0; r < opts.rounds; r += 1) {
      const a = await bareBoot(path.join(dir, 'bare'), PORTS.bare);
      await sleep(300);
      const b = await saveRound(sup, file, json, r);
      bare.push(a);
      rounds.push(b);
      log(`  round ${String(r + 1).padStart(2)}: bare boot ${a.toFixed(1).padStart(6)} ms   save→serving ${b.ms.toFixed(1).padStart(6)} ms  (accepted ${b.acceptedMs}, old exited ${b.exitedMs}, spawned ${b.spawnedMs}, ready logged ${b.readyLoggedMs}, rollout-done ${b.rolloutDoneMs} ms)`);
      await sleep(300);
    }
    const pick = (key) => rounds.map((x) => x[key]).filter((v) => v !== undefined);
    const s2s = summary(pick('ms'));
    const bareS = summary(bare);
    const overhead = median(pick('ms')) - EDIT_DEBOUNCE_MS - median(bare);
    return {
      rounds: opts.rounds,
      debounceMs: EDIT_DEBOUNCE_MS,
      saveToServing: s2s,
      bareBoot: bareS,
      overheadMs: round1(overhead),
      overheadPerRoundMedianMs: round1(median(rounds.map((x, i) => x.ms - EDIT_DEBOUNCE_MS - bare[i]))),
      // The old process's own SIGTERM → exit (the demo gateway drains 100 ms on purpose) is the gateway's time, not the supervisor's.
      overheadWithoutOldStopMs: round1(median(rounds.map((x, i) => x.ms - EDIT_DEBOUNCE_MS - bare[i] - (x.exitedMs - x.stepMs)))),
      overheadTargetMs: 100,
      split: {
        acceptedMedianMs: round1(median(pick('acceptedMs'))),
        rolloutStepMedianMs: round1(median(pick('stepMs'))),
        oldExitedMedianMs: round1(median(pick('exitedMs'))),
        spawnedMedianMs: round1(median(pick('spawnedMs'))),
        readyLoggedMedianMs: round1(median(pick('readyLoggedMs'))),
        rolloutDoneMedianMs: round1(median(pick('rolloutDoneMs'))),
        rolloutDurationMedianMs: round1(median(pick('rolloutDurationMs'))),
      },
      // Medians of per-round differences: where the overhead goes.
      phases: {
        watchAndParseMs: round1(median(rounds.map((x) => x.acceptedMs - EDIT_DEBOUNCE_MS))),
        acceptedToStepMs: round1(median(rounds.map((x) => x.stepMs - x.acceptedMs))),
        oldStopMs: round1(median(rounds.map((x) => x.exitedMs - x.stepMs))),
        exitToSpawnMs: round1(median(rounds.map((x) => x.spawnedMs - x.exitedMs))),
        spawnToServingMs: round1(median(rounds.map((x) => x.ms - x.spawnedMs))),
      },
      details: rounds,
      supervisorProblems: sup.problems(),
    };
  } finally {
    await sup.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// 2. What a one-gateway edit restarts in a fleet

/** Saves `mutate(json)` and counts what the rollout restarted, by events and by status pids. */
async function fleetEdit(sup, file, json, socketPath, label, mutate) {
  const before = await statusPids(socketPath);
  const from = sup.events.length;
  const done = sup.next((e) => e.event === 'rollout-done' || e.event === 'rollout-stopped' || e.event === 'manifest-rejected', 60_000, `the rollout of "${label}"`);
  mutate(json);
  saveManifest(file, json);
  const t0 = performance.now();
  const end = await done;
  const doneMs = end.receivedAt - t0;
  if (end.event !== 'rollout-done') throw new Error(`${label}: ${end.msg}`);
  // Anything that would restart late would show up now; give it a moment.
  await sleep(1_000);
  const after = await statusPids(socketPath);
  const events = sup.events.slice(from);
  const spawned = events.filter((e) => e.event === 'spawned').map((e) => e.gateway);
  const changed = [...before].filter(([name, pid]) => after.get(name) !== pid).map(([name]) => name);
  const steps = events.filter((e) => e.event === 'rollout-step').map((e) => `${e.gateway}:${e.change}`);
  const accepted = events.find((e) => e.event === 'manifest-accepted');
  return {
    edit: label,
    saveToRolloutDoneMs: round1(doneMs),
    rolloutDurationMs: round1(end.durationMs),
    changesAccepted: accepted?.changes,
    rolloutSteps: steps,
    spawnedAfterEdit: spawned,
    pidsChanged: changed,
    gatewaysInStatus: after.size,
  };
}

async function benchFleet(opts, tmp) {
  const dir = path.join(tmp, 'fleet');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'fleet.yaml');
  const names = [];
  const gateways = {};
  for (let i = 0; i < opts.gateways; i += 1) {
    const name = `gw${String(i).padStart(2, '0')}`;
    names.push(name);
    gateways[name] = { port: PORTS.fleetBase + i * PORTS.fleetStep, ...(i === 1 && { role: 'rescue' }) };
  }
  const json = manifestJson(dir, {
    kind: 'command',
    gateways,
    health: {
      startup: { http: '/startupz', interval: '100ms' },
      liveness: { http: '/healthz', interval: '1s' },
      readiness: { http: '/readyz', interval: '1s' },
    },
  });
  saveManifest(file, json);
  await waitPortsFree(names.flatMap((_, i) => [PORTS.fleetBase + i * PORTS.fleetStep, PORTS.fleetBase + i * PORTS.fleetStep + 2]));
  const sup = new Supervisor(file);
  const socketPath = path.join(dir, 'run', 'control.sock');
  try {
    const t0 = performance.now();
    await sup.allReady(names, 120_000);
    log(`fleet: ${names.length} gateways ready after ${Math.round(performance.now() - t0)} ms (supervisor ${sup.pid}); settling 2 s`);
    await sleep(2_000);
    const target = names[Math.min(7, names.length - 1)];
    const probeTarget = names[Math.min(12, names.length - 1)];
    const envEdit = await fleetEdit(sup, file, json, socketPath, `env of ${target}`, (j) => {
      j.gateways[target].env = { BENCH_EDIT: 'changed' };
    });
    log(`  env edit of ${target}: spawned after the edit: [${envEdit.spawnedAfterEdit.join(', ')}], status pids changed: [${envEdit.pidsChanged.join(', ')}] (rollout ${envEdit.rolloutDurationMs} ms)`);
    await sleep(1_000);
    const probeEdit = await fleetEdit(sup, file, json, socketPath, `liveness interval of ${probeTarget}`, (j) => {
      j.gateways[probeTarget].health = { liveness: { interval: '1500ms' } };
    });
    log(`  probe edit of ${probeTarget}: spawned after the edit: [${probeEdit.spawnedAfterEdit.join(', ')}], status pids changed: [${probeEdit.pidsChanged.join(', ')}] (steps: ${probeEdit.rolloutSteps.join(', ')})`);
    return {
      gateways: names.length,
      kind: 'command',
      edits: [
        { ...envEdit, expectedRestarts: 1, met: envEdit.pidsChanged.length === 1 && envEdit.spawnedAfterEdit.length === 1 && envEdit.pidsChanged[0] === target },
        { ...probeEdit, expectedRestarts: 0, met: probeEdit.pidsChanged.length === 0 && probeEdit.spawnedAfterEdit.length === 0 },
      ],
      supervisorProblems: sup.problems(),
    };
  } finally {
    await sup.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Report

function table(results) {
  const out = [];
  const f = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '–');
  out.push('');
  out.push(`clawfleet reload benchmark — node ${process.version}, ${os.cpus().length} CPU (${os.cpus()[0]?.model ?? '?'}), ${os.platform()} ${os.release()}`);
  if (results.save) {
    const s = results.save;
    out.push('');
    out.push(`1. save main's env → new main answers 200 on /readyz (${s.rounds} rounds, interleaved with bare boots; 2 ms polling)`);
    out.push('   measurement                                  median      p90      min      max');
    out.push(`   save → serving (new pid)                 ${f(s.saveToServing.medianMs).padStart(8)} ms ${f(s.saveToServing.p90Ms).padStart(6)} ms ${f(s.saveToServing.minMs).padStart(6)} ms ${f(s.saveToServing.maxMs).padStart(6)} ms`);
    out.push(`   bare demo gateway: spawn() → /readyz 200 ${f(s.bareBoot.medianMs).padStart(8)} ms ${f(s.bareBoot.p90Ms).padStart(6)} ms ${f(s.bareBoot.minMs).padStart(6)} ms ${f(s.bareBoot.maxMs).padStart(6)} ms`);
    out.push(`   split (medians, from the save, as logged):`);
    out.push(`     → manifest-accepted                    ${f(s.split.acceptedMedianMs).padStart(8)} ms   (debounce ${s.debounceMs} ms)`);
    out.push(`     → rollout-step main restart            ${f(s.split.rolloutStepMedianMs).padStart(8)} ms`);
    out.push(`     → old main exited                      ${f(s.split.oldExitedMedianMs).padStart(8)} ms`);
    out.push(`     → spawned (new pid)                    ${f(s.split.spawnedMedianMs).padStart(8)} ms`);
    out.push(`     → transition to ready logged           ${f(s.split.readyLoggedMedianMs).padStart(8)} ms`);
    out.push(`     → rollout-done logged                  ${f(s.split.rolloutDoneMedianMs).padStart(8)} ms   (its own durationMs ${f(s.split.rolloutDurationMedianMs)} ms)`);
    const p = s.phases;
    out.push(`   phases (medians of per-round differences): debounce ${s.debounceMs} + watch/parse/plan ${f(p.watchAndParseMs)} + accepted→step ${f(p.acceptedToStepMs)} + old main's SIGTERM→exit ${f(p.oldStopMs)} + exit→spawn ${f(p.exitToSpawnMs)} + spawn→serving ${f(p.spawnToServingMs)} ms (bare boot ${f(s.bareBoot.medianMs)} ms)`);
    // The old gateway's drain after SIGTERM (the demo gateway's is 100 ms by design, as OpenClaw drains its
    // connections) is the gateway's own time, like its boot: the target is about what the supervisor adds.
    out.push(`   overhead = save→serving − ${s.debounceMs} ms − the gateway's own time (old one's SIGTERM → exit, new one's boot), median per round: ${f(s.overheadWithoutOldStopMs)} ms  target < ${s.overheadTargetMs} ms  ${s.overheadWithoutOldStopMs < s.overheadTargetMs ? 'MET' : 'MISSED'}`);
    out.push(`   counting the old gateway's drain as overhead too: ${f(s.overheadMs)} ms (difference of medians; median per round ${f(s.overheadPerRoundMedianMs)} ms)`);
    if (s.supervisorProblems.length) out.push(`   supervisor warnings/errors: ${s.supervisorProblems.length}: ${s.supervisorProblems.slice(0, 5).join(' | ')}`);
  }
  if (results.fleet) {
    const fl = results.fleet;
    out.push('');
    out.push(`2. one-gateway edits in a fleet of ${fl.gateways} ready demo gateways (kind ${fl.kind}); restarts counted two ways`);
    out.push('   edit                             expected  spawned events  status pids changed  save→rollout-done  result');
    for (const e of fl.edits) {
      out.push(`   ${e.edit.padEnd(32)} ${String(e.expectedRestarts).padStart(8)}  ${String(e.spawnedAfterEdit.length).padStart(14)}  ${String(e.pidsChanged.length).padStart(19)}  ${f(e.saveToRolloutDoneMs).padStart(14)} ms  ${e.met ? 'MET' : 'MISSED'}${e.pidsChanged.length ? ` [${e.pidsChanged.join(', ')}]` : ''}`);
    }
    out.push(`   rollout steps logged: ${fl.edits.map((e) => `${e.edit}: ${e.rolloutSteps.join(', ') || 'none'}`).join('; ')}`);
    if (fl.supervisorProblems.length) out.push(`   supervisor warnings/errors: ${fl.supervisorProblems.length}: ${fl.supervisorProblems.slice(0, 5).join(' | ')}`);
  }
  out.push('');
  return out.join('\n');
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(CLI)) throw new UsageError(`${CLI} is missing: run npm run build first`);
  if (!existsSync('/proc/self/stat')) throw new UsageError('needs Linux /proc');
  started.tmp = mkdtempSync(path.join(os.tmpdir(), 'clawfleet-reload-'));
  const results = { node: process.version, cpus: os.cpus().length, options: opts };
  if (opts.only.includes('save')) results.save = await benchSave(opts, started.tmp);
  if (opts.only.includes('fleet')) results.fleet = await benchFleet(opts, started.tmp);
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
