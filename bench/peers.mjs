// Side-by-side benchmark: the same light gateways under clawfleet, PM2 and supervisord, interleaved in
// one run. Writes docs/BENCHMARKS.md and docs/benchmarks.svg (the figures and a chart drawn from them).
//
//   npm run bench                         # = npm run build && node bench/peers.mjs
//   node bench/peers.mjs --quick          # short smoke run; prints, does not write docs/ (add --write)
//   node bench/peers.mjs --render         # re-renders docs/ from docs/benchmarks.json, measures nothing
//   node bench/peers.mjs [--rounds 15] [--hang-rounds 5] [--hang-wait 30] [--sizes 2,20,200]
//                        [--idle-seconds 30] [--settle-seconds 10] [--crash-seconds 60]
//                        [--only kill,hang,idle,tree,edit,crash] [--no-write] [--json]
//
// Every gateway is `node dist/cli.js demo-gateway --port P --boot-delay 0ms [flags]`, the same argv and
// the same environment (the allow-list clawfleet passes on, plus OPENCLAW_STATE_DIR & co. of its own
// isolated state dir) under every supervisor. PM2 (devDependency) runs with a private PM2_HOME per fleet,
// supervisord (when installed) with a generated config and its own socket; both are shut down and their
// temp dirs removed at the end, on errors and on Ctrl-C.
//
//  kill   SIGKILL → the replacement's first 200 on /healthz, per supervisor, interleaved with a bare cold
//         start of the same gateway (spawn() → first 200); figures are ratios to the bare start.
//  hang   SIGSTOP → a new process answers (clawfleet: liveness probes; peers: watched for --hang-wait s).
//  idle   the supervisor daemon's own RSS and CPU with 2, 20 and 200 idle gateways.
//  tree   gateways with --fork-grandchild: processes left after the fleet is stopped.
//  edit   a fleet of 20, one gateway's env edited in the supervisor's own config: pids that changed.
//  crash  a gateway with --crash-on-boot, watched for --crash-seconds: starts, delays, final state.
//
// Node built-ins only (PM2 is driven through its CLI). Ports 30000–31999.
import { spawn, execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { renderMarkdown, renderSvg } from './peers/report.mjs';
import { log, quantile, median, round1, round3, summary, get, waitPortsFree, exitOf, clockTicks, cpuTicks, inheritedEnv, onEvents } from './lib/common.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const PM2_BIN = path.join(ROOT, 'node_modules', 'pm2', 'bin', 'pm2');
const SECTIONS = ['kill', 'hang', 'idle', 'tree', 'edit', 'crash'];

class UsageError extends Error {}

function parseArgs(argv) {
  const opts = {
    rounds: 15, hangRounds: 5, hangWait: 30, sizes: [2, 20, 200], idleSeconds: 30, settleSeconds: 10,
    crashSeconds: 60, treeGateways: 5, editGateways: 20, only: [...SECTIONS], write: true, json: false, quick: false,
  };
  let write;
  const num = (name, value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} needs a positive number, got ${value}`);
    return n;
  };
  const args = [...argv];
  if (args.includes('--quick')) {
    Object.assign(opts, { quick: true, rounds: 4, hangRounds: 2, hangWait: 8, sizes: [2, 20], idleSeconds: 5, settleSeconds: 2, crashSeconds: 15, editGateways: 6, treeGateways: 3 });
  }
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i];
    const [flag, inline] = arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = () => inline ?? args[++i];
    switch (flag) {
      case '--quick': break;
      case '--rounds': opts.rounds = Math.round(num(flag, value())); break;
      case '--hang-rounds': opts.hangRounds = Math.round(num(flag, value())); break;
      case '--hang-wait': opts.hangWait = num(flag, value()); break;
      case '--sizes': opts.sizes = value().split(',').map((s) => Math.round(num(flag, s))); break;
      case '--idle-seconds': opts.idleSeconds = num(flag, value()); break;
      case '--settle-seconds': opts.settleSeconds = num(flag, value()); break;
      case '--crash-seconds': opts.crashSeconds = num(flag, value()); break;
      case '--only': opts.only = value().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '--write': write = true; break;
      case '--no-write': write = false; break;
      case '--json': opts.json = true; break;
      case '-h': case '--help':
        process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n');
        process.exit(0);
      // eslint-disable-next-line no-fallthrough
      default: throw new UsageError(`unknown option ${arg}`);
    }
  }
  opts.write = write ?? !opts.quick;
  for (const s of opts.only) if (!SECTIONS.includes(s)) throw new UsageError(`--only: unknown section ${s} (one of ${SECTIONS.join(', ')})`);
  if (Math.max(...opts.sizes, opts.editGateways, opts.treeGateways) > 200) throw new UsageError('at most 200 gateways (ports 30000..31990, 10 apart)');
  return opts;
}

// Ports 30000–31999. Sections run one after another and share the range.
const PORTS = {
  bare: 30_000, // kill/hang: one openclaw-kind gateway per supervisor, 120 apart
  single: { clawfleet: 30_120, pm2: 30_240, supervisord: 30_360 },
  crash: { clawfleet: 30_480, pm2: 30_600, supervisord: 30_720 },
  fleetBase: 30_000, // command-kind fleets: 10 apart (the demo binds base and base+2)
  fleetStep: 10,
};
const fleetPort = (i) => PORTS.fleetBase + i * PORTS.fleetStep;

// ---------------------------------------------------------------------------------------------
// Everything this process starts, so that cleanup can find it.

const started = { fleets: new Set(), bare: new Set(), tmp: undefined };
let cleaning;

function killPid(pid, signal) {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}
function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    killPid(pid, signal);
  }
}

async function cleanup() {
  cleaning ??= (async () => {
    for (const fleet of [...started.fleets]) await fleet.teardown().catch((error) => log(`cleanup: ${fleet.label}: ${error.message}`));
    for (const child of started.bare) if (child.exitCode === null && child.signalCode === null) killGroup(child.pid, 'SIGKILL');
    // Last sweep: any process whose command line or environment names our temp dir (gateways,
    // grandchildren, a PM2 daemon, a supervisord) is ours.
    if (started.tmp) {
      for (const p of ourProcesses(started.tmp)) killPid(p.pid, 'SIGKILL');
      if (process.env.BENCH_KEEP_TMP) log(`kept ${started.tmp}`);
      else rmSync(started.tmp, { recursive: true, force: true });
    }
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
// Statistics


// ---------------------------------------------------------------------------------------------
// HTTP, ports, /proc


/** GET /healthz every `everyMs` (fresh connection) until a 200 for which accept() holds; returns its time. */
async function pollHealthy(port, { accept = () => true, deadlineMs = 30_000, requestTimeoutMs = 100, everyMs = 2 } = {}) {
  const deadline = performance.now() + deadlineMs;
  for (;;) {
    const r = await get(port, '/healthz', requestTimeoutMs);
    const at = performance.now();
    if (r.status === 200 && accept()) return at;
    if (at > deadline) return undefined;
    await sleep(everyMs);
  }
}

async function allHealthy(ports, deadlineMs = 180_000) {
  const deadline = performance.now() + deadlineMs;
  const pending = new Set(ports);
  while (pending.size > 0) {
    const batch = [...pending];
    for (let i = 0; i < batch.length; i += 25) {
      await Promise.all(batch.slice(i, i + 25).map(async (port) => {
        if ((await get(port, '/healthz', 500)).status === 200) pending.delete(port);
      }));
    }
    if (pending.size === 0) return;
    if (performance.now() > deadline) throw new Error(`${pending.size} gateways never answered /healthz (e.g. port ${[...pending][0]})`);
    await sleep(100);
  }
}

const procPids = () => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
function readProc(pid, file) {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}
const argvOf = (pid) => readProc(pid, 'cmdline')?.split('\0').filter((s, i, a) => s !== '' || i < a.length - 1);
function procState(pid) {
  const stat = readProc(pid, 'stat');
  return stat === undefined ? undefined : stat[stat.lastIndexOf(')') + 2];
}
/** Exists and is not a zombie. */
const running = (pid) => {
  const s = procState(pid);
  return s !== undefined && s !== 'Z';
};
function envOf(pid) {
  const text = readProc(pid, 'environ');
  if (text === undefined) return undefined;
  const env = {};
  for (const kv of text.split('\0')) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return env;
}
/** The --port of a demo gateway's argv, else undefined. */
function gatewayPort(argv) {
  if (!argv || !argv.includes('demo-gateway')) return undefined;
  const i = argv.indexOf('--port');
  return i >= 0 ? Number(argv[i + 1]) : undefined;
}
/** port → pid of the running (non-zombie) demo gateways, from one scan of /proc. */
function gatewayPids(ports) {
  const wanted = new Set(ports);
  const out = new Map();
  for (const pid of procPids()) {
    const port = gatewayPort(argvOf(pid));
    if (port !== undefined && wanted.has(port) && running(pid)) out.set(port, pid);
  }
  return out;
}
/** Every live process (not us) whose argv or environment mentions dir. */
function ourProcesses(dir) {
  const out = [];
  for (const pid of procPids()) {
    if (pid === process.pid) continue;
    const cmd = readProc(pid, 'cmdline');
    const env = readProc(pid, 'environ');
    if ((cmd?.includes(dir) || env?.includes(dir)) && running(pid)) out.push({ pid, argv: cmd.split('\0') });
  }
  return out;
}
/** Gateways and grandchildren started for the fleet in dir (their OPENCLAW_STATE_DIR is under it). */
function fleetProcesses(dir) {
  const gateways = [];
  const grandchildren = [];
  for (const pid of procPids()) {
    const argv = argvOf(pid);
    if (!argv || !running(pid)) continue;
    const isGrandchild = argv.includes('demo-gateway-grandchild');
    if (!isGrandchild && gatewayPort(argv) === undefined) continue;
    if (!envOf(pid)?.OPENCLAW_STATE_DIR?.startsWith(dir)) continue;
    (isGrandchild ? grandchildren : gateways).push(pid);
  }
  return { gateways, grandchildren };
}

function rssBytes(pid) {
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;
}
const MB = 1024 * 1024;

/** Runs a command to completion; resolves {code, stdout, stderr}. */
function run(cmd, args, { env, timeoutMs = 180_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(cmd)} ${args.join(' ')}: no exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The gateway, the same under every supervisor

/**
 * One gateway for one supervisor: argv, cwd, and the variables of its own (what clawfleet derives
 * for the kind; given to PM2 and supervisord as the app's / program's environment).
 */
function gatewaySpec(dir, { name, port, kind, flags = [], env = {} }) {
  const stateDir = path.join(dir, 'state', name);
  const cwd = path.join(dir, 'gateways', name);
  mkdirSync(stateDir, { recursive: true });
  mkdirSync(cwd, { recursive: true });
  mkdirSync(path.join(dir, 'ws', name), { recursive: true });
  const own = {
    OPENCLAW_STATE_DIR: stateDir,
    OPENCLAW_CONFIG_PATH: path.join(stateDir, 'openclaw.json'),
    ...(kind === 'openclaw' ? { OPENCLAW_PROFILE: name } : { PORT: String(port) }),
    OPENCLAW_GATEWAY_PORT: String(port),
    ...env,
  };
  return { name, port, kind, flags, stateDir, cwd, env: own, extraEnv: env, args: ['demo-gateway', '--port', String(port), '--boot-delay', '0ms', ...flags] };
}

/** (a) one bare demo gateway: spawn() to first 200, then SIGKILL and wait for its ports. */
async function bareColdStart(spec) {
  const logFd = openSync(path.join(spec.cwd, 'bare.log'), 'a');
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, ...spec.args], { cwd: spec.cwd, env: { ...inheritedEnv(), ...spec.env }, detached: true, stdio: ['ignore', logFd, logFd] });
  started.bare.add(child);
  closeSync(logFd);
  let early;
  child.once('exit', (code, signal) => (early = `${code ?? signal}`));
  try {
    const t1 = await pollHealthy(spec.port, { accept: () => early === undefined });
    if (t1 === undefined) throw new Error(`bare gateway never answered (exit ${early})`);
    return t1 - t0;
  } finally {
    killGroup(child.pid, 'SIGKILL');
    await exitOf(child);
    started.bare.delete(child);
    await waitPortsFree([spec.port, spec.port + 2], { timeoutMs: 20_000, pollMs: 20 });
  }
}

// ---------------------------------------------------------------------------------------------
// The three supervisors, behind one interface:
//   new X(dir, specs, options); await start(); daemonPids(); await stopGateways(); await teardown()

/** Probes, stop and restart settings clawfleet gets per scenario (the peers have no equivalent). */
const CLAWFLEET_HEALTH = {
  single: {
    health: {
      startup: { http: '/startupz', interval: '100ms' },
      liveness: { http: '/healthz', interval: '500ms', timeout: '250ms', failureThreshold: 3 },
      readiness: false,
    },
    stop: { timeout: '1s' },
    // Like PM2's min_uptime and supervisord's startsecs (both 1 s): a kill after 1 s up is a first failure.
    restart: { resetAfter: '1s' },
  },
  fleet: {
    health: {
      startup: { http: '/healthz', interval: '250ms' },
      liveness: { http: '/healthz', interval: '2s', timeout: '1s', failureThreshold: 3 },
      readiness: { http: '/readyz', interval: '2s', timeout: '1s' },
    },
  },
  defaults: {},
};

class Clawfleet {
  static label = 'clawfleet';
  constructor(dir, specs, { profile = 'fleet' } = {}) {
    Object.assign(this, { dir, specs, profile, label: 'clawfleet', events: [], watchers: new Set(), stderr: '' });
    this.manifest = path.join(dir, 'fleet.yaml');
    this.writeManifest();
  }

  manifestJson() {
    const gateways = {};
    for (const s of this.specs) {
      gateways[s.name] = {
        port: s.port,
        ...(s.flags.length > 0 && { args: s.args.map((a) => (a === String(s.port) ? '{port}' : a)) }),
        ...(s.kind === 'command' ? { env: { OPENCLAW_STATE_DIR: s.env.OPENCLAW_STATE_DIR, OPENCLAW_CONFIG_PATH: s.env.OPENCLAW_CONFIG_PATH, OPENCLAW_GATEWAY_PORT: s.env.OPENCLAW_GATEWAY_PORT, ...s.extraEnv } } : Object.keys(s.extraEnv).length > 0 ? { env: s.extraEnv } : {}),
        ...(s.kind === 'command' ? { cwd: s.cwd } : {}),
      };
    }
    const kind = this.specs[0].kind;
    return {
      version: 1,
      supervisor: { runtimeDir: path.join(this.dir, 'run') },
      defaults: {
        kind,
        command: 'clawfleet',
        args: ['demo-gateway', '--port', '{port}', '--boot-delay', '0ms'],
        ...(kind === 'openclaw' && { stateDir: path.join(this.dir, 'state', '{name}'), workspace: path.join(this.dir, 'ws', '{name}'), cwd: path.join(this.dir, 'gateways', '{name}') }),
        ...CLAWFLEET_HEALTH[this.profile],
      },
      gateways,
    };
  }

  writeManifest() {
    writeFileSync(this.manifest, `${JSON.stringify(this.manifestJson(), null, 2)}\n`); // JSON is YAML
  }

  async start() {
    const env = inheritedEnv();
    this.child = spawn(process.execPath, [CLI, 'up', '-c', this.manifest], { cwd: this.dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    started.fleets.add(this);
    this.exited = exitOf(this.child);
    this.child.stderr.on('data', (d) => (this.stderr += d));
    onEvents(this.child.stdout, (event) => {
      this.events.push(event);
      for (const w of [...this.watchers]) w(event);
    });
  }

  next(predicate, timeoutMs, what) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.watchers.delete(watch);
        reject(new Error(`clawfleet: timed out waiting for ${what}`));
      }, timeoutMs);
      const watch = (e) => {
        if (!predicate(e)) return;
        clearTimeout(timer);
        this.watchers.delete(watch);
        resolve(e);
      };
      this.watchers.add(watch);
    });
  }

  daemonPids() {
    return [this.child.pid];
  }

  lastState(name) {
    const t = this.events.filter((e) => e.event === 'transition' && e.gateway === name).at(-1);
    return t?.to;
  }

  /** How the operator stops the fleet: SIGTERM to `clawfleet up`, which returns once all is stopped. */
  async stopGateways() {
    await this.teardown();
    return 'SIGTERM to `clawfleet up`';
  }

  async teardown() {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timedOut = await Promise.race([this.exited.then(() => false), sleep(30_000).then(() => true)]);
      if (timedOut) {
        killGroup(this.child.pid, 'SIGKILL');
        await this.exited;
      }
    }
    started.fleets.delete(this);
  }
}

class Pm2 {
  static label = 'PM2';
  constructor(dir, specs) {
    Object.assign(this, { dir, specs, label: 'PM2' });
    this.home = path.join(dir, 'pm2');
    mkdirSync(this.home, { recursive: true });
    mkdirSync(path.join(dir, 'logs'), { recursive: true });
    this.ecosystem = path.join(dir, 'ecosystem.json');
    this.writeEcosystem();
  }

  writeEcosystem() {
    const apps = this.specs.map((s) => ({
      name: s.name,
      // The very same argv as everywhere else: node dist/cli.js demo-gateway … (no ProcessContainer wrapper).
      script: process.execPath,
      interpreter: 'none',
      args: [CLI, ...s.args],
      cwd: s.cwd,
      env: s.env,
      exec_mode: 'fork',
      autorestart: true,
      out_file: path.join(this.dir, 'logs', `${s.name}.log`),
      error_file: path.join(this.dir, 'logs', `${s.name}.log`),
    }));
    writeFileSync(this.ecosystem, `${JSON.stringify({ apps }, null, 2)}\n`);
  }

  env() {
    return { ...inheritedEnv(), PM2_HOME: this.home };
  }

  async cli(...args) {
    const r = await run(process.execPath, [PM2_BIN, ...args], { env: this.env() });
    if (r.code !== 0) throw new Error(`pm2 ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  }

  async start() {
    started.fleets.add(this);
    await this.cli('start', this.ecosystem);
    this.godPid = Number(readFileSync(path.join(this.home, 'pm2.pid'), 'utf8'));
  }

  daemonPids() {
    return [this.godPid];
  }

  async jlist() {
    const out = await this.cli('jlist');
    return JSON.parse(out.slice(out.indexOf('[')));
  }

  async lastState(name) {
    const app = (await this.jlist()).find((a) => a.name === name);
    return app && `${app.pm2_env.status} (restarts ${app.pm2_env.restart_time}, unstable ${app.pm2_env.unstable_restarts})`;
  }

  async stopGateways() {
    await this.cli('stop', 'all');
    return '`pm2 stop all`';
  }

  async teardown() {
    if (existsSync(path.join(this.home, 'rpc.sock'))) await run(process.execPath, [PM2_BIN, 'kill'], { env: this.env(), timeoutMs: 60_000 }).catch(() => undefined);
    if (this.godPid && running(this.godPid)) killPid(this.godPid, 'SIGKILL');
    started.fleets.delete(this);
  }
}

