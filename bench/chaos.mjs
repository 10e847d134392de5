// Chaos run: random faults on the main gateways while the rescue is probed every 100 ms.
//   npm run chaos -- --seconds 600 [--seed S] [--write docs/CHAOS.md]
// Faults: SIGKILL, SIGSTOP, odd exit codes, hangs, memory growth past limits.memory, good and bad
// manifest edits, and SIGKILL of the supervisor followed by a new one that adopts the fleet.
// Prints rescue availability, restarts, orphans, leaked ports and the supervisor's RSS drift, and
// exits 1 if the rescue missed a probe, a process or port leaked, or memory grew without bound.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(REPO, 'dist', 'cli.js');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const SECONDS = option('seconds', 60);
// --write FILE: also write the summary as Markdown (docs/CHAOS.md holds the published run).
const WRITE = args.includes('--write') ? args[args.indexOf('--write') + 1] : undefined;
const SEED = option('seed', Date.now() % 100000);
const PORTS = { main: 31000, main2: 31200, rescue: 31400 };
const MEMORY_SLOPE_LIMIT_MB_PER_MIN = 2;
// A supervisor is killed at most this often, so that each one lives long enough for its memory trend to
// mean something: three supervisors in a 10-minute run, each judged on its RSS after a warm-up.
const SUPERVISOR_KILL_SPACING_MS = Math.max(20, SECONDS / 3) * 1000;
const RSS_WARMUP_MS = 30_000;
const RSS_MIN_WINDOW_MIN = 2.5;

let seed = SEED;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = (list) => list[Math.floor(random() * list.length)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(path.join(os.tmpdir(), 'clawfleet-chaos-'));
const manifestPath = path.join(dir, 'fleet.yaml');
function manifest(version, valid = true) {
  const text = `version: 1
supervisor:
  runtimeDir: ${dir}/run
  sampleInterval: 500ms
defaults:
  command: clawfleet
  args: [demo-gateway, --port, "{port}", --boot-delay, 50ms]
  stateDir: "{runtimeDir}/state/{name}"
  workspace: "{runtimeDir}/ws/{name}"
  health:
    startPeriod: 10s
    startup: { http: /startupz, interval: 100ms }
    liveness: { http: /healthz, interval: 300ms, timeout: 300ms, failureThreshold: 3 }
    readiness: { http: /readyz, interval: 300ms, timeout: 300ms }
  restart: { backoff: { initial: 100ms, max: 2s }, resetAfter: 5s }
  stop: { timeout: 1s }
gateways:
  main:
    port: ${PORTS.main}
    env: { EDIT: "${version}" }
    limits: { memory: 250MB }
  main2:
    port: ${PORTS.main2}
    limits: { memory: 250MB }
  rescue:
    role: rescue
    port: ${PORTS.rescue}
`;
  return valid ? text : `${text}  broken: [unclosed\n`;
}
function save(text) {
  writeFileSync(`${manifestPath}.tmp`, text);
  renameSync(`${manifestPath}.tmp`, manifestPath);
}

const supervisors = [];
const pids = new Set();
function startSupervisor() {
  const proc = spawn(process.execPath, [CLI, 'up', '-c', manifestPath], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir, LANG: 'C.UTF-8' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const record = { proc, rss: [], restarts: 0, startedAt: Date.now() };
  let buffer = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk) => {
    buffer += chunk;
    let i;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      try {
        const e = JSON.parse(line);
        if ((e.event === 'spawned' || e.event === 'adopted') && e.pid) pids.add(e.pid);
      } catch {}
    }
  });
  supervisors.push(record);
  return record;
}

function get(port, urlPath, timeoutMs) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}
function post(port, urlPath) {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, method: 'POST', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}
function status() {
  return new Promise((resolve) => {
    const socket = net.createConnection(path.join(dir, 'run', 'control.sock'));
    let data = '';
    socket.setTimeout(3000, () => socket.destroy());
    socket.on('connect', () => socket.write('{"cmd":"status"}\n'));
    socket.on('data', (c) => (data += c));
    socket.on('close', () => {
      try {
        resolve(JSON.parse(data).status);
      } catch {
        resolve(undefined);
      }
    });
    socket.on('error', () => resolve(undefined));
  });
}
const rssOf = (pid) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
  } catch {
    return undefined;
  }
};
const alive = (pid) => {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};
function listening(port) {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return ['/proc/net/tcp', '/proc/net/tcp6'].some((f) => {
    try {
      return readFileSync(f, 'utf8').split('\n').some((l) => l.trim().split(/\s+/)[1]?.endsWith(`:${hex}`) && l.trim().split(/\s+/)[3] === '0A');
    } catch {
      return false;
    }
  });
}
async function waitFor(check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(50);
  }
  return false;
}

