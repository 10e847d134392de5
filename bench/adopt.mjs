// Benchmark of a supervisor restart under a running fleet (SPEC §4: the supervisor is not a single
// point of failure), as shipped (dist/). It prints figures; it is not a test.
//
//   npm run build && node bench/adopt.mjs [--rounds 5] [--sizes 2,20] [--json]
//
// For each fleet size N (demo gateways, kind openclaw, one rescue): start `clawfleet up`, wait until all
// are ready, then per round SIGKILL the supervisor (only its pid: the gateways run in sessions of their
// own) and start a new `up` on the same manifest. Measured per round:
//   - spawn of the new `up` → its first status answer on the control socket that lists every gateway
//     with a pid ("reports the fleet"), and → every gateway `ready` in that status again;
//   - gateway pids before and after (adopted: same pids, nothing started twice), and how many
//     demo-gateway processes of the fleet exist afterwards;
//   - failed GET /healthz on the rescue, probed every 50 ms on a fresh connection throughout
//     (target: zero).
//
// Node built-ins only. Everything it starts is stopped on exit, on errors and on Ctrl-C.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const BASE_PORT = 26000; // sizes up to 20, 120 apart: 26000..28280
const PROBE_EVERY_MS = 50;

class UsageError extends Error {}

function parseArgs(argv) {
  const opts = { rounds: 5, sizes: [2, 20], json: false };
  for (let i = 0; i < argv.length; i += 1) {
    const [flag, inline] = argv[i].includes('=') ? argv[i].split(/=(.*)/s, 2) : [argv[i], undefined];
    const value = () => inline ?? argv[++i];
    if (flag === '--rounds') opts.rounds = Number(value());
    else if (flag === '--sizes') opts.sizes = value().split(',').map(Number);
    else if (flag === '--json') opts.json = true;
    else throw new UsageError(`unknown option ${argv[i]}`);
  }
  if (!Number.isInteger(opts.rounds) || opts.rounds < 1) throw new UsageError('--rounds needs a positive integer');
  if (opts.sizes.some((n) => !Number.isInteger(n) || n < 2 || n > 20)) throw new UsageError('--sizes: each from 2 to 20');
  return opts;
}

// ---------------------------------------------------------------------------------------------
// What this process started, for cleanup.

const started = { supervisors: new Set(), tmp: new Set() };
const log = (line) => process.stderr.write(`${line}\n`);

function kill(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}

/** Demo gateways (and anything else) whose environment names one of our temp dirs. */
function ourGateways(dir) {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (!cmd.includes('demo-gateway')) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (stat[stat.lastIndexOf(')') + 2] === 'Z') continue;
      if (readFileSync(`/proc/${name}/environ`, 'utf8').includes(dir)) out.push(Number(name));
    } catch {
      // gone while we looked
    }
  }
  return out;
}

async function cleanup() {
  for (const child of started.supervisors) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([new Promise((resolve) => child.once('exit', resolve)), sleep(15_000)]);
    }
  }
  for (const dir of started.tmp) {
    for (const pid of ourGateways(dir)) kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => void cleanup().finally(() => process.exit(130)));
}

// ---------------------------------------------------------------------------------------------

function startUp(manifest) {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('CLAWFLEET_') || name.startsWith('OPENCLAW_')) delete env[name];
  const child = spawn(process.execPath, [CLI, 'up', '-c', manifest], { cwd: ROOT, env, detached: true, stdio: 'ignore' });
  started.supervisors.add(child);
  child.once('exit', () => started.supervisors.delete(child));
  return child;
}

/** One status request over the control socket; undefined when nobody answers. */
function status(socketPath, timeoutMs = 1000) {
  return new Promise((resolve) => {
    let data = '';
    const socket = net.createConnection(socketPath);
    const done = (value) => {
      socket.destroy();
      clearTimeout(timer);
      resolve(value);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on('connect', () => socket.write('{"cmd":"status"}\n'));
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      data += chunk;
      const newline = data.indexOf('\n');
      if (newline < 0) return;
      try {
        const answer = JSON.parse(data.slice(0, newline));
        done(answer.ok ? answer.status : undefined);
      } catch {
        done(undefined);
      }
    });
    socket.on('error', () => done(undefined));
  });
}

/** Polls status every 10 ms until `accept(status)`; resolves with the time it did. */
async function untilStatus(socketPath, accept, deadlineMs = 60_000) {
  const deadline = performance.now() + deadlineMs;
  for (;;) {
    const s = await status(socketPath);
    const at = performance.now();
    if (s && accept(s)) return { at, status: s };
    if (at > deadline) throw new Error('no matching status within the deadline');
    await sleep(10);
  }
}

/** GET /healthz on `port` every PROBE_EVERY_MS until stopped; counts failures. */
function startProber(port) {
  const tally = { probes: 0, failures: 0, firstFailure: undefined };
  let stopped = false;
  const once = () =>
    new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false, timeout: 500 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
    });
  const loop = (async () => {
    while (!stopped) {
      const ok = await once();
      tally.probes += 1;
      if (!ok) {
        tally.failures += 1;
        tally.firstFailure ??= new Date().toISOString();
      }
      await sleep(PROBE_EVERY_MS);
    }
  })();
  return { tally, stop: async () => ((stopped = true), await loop) };
}