class Supervisord {
  static label = 'supervisord';
  static available() {
    try {
      execFileSync('supervisord', ['--version'], { stdio: 'pipe' });
      execFileSync('supervisorctl', ['--help'], { stdio: 'pipe' });
      return true;
    } catch {
      return false;
    }
  }
  static version() {
    return execFileSync('supervisord', ['--version'], { encoding: 'utf8' }).trim();
  }

  constructor(dir, specs) {
    Object.assign(this, { dir, specs, label: 'supervisord' });
    this.conf = path.join(dir, 'supervisord.conf');
    mkdirSync(path.join(dir, 'logs'), { recursive: true });
    this.writeConfig();
  }

  writeConfig() {
    const q = (v) => `"${String(v).replace(/[\\"]/g, (c) => `\\${c}`).replace(/%/g, '%%')}"`;
    const lines = [
      '[unix_http_server]', `file=${path.join(this.dir, 'supervisor.sock')}`, '',
      '[supervisord]', `logfile=${path.join(this.dir, 'supervisord.log')}`, `pidfile=${path.join(this.dir, 'supervisord.pid')}`,
      `childlogdir=${path.join(this.dir, 'logs')}`, 'nodaemon=true', 'user=root', '',
      '[rpcinterface:supervisor]', 'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface', '',
      '[supervisorctl]', `serverurl=unix://${path.join(this.dir, 'supervisor.sock')}`, '',
    ];
    if (process.getuid?.() !== 0) lines.splice(lines.indexOf('user=root'), 1);
    for (const s of this.specs) {
      lines.push(
        `[program:${s.name}]`,
        `command=${[process.execPath, CLI, ...s.args].join(' ')}`,
        `directory=${s.cwd}`,
        `environment=${Object.entries(s.env).map(([k, v]) => `${k}=${q(v)}`).join(',')}`,
        'autostart=true',
        'autorestart=true',
        `stdout_logfile=${path.join(this.dir, 'logs', `${s.name}.log`)}`,
        'redirect_stderr=true',
        '',
      );
    }
    writeFileSync(this.conf, lines.join('\n'));
  }