const faults = { count: {} };
async function fault() {
  const current = supervisors[supervisors.length - 1];
  const s = await status();
  const gateway = pick(['main', 'main2']);
  const pid = s?.gateways.find((g) => g.name === gateway)?.pid;
  let kind = pick(['sigkill', 'sigkill', 'sigstop', 'exit', 'hang', 'grow', 'good-edit', 'bad-edit', 'supervisor']);
  if (kind === 'supervisor' && Date.now() - current.startedAt < SUPERVISOR_KILL_SPACING_MS) kind = 'sigkill';
  faults.count[kind] = (faults.count[kind] ?? 0) + 1;
  switch (kind) {
    case 'sigkill':
      if (pid) process.kill(pid, 'SIGKILL');
      break;
    case 'sigstop':
      if (pid) process.kill(pid, 'SIGSTOP');
      break;
    case 'exit':
      await post(PORTS[gateway], `/__fault/exit?code=${pick([0, 1, 2, 3, 137, 255])}`);
      break;
    case 'hang':
      await post(PORTS[gateway], '/__fault/hang');
      break;
    case 'grow':
      await post(PORTS[gateway], '/__fault/grow?mb=300');
      break;
    case 'good-edit':
      save(manifest(Math.floor(random() * 1e6)));
      break;
    case 'bad-edit':
      save(manifest(0, false));
      await sleep(800);
      save(manifest(Math.floor(random() * 1e6)));
      break;
    case 'supervisor':
      current.proc.kill('SIGKILL');
      await new Promise((r) => (current.proc.exitCode !== null || current.proc.signalCode !== null ? r() : current.proc.once('exit', r)));
      await sleep(200 + random() * 800);
      startSupervisor();
      await waitFor(async () => (await status()) !== undefined, 10_000);
      break;
  }
}