const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.max(0, Math.ceil(q * values.length) - 1))];
const median = (values) => {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function benchSize(n, rounds) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clawfleet-adopt-'));
  started.tmp.add(dir);
  const gateways = {};
  for (let i = 0; i < n; i += 1) gateways[i === 0 ? 'rescue' : `gw${String(i).padStart(2, '0')}`] = { port: BASE_PORT + i * 120, ...(i === 0 && { role: 'rescue' }) };
  const manifest = path.join(dir, 'fleet.yaml');
  writeFileSync(
    manifest,
    JSON.stringify({
      version: 1,
      supervisor: { runtimeDir: path.join(dir, 'run') },
      defaults: {
        command: 'clawfleet',
        args: ['demo-gateway', '--port', '{port}', '--boot-delay', '0ms'],
        stateDir: '{runtimeDir}/state/{name}',
        workspace: '{runtimeDir}/ws/{name}',
        health: { startup: { http: '/startupz', interval: '100ms' }, liveness: { http: '/healthz', interval: '2s' }, readiness: { http: '/readyz', interval: '2s' } },
      },
      gateways,
    }),
  );
  const socket = path.join(dir, 'run', 'control.sock');
  const names = Object.keys(gateways);
  const allUp = (s) => names.every((name) => s.gateways.find((g) => g.name === name)?.pid);
  const allReady = (s) => names.every((name) => s.gateways.find((g) => g.name === name)?.state === 'ready');

  let supervisor = startUp(manifest);
  await untilStatus(socket, allReady);
  const prober = startProber(BASE_PORT);
  const rows = [];
  try {
    for (let round = 0; round < rounds; round += 1) {
      const before = (await untilStatus(socket, allReady)).status;
      const pidsBefore = Object.fromEntries(before.gateways.map((g) => [g.name, g.pid]));
      await sleep(500);
      const exited = new Promise((resolve) => supervisor.once('exit', resolve));
      supervisor.kill('SIGKILL');
      await exited;
      await sleep(200); // no supervisor at all for a moment: the gateways are on their own
      const t0 = performance.now();
      supervisor = startUp(manifest);
      const reported = await untilStatus(socket, allUp);
      const ready = await untilStatus(socket, allReady);
      const pidsAfter = Object.fromEntries(ready.status.gateways.map((g) => [g.name, g.pid]));
      const changed = names.filter((name) => pidsBefore[name] !== pidsAfter[name]);
      const processes = ourGateways(dir).length;
      const row = { round: round + 1, reportMs: Math.round(reported.at - t0), readyMs: Math.round(ready.at - t0), changedPids: changed.length, processes, expected: n };
      rows.push(row);
      log(`  ${n} gateways, round ${row.round}: fleet reported ${row.reportMs} ms after the new up was spawned, all ready ${row.readyMs} ms; pids changed: ${row.changedPids}; demo-gateway processes: ${processes} of ${n}`);
    }
  } finally {
    await prober.stop();
    supervisor.kill('SIGTERM');
    await new Promise((resolve) => (supervisor.exitCode !== null ? resolve() : supervisor.once('exit', resolve)));
  }
  const left = ourGateways(dir).length;
  return {
    gateways: n,
    rounds: rows,
    reportMedianMs: median(rows.map((r) => r.reportMs)),
    reportP90Ms: quantile(rows.map((r) => r.reportMs), 0.9),
    readyMedianMs: median(rows.map((r) => r.readyMs)),
    readyP90Ms: quantile(rows.map((r) => r.readyMs), 0.9),
    changedPids: rows.reduce((sum, r) => sum + r.changedPids, 0),
    duplicates: rows.reduce((sum, r) => sum + Math.max(0, r.processes - r.expected), 0),
    rescueProbes: prober.tally.probes,
    rescueFailures: prober.tally.failures,
    leftAfterStop: left,
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const results = [];
  for (const n of opts.sizes) results.push(await benchSize(n, opts.rounds));
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    return;
  }
  const lines = [
    '',
    `clawfleet supervisor restart — node ${process.version}, ${os.cpus().length} CPU (${os.cpus()[0]?.model ?? '?'}), ${opts.rounds} rounds of SIGKILL + new up per size`,
    '',
    '  gateways  fleet reported (median / p90)  all ready (median / p90)  pids changed  duplicates  rescue probes failed  left after stop',
  ];
  for (const r of results) {
    lines.push(
      `  ${String(r.gateways).padStart(8)}  ${`${r.reportMedianMs} / ${r.reportP90Ms} ms`.padStart(29)}  ${`${r.readyMedianMs} / ${r.readyP90Ms} ms`.padStart(24)}  ${String(r.changedPids).padStart(12)}  ${String(r.duplicates).padStart(10)}  ${`${r.rescueFailures} of ${r.rescueProbes}`.padStart(20)}  ${String(r.leftAfterStop).padStart(15)}`,
    );
  }
  lines.push('  targets: rescue probes failed 0; pids changed 0; duplicates 0', '');
  process.stdout.write(`${lines.join('\n')}\n`);
}

try {
  await main();
} catch (error) {
  process.stderr.write(error instanceof UsageError ? `${error.message}\n` : `benchmark failed: ${error.stack ?? error}\n`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
} finally {
  await cleanup();
}