  async ctl(...args) {
    const r = await run('supervisorctl', ['-c', this.conf, ...args], { env: inheritedEnv() });
    return r.stdout;
  }

  async start() {
    this.child = spawn('supervisord', ['-c', this.conf], { cwd: this.dir, env: inheritedEnv(), detached: true, stdio: 'ignore' });
    started.fleets.add(this);
    this.exited = exitOf(this.child);
    const deadline = performance.now() + 20_000;
    while (!existsSync(path.join(this.dir, 'supervisor.sock'))) {
      if (this.child.exitCode !== null) throw new Error(`supervisord exited ${this.child.exitCode}; see ${this.conf}`);
      if (performance.now() > deadline) throw new Error('supervisord: no socket after 20 s');
      await sleep(50);
    }
  }

  daemonPids() {
    return [this.child.pid];
  }

  async lastState(name) {
    return (await this.ctl('status', name)).trim().split(/\s+/).slice(1).join(' ');
  }

  async stopGateways() {
    await this.ctl('stop', 'all');
    return '`supervisorctl stop all`';
  }

  async teardown() {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timedOut = await Promise.race([this.exited.then(() => false), sleep(30_000).then(() => true)]);
      if (timedOut) {
        log(`  note: supervisord did not exit within 30 s of SIGTERM (${this.specs.length} programs); SIGKILL`);
        this.child.kill('SIGKILL');
        await this.exited;
      }
    }
    started.fleets.delete(this);
  }
}