async function main() {
  console.log(`chaos: ${SECONDS} s, seed ${SEED}, temp dir ${dir}`);
  save(manifest(0));
  startSupervisor();
  const up = await waitFor(async () => (await status())?.gateways.every((g) => g.state === 'ready'), 20_000);
  if (!up) throw new Error('the fleet did not become ready');

  const probe = { ok: 0, failed: 0, failures: [] };
  const prober = setInterval(() => {
    const at = Date.now();
    void get(PORTS.rescue, '/healthz', 1000).then((code) => {
      if (code === 200) probe.ok += 1;
      else {
        probe.failed += 1;
        probe.failures.push(new Date(at).toISOString());
      }
    });
  }, 100);
  const sampler = setInterval(() => {
    const current = supervisors[supervisors.length - 1];
    const rss = current.proc.pid && rssOf(current.proc.pid);
    if (rss) current.rss.push({ t: Date.now(), rss });
  }, 2000);

  const end = Date.now() + SECONDS * 1000;
  let lastStatus;
  while (Date.now() < end) {
    await sleep(1000 + random() * 2000);
    await fault();
    lastStatus = (await status()) ?? lastStatus;
  }
  // Let the last faults settle, then count what the fleet went through.
  await waitFor(async () => (await status())?.gateways.every((g) => g.state === 'ready'), 30_000);
  lastStatus = (await status()) ?? lastStatus;
  clearInterval(prober);
  clearInterval(sampler);

  const current = supervisors[supervisors.length - 1];
  current.proc.kill('SIGTERM');
  const exitCode = await new Promise((r) => current.proc.once('exit', (code) => r(code)));
  await sleep(500);
  const orphans = [...pids].filter(alive);
  const leaked = Object.values(PORTS).filter(listening);

  // The trend of each supervisor's RSS after its warm-up (least squares), judged over 2.5 min or more.
  const drift = supervisors
    .map((s) => s.rss.filter((p) => p.t - s.startedAt >= RSS_WARMUP_MS))
    .filter((samples) => samples.length >= 10)
    .map((samples) => {
      const n = samples.length;
      const t0 = samples[0].t;
      const xs = samples.map((p) => (p.t - t0) / 60000);
      const ys = samples.map((p) => p.rss / 1048576);
      const mx = xs.reduce((a, b) => a + b, 0) / n;
      const my = ys.reduce((a, b) => a + b, 0) / n;
      const slope = xs.reduce((acc, x, i) => acc + (x - mx) * (ys[i] - my), 0) / xs.reduce((acc, x) => acc + (x - mx) ** 2, 0);
      return { minutes: xs[n - 1], first: ys[0], last: ys[n - 1], max: Math.max(...ys), slope };
    });
  const restarts = lastStatus?.gateways.map((g) => `${g.name} ${g.restarts}`).join(', ');
  const total = probe.ok + probe.failed;
  const lines = [
    `faults: ${Object.entries(faults.count).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `supervisors: ${supervisors.length} (killed and replaced ${supervisors.length - 1} times); last exit ${exitCode}`,
    `rescue: ${probe.ok}/${total} probes answered (${((100 * probe.ok) / Math.max(1, total)).toFixed(3)} %)${probe.failed ? `; missed at ${probe.failures.slice(0, 5).join(' ')}` : ''}`,
    `restarts (last supervisor's count): ${restarts}`,
    `orphans after stop: ${orphans.length}${orphans.length ? ` (${orphans.join(' ')})` : ''}; leaked ports: ${leaked.length ? leaked.join(' ') : 'none'}`,
    ...drift.map((d) => `supervisor RSS over ${d.minutes.toFixed(1)} min after a ${RSS_WARMUP_MS / 1000} s warm-up: ${d.first.toFixed(1)} -> ${d.last.toFixed(1)} MB (max ${d.max.toFixed(1)}), trend ${d.slope.toFixed(2)} MB/min${d.minutes >= RSS_MIN_WINDOW_MIN ? '' : ' (too short to judge)'}`),
  ];
  const unbounded = drift.filter((d) => d.minutes >= RSS_MIN_WINDOW_MIN && d.slope > MEMORY_SLOPE_LIMIT_MB_PER_MIN);
  const failed = probe.failed > 0 || orphans.length > 0 || leaked.length > 0 || unbounded.length > 0 || exitCode !== 0;
  lines.push(failed ? 'CHAOS FAILED' : 'chaos passed');
  for (const line of lines) console.log(line);
  if (WRITE) writeFileSync(WRITE, markdown(lines));
  return failed ? 1 : 0;
}

function markdown(lines) {
  const cpu = os.cpus();
  return `# Chaos run

<!-- Written by \`npm run chaos -- --seconds ${SECONDS} --write docs/CHAOS.md\` (bench/chaos.mjs); edit that, not this file. -->

Measured ${new Date().toISOString().slice(0, 10)}: ${SECONDS} s of random faults, seed ${SEED}, on ${cpu.length} × ${cpu[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GB, ${os.platform()} ${os.release()}, Node ${process.version}.

Two main gateways and a rescue (clawfleet's demo gateway). Every 1–3 s one fault hits a main or the
supervisor: SIGKILL, SIGSTOP, an odd exit code, a hang, memory growth past \`limits.memory\`, a good or a
bad manifest edit (written aside and renamed over it, as editors save), or SIGKILL of the supervisor followed by a new
\`clawfleet up\` that adopts the fleet. The rescue is probed on \`/healthz\` every 100 ms throughout, on
a fresh connection, timeout 1 s. At the end the fleet is stopped with SIGTERM and /proc and the ports
are checked. The supervisor is killed at most every ${SUPERVISOR_KILL_SPACING_MS / 1000} s, so each one lives long enough to
judge its memory. The run fails if the rescue missed a probe, a process or port leaked, or a supervisor's
RSS grew by more than ${MEMORY_SLOPE_LIMIT_MB_PER_MIN} MB/min (least squares, after a ${RSS_WARMUP_MS / 1000} s warm-up, over ${RSS_MIN_WINDOW_MIN} min or more).

${lines.map((line) => `- ${line}`).join('\n')}

Reproduce: \`npm ci && npm run chaos -- --seconds ${SECONDS} [--seed ${SEED}]\`.
`;
}

let code = 1;
try {
  code = await main();
} catch (error) {
  console.error(`chaos: ${error.message}`);
} finally {
  for (const s of supervisors) if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGKILL');
  for (const pid of pids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  rmSync(dir, { recursive: true, force: true });
}
process.exit(code);