/** Kills what a fleet left running after its supervisor's teardown; returns how many there were. */
function sweepFleet(dir, label) {
  const left = fleetProcesses(dir);
  const pids = [...left.gateways, ...left.grandchildren];
  if (pids.length > 0) {
    log(`  note: ${label} left ${left.gateways.length} gateways and ${left.grandchildren.length} grandchildren running after its own shutdown; killed`);
    for (const pid of pids) killPid(pid, 'SIGKILL');
  }
  return pids.length;
}

// ---------------------------------------------------------------------------------------------
// Scenarios

const sleepUntil = async (t) => {
  const left = t - performance.now();
  if (left > 0) await sleep(left);
};

/** kill + hang: one openclaw-kind gateway `main` per supervisor, all running side by side. */
async function benchSingle(opts, tmp, supervisors, results) {
  const bareSpec = gatewaySpec(path.join(tmp, 'single-bare'), { name: 'main', port: PORTS.bare, kind: 'openclaw' });
  const fleets = [];
  for (const S of supervisors) {
    const key = S.label.toLowerCase();
    const dir = path.join(tmp, `single-${key}`);
    const spec = gatewaySpec(dir, { name: 'main', port: PORTS.single[S.label === 'PM2' ? 'pm2' : key], kind: 'openclaw' });
    fleets.push(new S(dir, [spec], { profile: 'single' }));
  }
  await waitPortsFree([bareSpec.port, ...fleets.map((f) => f.specs[0].port)].flatMap((p) => [p, p + 2]), { timeoutMs: 20_000, pollMs: 20 });
  try {
    for (const f of fleets) await f.start();
    await allHealthy(fleets.map((f) => f.specs[0].port), 30_000);
    const stableAt = new Map(fleets.map((f) => [f, performance.now()]));
    // 1.5 s up before every kill: past PM2's min_uptime, supervisord's startsecs, clawfleet's resetAfter.
    const STABLE_MS = 1_500;

    async function killOnce(f) {
      await sleepUntil(stableAt.get(f) + STABLE_MS);
      const port = f.specs[0].port;
      const old = gatewayPids([port]).get(port);
      if (old === undefined) throw new Error(`${f.label}: no gateway on ${port}`);
      const t0 = performance.now();
      process.kill(old, 'SIGKILL');
      const t1 = await pollHealthy(port, { deadlineMs: 30_000 });
      if (t1 === undefined) throw new Error(`${f.label}: the killed gateway was not replaced within 30 s`);
      stableAt.set(f, t1);
      return t1 - t0;
    }

    if (opts.only.includes('kill')) {
      log(`kill: ${opts.rounds} rounds (+1 warm-up) of bare start and SIGKILL under ${fleets.map((f) => f.label).join(', ')}, order rotating`);
      const samples = { bare: [], ...Object.fromEntries(fleets.map((f) => [f.label, []])) };
      const units = ['bare', ...fleets];
      for (let r = -1; r < opts.rounds; r += 1) {
        const order = units.map((_, i) => units[(i + Math.max(r, 0)) % units.length]);
        const line = [];
        for (const u of order) {
          const ms = u === 'bare' ? await bareColdStart(bareSpec) : await killOnce(u);
          const label = u === 'bare' ? 'bare' : u.label;
          if (r >= 0) samples[label].push(ms);
          line.push(`${label} ${ms.toFixed(1)}`);
        }
        log(`  ${r < 0 ? 'warm-up' : `round ${r + 1}`}: ${line.join('  ')} ms`);
      }
      const bare = summary(samples.bare);
      results.kill = { rounds: opts.rounds, bare, supervisors: {} };
      for (const f of fleets) {
        const s = summary(samples[f.label]);
        results.kill.supervisors[f.label] = { ...s, medianRatio: round3(s.medianMs / bare.medianMs), p90Ratio: round3(s.p90Ms / bare.p90Ms) };
      }
      results.kill.bareSpec = { argv: ['node', 'dist/cli.js', ...bareSpec.args] };
    }

    if (opts.only.includes('hang')) {
      results.hang = { waitS: opts.hangWait, supervisors: {} };
      const bareMs = results.kill?.bare.medianMs;
      for (const f of fleets) results.hang.supervisors[f.label] = { rounds: [] };
      // clawfleet first, round by round; then the peers side by side (each watched hangWait s).
      const hangOnce = async (f) => {
        await sleepUntil(stableAt.get(f) + STABLE_MS);
        const port = f.specs[0].port;
        const old = gatewayPids([port]).get(port);
        const t0 = performance.now();
        process.kill(old, 'SIGSTOP');
        try {
          const t1 = await pollHealthy(port, { accept: () => !running(old), deadlineMs: opts.hangWait * 1000, everyMs: 5 });
          const state = await f.lastState('main');
          if (t1 !== undefined) stableAt.set(f, t1);
          return { replaced: t1 !== undefined, ms: t1 === undefined ? undefined : round1(t1 - t0), oldPidState: procState(old) ?? 'gone', supervisorSays: state };
        } finally {
          if (running(old)) killPid(old, 'SIGCONT');
        }
      };
      const cf = fleets.find((f) => f.label === 'clawfleet');
      if (cf) {
        log(`hang: clawfleet, ${opts.hangRounds} rounds of SIGSTOP (liveness /healthz every 500 ms, timeout 250 ms, 3 failures; stop.timeout 1 s)`);
        for (let r = 0; r < opts.hangRounds; r += 1) {
          const row = await hangOnce(cf);
          results.hang.supervisors.clawfleet.rounds.push(row);
          log(`  round ${r + 1}: ${row.replaced ? `new pid answers after ${row.ms} ms` : `not replaced within ${opts.hangWait} s`}`);
        }
      }
      const peers = fleets.filter((f) => f.label !== 'clawfleet');
      if (peers.length) log(`hang: ${peers.map((f) => f.label).join(' and ')} side by side, SIGSTOP, watched ${opts.hangWait} s`);
      const rows = await Promise.all(peers.map((f) => hangOnce(f)));
      peers.forEach((f, i) => {
        results.hang.supervisors[f.label].rounds.push(rows[i]);
        log(`  ${f.label}: ${rows[i].replaced ? `replaced after ${rows[i].ms} ms` : `not replaced within ${opts.hangWait} s; old pid state ${rows[i].oldPidState}; supervisor says: ${rows[i].supervisorSays}`}`);
      });
      for (const [label, h] of Object.entries(results.hang.supervisors)) {
        const ms = h.rounds.filter((x) => x.replaced).map((x) => x.ms);
        Object.assign(h, { replaced: ms.length, n: h.rounds.length, ...(ms.length && { medianMs: round1(median(ms)), p90Ms: round1(quantile(ms, 0.9)), samplesMs: ms }), ...(ms.length && bareMs && { medianRatio: round3(median(ms) / bareMs), p90Ratio: round3(quantile(ms, 0.9) / bareMs) }) });
      }
      if (peers.length) await allHealthy(peers.map((f) => f.specs[0].port), 30_000);
    }
  } finally {
    for (const f of fleets) {
      await f.teardown();
      sweepFleet(f.dir, f.label);
    }
  }
}

function fleetSpecs(dir, n, { flags = [], env = {} } = {}) {
  return Array.from({ length: n }, (_, i) => gatewaySpec(dir, { name: `gw${String(i).padStart(3, '0')}`, port: fleetPort(i), kind: 'command', flags, env: { ...env } }));
}
const portsOf = (specs) => specs.flatMap((s) => [s.port, s.port + 2]);

/** idle: the daemon's own RSS and CPU over a window, fleet idle. */
async function benchIdle(opts, tmp, supervisors) {
  const hz = clockTicks();
  const out = [];
  for (const n of opts.sizes) {
    for (const S of supervisors) {
      const dir = path.join(tmp, `idle-${n}-${S.label.toLowerCase()}`);
      const specs = fleetSpecs(dir, n);
      await waitPortsFree(portsOf(specs), { timeoutMs: 60_000, pollMs: 20 });
      const f = new S(dir, specs, { profile: 'fleet' });
      try {
        const t0 = performance.now();
        await f.start();
        await allHealthy(specs.map((s) => s.port));
        const readyMs = performance.now() - t0;
        await sleep(opts.settleSeconds * 1000);
        const pids = f.daemonPids();
        const ticks0 = pids.map(cpuTicks);
        const start = performance.now();
        let maxRss = 0;
        const end = start + opts.idleSeconds * 1000;
        for (;;) {
          maxRss = Math.max(maxRss, pids.reduce((a, p) => a + rssBytes(p), 0));
          if (performance.now() >= end) break;
          await sleep(Math.min(1_000, end - performance.now()));
        }
        const ticks = pids.map(cpuTicks).reduce((a, t, i) => a + t - ticks0[i], 0);
        const elapsed = (performance.now() - start) / 1000;
        const rssEnd = pids.reduce((a, p) => a + rssBytes(p), 0);
        const alive = gatewayPids(specs.map((s) => s.port)).size;
        const row = { supervisor: f.label, gateways: n, readyAfterMs: Math.round(readyMs), windowS: round1(elapsed), rssMB: round1(rssEnd / MB), rssMaxMB: round1(maxRss / MB), cpuPercent: round3((ticks / hz / elapsed) * 100), cpuTicks: ticks, clkTck: hz, gatewaysAlive: alive };
        out.push(row);
        log(`idle ${String(n).padStart(3)} ${f.label.padEnd(11)}: all answering after ${row.readyAfterMs} ms; daemon RSS ${row.rssMB} MB (max ${row.rssMaxMB}), CPU ${row.cpuPercent} % over ${row.windowS} s`);
      } finally {
        await f.teardown();
        const left = sweepFleet(dir, f.label);
        if (out.at(-1)?.supervisor === f.label && out.at(-1)?.gateways === n) out.at(-1).leftAfterTeardown = left;
      }
      await waitPortsFree(portsOf(specs), { timeoutMs: 60_000, pollMs: 20 }).catch((e) => log(`  note: ${e.message}`));
    }
  }
  return out;
}

/** tree: gateways that fork a grandchild; what is left after the operator stops the fleet. */
async function benchTree(opts, tmp, supervisors) {
  const out = [];
  for (const S of supervisors) {
    const dir = path.join(tmp, `tree-${S.label.toLowerCase()}`);
    const specs = fleetSpecs(dir, opts.treeGateways, { flags: ['--fork-grandchild'] });
    await waitPortsFree(portsOf(specs), { timeoutMs: 20_000, pollMs: 20 });
    const f = new S(dir, specs, { profile: 'fleet' });
    try {
      await f.start();
      await allHealthy(specs.map((s) => s.port), 60_000);
      await sleep(1_000);
      const before = fleetProcesses(dir);
      const how = await f.stopGateways();
      await sleep(2_000);
      const afterStop = fleetProcesses(dir);
      await f.teardown();
      await sleep(1_000);
      const afterDaemon = fleetProcesses(dir);
      const row = {
        supervisor: f.label, how, gateways: specs.length,
        before: { gateways: before.gateways.length, grandchildren: before.grandchildren.length },
        afterStop: { gateways: afterStop.gateways.length, grandchildren: afterStop.grandchildren.length },
        afterDaemonExit: { gateways: afterDaemon.gateways.length, grandchildren: afterDaemon.grandchildren.length },
      };
      out.push(row);
      log(`tree ${f.label.padEnd(11)}: ${row.before.gateways}+${row.before.grandchildren} processes; after ${how}: ${row.afterStop.gateways} gateways + ${row.afterStop.grandchildren} grandchildren left; after the daemon exited: ${row.afterDaemonExit.gateways} + ${row.afterDaemonExit.grandchildren}`);
      for (const pid of [...afterDaemon.gateways, ...afterDaemon.grandchildren]) killPid(pid, 'SIGKILL');
    } finally {
      await f.teardown();
      sweepFleet(dir, f.label);
    }
    await waitPortsFree(portsOf(specs), { timeoutMs: 20_000, pollMs: 20 }).catch((e) => log(`  note: ${e.message}`));
  }
  return out;
}

/** edit: one gateway's env changed in a fleet of N, applied the supervisor's own way. */
async function benchEdit(opts, tmp, supervisors) {
  const out = [];
  const n = opts.editGateways;
  const target = Math.min(7, n - 1);
  for (const S of supervisors) {
    const dir = path.join(tmp, `edit-${S.label.toLowerCase()}`);
    const specs = fleetSpecs(dir, n, { env: { BENCH_EDIT: 'before' } });
    await waitPortsFree(portsOf(specs), { timeoutMs: 20_000, pollMs: 20 });
    const f = new S(dir, specs, { profile: 'fleet' });
    try {
      await f.start();
      const ports = specs.map((s) => s.port);
      await allHealthy(ports, 120_000);
      await sleep(3_000);
      const before = gatewayPids(ports);
      if (before.size !== n) throw new Error(`${f.label}: ${before.size} of ${n} gateways found before the edit`);
      const t = specs[target];
      t.extraEnv.BENCH_EDIT = 'after';
      t.env.BENCH_EDIT = 'after';
      let how;
      const t0 = performance.now();
      let applied;
      if (f instanceof Clawfleet) {
        const done = f.next((e) => e.event === 'rollout-done', 60_000, 'rollout-done').catch(() => undefined);
        f.writeManifest();
        how = 'save the manifest (the supervisor watches it)';
        applied = done;
      } else if (f instanceof Pm2) {
        f.writeEcosystem();
        how = '`pm2 startOrReload ecosystem.json --update-env`';
        applied = f.cli('startOrReload', f.ecosystem, '--update-env');
      } else {
        f.writeConfig();
        how = '`supervisorctl reread` + `supervisorctl update`';
        applied = f.ctl('reread').then(() => f.ctl('update'));
      }
      // Live: the edited gateway's process has the new value and answers.
      let liveMs;
      const deadline = t0 + 90_000;
      while (performance.now() < deadline) {
        const pid = gatewayPids([t.port]).get(t.port);
        if (pid !== undefined && envOf(pid)?.BENCH_EDIT === 'after' && (await get(t.port, '/healthz', 200)).status === 200) {
          liveMs = performance.now() - t0;
          break;
        }
        await sleep(10);
      }
      await applied;
      const doneMs = performance.now() - t0;
      await allHealthy(ports, 120_000);
      await sleep(2_000);
      const after = gatewayPids(ports);
      const changed = specs.filter((s) => before.get(s.port) !== after.get(s.port)).map((s) => s.name);
      const row = { supervisor: f.label, how, gateways: n, edited: t.name, restarted: changed.length, restartedNames: changed, editedGatewayRestarted: changed.includes(t.name), applied: liveMs !== undefined, liveMs: liveMs === undefined ? undefined : Math.round(liveMs), commandDoneMs: Math.round(doneMs) };
      out.push(row);
      log(`edit ${f.label.padEnd(11)}: ${how}: ${row.restarted} of ${n} restarted${row.applied ? `, new env live after ${row.liveMs} ms` : ', new env NOT live within 90 s'} (done after ${row.commandDoneMs} ms)`);
    } finally {
      await f.teardown();
      sweepFleet(dir, f.label);
    }
    await waitPortsFree(portsOf(specs), { timeoutMs: 20_000, pollMs: 20 }).catch((e) => log(`  note: ${e.message}`));
  }
  return out;
}

/** crash: a gateway that exits 1 at once, under every supervisor at the same time, watched via /proc. */
async function benchCrash(opts, tmp, supervisors) {
  const fleets = supervisors.map((S) => {
    const key = S.label === 'PM2' ? 'pm2' : S.label.toLowerCase();
    const dir = path.join(tmp, `crash-${key}`);
    return new S(dir, [gatewaySpec(dir, { name: 'crasher', port: PORTS.crash[key], kind: 'openclaw', flags: ['--crash-on-boot'] })], { profile: 'defaults' });
  });
  const byPort = new Map(fleets.map((f) => [f.specs[0].port, { fleet: f, starts: [] }]));
  const seen = new Map(); // pid → polls it has been looked at without matching (fork before exec)
  let t0;
  let stop = false;
  const watcher = (async () => {
    while (!stop) {
      const now = performance.now();
      for (const pid of procPids()) {
        const tries = seen.get(pid);
        if (tries === -1 || tries > 20) continue;
        const port = gatewayPort(argvOf(pid));
        if (port !== undefined && byPort.has(port)) {
          byPort.get(port).starts.push({ pid, atMs: now });
          seen.set(pid, -1);
        } else seen.set(pid, (tries ?? 0) + 1);
      }
      await sleep(5);
    }
  })();
  try {
    t0 = performance.now();
    await Promise.all(fleets.map((f) => f.start()));
    log(`crash: --crash-on-boot under ${fleets.map((f) => f.label).join(', ')} at once, watched ${opts.crashSeconds} s`);
    await sleep(opts.crashSeconds * 1000);
    stop = true;
    await watcher;
    const out = [];
    for (const [, { fleet: f, starts }] of byPort) {
      const first = starts[0]?.atMs ?? t0;
      const at = starts.map((s) => round3((s.atMs - first) / 1000));
      const delays = at.slice(1).map((x, i) => round3(x - at[i]));
      const state = await f.lastState('crasher');
      const gaveUp = /errored|FATAL/i.test(state ?? '');
      const retries = f instanceof Clawfleet ? f.events.filter((e) => e.event === 'transition' && e.gateway === 'crasher' && e.retryInMs !== undefined).map((e) => Math.round(e.retryInMs)) : undefined;
      const row = { supervisor: f.label, observedS: opts.crashSeconds, starts: starts.length, restarts: Math.max(0, starts.length - 1), startsAtS: at, delaysS: delays, lastStartAtS: at.at(-1), finalState: state, gaveUp, ...(retries && { backoffMs: retries }) };
      out.push(row);
      log(`crash ${f.label.padEnd(11)}: ${row.starts} starts, last at ${row.lastStartAtS} s; delays ${delays.slice(0, 8).join(', ')}${delays.length > 8 ? ` … ${delays.at(-1)}` : ''} s; final: ${state}`);
    }
    return out;
  } finally {
    stop = true;
    await watcher;
    for (const f of fleets) await f.teardown();
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  if (process.argv[2] === '--render') {
    // Re-renders the docs from the figures of the last run, e.g. after a change of the report's wording.
    const results = JSON.parse(readFileSync(path.join(ROOT, 'docs', 'benchmarks.json'), 'utf8'));
    writeFileSync(path.join(ROOT, 'docs', 'BENCHMARKS.md'), renderMarkdown(results));
    writeFileSync(path.join(ROOT, 'docs', 'benchmarks.svg'), renderSvg(results));
    log('rendered docs/BENCHMARKS.md and docs/benchmarks.svg from docs/benchmarks.json');
    return;
  }
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(CLI)) throw new UsageError(`${CLI} is missing: run npm run build first`);
  if (!existsSync('/proc/self/stat')) throw new UsageError('needs Linux /proc');
  const supervisors = [Clawfleet];
  const notes = [];
  let pm2Version;
  if (existsSync(PM2_BIN)) {
    pm2Version = JSON.parse(readFileSync(path.join(ROOT, 'node_modules', 'pm2', 'package.json'), 'utf8')).version;
    supervisors.push(Pm2);
  } else notes.push('PM2 skipped: node_modules/pm2 is missing (npm install).');
  let supervisordVersion;
  if (Supervisord.available()) {
    supervisordVersion = Supervisord.version();
    supervisors.push(Supervisord);
  } else notes.push('supervisord skipped: not installed (e.g. `apt-get install supervisor`).');
  for (const n of notes) log(`note: ${n}`);
  started.tmp = mkdtempSync(path.join(os.tmpdir(), 'clawfleet-peers-'));
  const t0 = Date.now();
  const results = {
    date: new Date().toISOString(),
    machine: { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '?', kernel: `${os.platform()} ${os.release()}`, memGB: round1(os.totalmem() / 1024 ** 3), loadAtStart: os.loadavg().map(round1) },
    versions: { clawfleet: JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version, pm2: pm2Version, supervisord: supervisordVersion },
    supervisors: supervisors.map((S) => S.label),
    options: opts,
    notes,
  };
  if (opts.only.includes('kill') || opts.only.includes('hang')) await benchSingle(opts, started.tmp, supervisors, results);
  if (opts.only.includes('idle')) results.idle = await benchIdle(opts, started.tmp, supervisors);
  if (opts.only.includes('tree')) results.tree = await benchTree(opts, started.tmp, supervisors);
  if (opts.only.includes('edit')) results.edit = await benchEdit(opts, started.tmp, supervisors);
  if (opts.only.includes('crash')) results.crash = await benchCrash(opts, started.tmp, supervisors);
  results.durationS = Math.round((Date.now() - t0) / 1000);
  await cleanup();
  const leftovers = ourProcesses(started.tmp);
  if (leftovers.length) log(`warning: ${leftovers.length} processes still mention ${started.tmp}`);
  const md = renderMarkdown(results);
  if (opts.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else process.stdout.write(`${md}\n`);
  if (opts.write) {
    mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
    writeFileSync(path.join(ROOT, 'docs', 'BENCHMARKS.md'), md);
    writeFileSync(path.join(ROOT, 'docs', 'benchmarks.svg'), renderSvg(results));
    writeFileSync(path.join(ROOT, 'docs', 'benchmarks.json'), `${JSON.stringify(results, null, 1)}\n`);
    log(`wrote docs/BENCHMARKS.md, docs/benchmarks.svg and docs/benchmarks.json (${results.durationS} s)`);
  }
}

try {
  await main();
} catch (error) {
  process.stderr.write(`${error instanceof UsageError ? '' : 'benchmark failed: '}${error instanceof UsageError ? error.message : error.stack ?? error}\n`);
  await cleanup();
  process.exit(error instanceof UsageError ? 2 : 1);
}
