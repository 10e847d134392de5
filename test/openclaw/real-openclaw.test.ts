/**
 * Real OpenClaw gateways under `clawfleet up` (`npm run test:openclaw`, opt-in).
 *
 * Node 24 and openclaw come from the globalSetup (test/openclaw/setup.ts). clawfleet itself runs on
 * this Node (20) through `process.execPath dist/cli.js`; its PATH starts with Node 24's bin dir, and
 * the gateways inherit that PATH, so `openclaw`'s `#!/usr/bin/env node` finds Node 24.
 *
 * Without the globalSetup (e.g. picked up by `npm test`'s integration project) everything is skipped.
 *
 * Assertions are about behaviour; timings and resources are printed as `[measure]` lines, never
 * asserted, since other work may run on the machine meanwhile.
 */
import { type ChildProcess, execSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import YAML from 'yaml';
import { runCli, REPO } from '../helpers/cli.js';
import { alive, cleanupFleets, type Fleet, type LogEvent, startFleet } from '../helpers/fleet.js';
import { waitFor } from '../helpers/wait.js';

const oc = inject('openclaw');

const MAIN_PORT = 28500;
const RESCUE_PORT = 28700;
const THIRD_PORT = 28900; // check 6: its state dir is taken by a hand-started gateway
const SQUATTER_PORT = 29200;
const HAND_PORTS = { main: 29400, rescue: 29600 };
const FLEET2_PORTS = { main: 29800, rescue: 30000 };

/** Variables `up` gets as if it ran under systemd, and a secret of its own (check 3). */
const SYSTEMD_ENV: Record<string, string> = {
  INVOCATION_ID: '0123456789abcdef0123456789abcdef',
  JOURNAL_STREAM: '8:424242',
  SYSTEMD_EXEC_PID: '4242',
  MANAGERPID: '1',
  OPENCLAW_GATEWAY_TOKEN: 'supervisor-secret-token',
  OPENCLAW_SYSTEMD_UNIT: 'clawfleet.service',
  OPENCLAW_SERVICE_MARKER: 'systemd',
  OPENCLAW_GATEWAY_PORT: '18789',
  OPENCLAW_PROFILE: 'supervisor-profile',
  SUPERVISOR_ONLY_SECRET: 'x',
};

const measures: string[] = [];
function measure(line: string): void {
  measures.push(line);
  console.log(`[measure] ${line}`);
}
function note(line: string): void {
  measures.push(`note: ${line}`);
  console.log(`[note] ${line}`);
}

const secs = (ms: number | undefined): string => (ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(1)} s`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// /proc helpers

interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  session: number;
  comm: string;
  utime: number;
  stime: number;
  starttime: number;
}

function procInfo(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const f = stat.slice(close + 2).split(' ');
    if (f[0] === 'Z' || f[0] === 'X') return undefined;
    return {
      pid,
      comm: stat.slice(stat.indexOf('(') + 1, close),
      ppid: Number(f[1]),
      pgrp: Number(f[2]),
      session: Number(f[3]),
      utime: Number(f[11]),
      stime: Number(f[12]),
      starttime: Number(f[19]),
    };
  } catch {
    return undefined;
  }
}

function allPids(): number[] {
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number);
}

function environOf(pid: number): Record<string, string> {
  const raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
  return Object.fromEntries(raw.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

function rawEnviron(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return '';
  }
}

function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Every live descendant of `roots` (by ppid), plus every process in the roots' sessions. */
function treeOf(roots: number[]): ProcInfo[] {
  const infos = allPids().map(procInfo).filter((p): p is ProcInfo => p !== undefined);
  const inTree = new Set(roots.filter((r) => infos.some((p) => p.pid === r)));
  const sessions = new Set(roots);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of infos) {
      if (!inTree.has(p.pid) && (inTree.has(p.ppid) || sessions.has(p.session))) {
        inTree.add(p.pid);
        grew = true;
      }
    }
  }
  return infos.filter((p) => inTree.has(p.pid));
}

/** Live processes whose environment mentions `needle` (our temp dirs), except this test process. */
function processesMentioning(needle: string): ProcInfo[] {
  return allPids()
    .filter((pid) => pid !== process.pid && rawEnviron(pid).includes(needle))
    .map(procInfo)
    .filter((p): p is ProcInfo => p !== undefined);
}

const CLK_TCK = (() => {
  try {
    return Number(execSync('getconf CLK_TCK', { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function killQuietly(target: number, signal: NodeJS.Signals): void {
  try {
    process.kill(target, signal);
  } catch {
    // gone
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP probes

interface Answer {
  code: number;
  body: string;
  ms: number;
  error?: string;
}

function probe(port: number, urlPath: string, timeoutMs = 1000): Promise<Answer> {
  const started = Date.now();
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body: body.slice(0, 300), ms: Date.now() - started }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ code: 0, body: '', ms: Date.now() - started, error: e.code ?? e.message }));
  });
}

/** Milestones of a booting gateway, in ms since `since`: first answer and first 200 of each probe. */
interface BootTimes {
  healthz?: number;
  startupz?: number;
  readyz?: number;
  firstStartupzStatus?: number;
}

async function watchBoot(port: number, since: number, deadlineMs: number, stop: () => boolean = () => false): Promise<BootTimes> {
  const times: BootTimes = {};
  const end = since + deadlineMs;
  while (Date.now() < end && !stop()) {
    for (const p of ['healthz', 'startupz', 'readyz'] as const) {
      if (times[p] !== undefined) continue;
      const a = await probe(port, `/${p}`, 1000);
      if (p === 'startupz' && a.code !== 0 && times.firstStartupzStatus === undefined) times.firstStartupzStatus = a.code;
      if (a.code === 200) times[p] = Date.now() - since;
    }
    if (times.readyz !== undefined && times.healthz !== undefined && times.startupz !== undefined) break;
    await sleep(100);
  }
  return times;
}

/** Probes `port` every `everyMs` until stopped; counts and keeps the failures. */
function startProber(port: number, urlPath: string, everyMs = 100) {
  const state = { total: 0, failures: [] as Array<{ at: number; code: number; error?: string }>, running: true };
  const loop = async () => {
    while (state.running) {
      const tick = Date.now();
      const a = await probe(port, urlPath, 1000);
      state.total += 1;
      if (a.code !== 200) state.failures.push({ at: tick, code: a.code, ...(a.error ? { error: a.error } : {}) });
      const wait = everyMs - (Date.now() - tick);
      if (wait > 0) await sleep(wait);
    }
  };
  const done = loop();
  return {
    state,
    stop: async () => {
      state.running = false;
      await done;
      return state;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Gateways started by hand, with the environment clawfleet would give them

interface HandGateway {
  name: string;
  port: number;
  proc: ChildProcess;
  pid: number;
  root: string;
  log: string;
  spawnedAt: number;
  exit?: { code: number | null; signal: string | null; at: number };
  exited: Promise<void>;
}

const handGateways = new Set<HandGateway>();
const tempRoots = new Set<string>();

function handEnv(root: string, name: string, port: number, stateDir = path.join(root, 'state', name)): Record<string, string> {
  return {
    PATH: `${oc.node24Bin}${path.delimiter}${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: root,
    LANG: 'C.UTF-8',
    OPENCLAW_STATE_DIR: stateDir,
    OPENCLAW_CONFIG_PATH: path.join(stateDir, 'openclaw.json'),
    OPENCLAW_PROFILE: name,
    OPENCLAW_GATEWAY_PORT: String(port),
  };
}

function startByHand(root: string, name: string, port: number, stateDir?: string): HandGateway {
  const cwd = path.join(root, 'cwd', name);
  const logDir = path.join(root, 'logs');
  mkdirSync(cwd, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const log = path.join(logDir, `${name}-${port}.log`);
  const fd = openSync(log, 'a');
  const proc = spawn(oc.openclaw, ['gateway', '--port', String(port), '--bind', 'loopback', '--allow-unconfigured'], {
    cwd,
    env: handEnv(root, name, port, stateDir),
    stdio: ['ignore', fd, fd],
    detached: true, // own session, like clawfleet does
  });
  closeSync(fd);
  const gateway: HandGateway = { name, port, proc, pid: proc.pid!, root, log, spawnedAt: Date.now(), exited: Promise.resolve() };
  gateway.exited = new Promise((resolve) =>
    proc.on('exit', (code, signal) => {
      gateway.exit = { code, signal, at: Date.now() };
      resolve();
    }),
  );
  handGateways.add(gateway);
  return gateway;
}

/** SIGTERM, then SIGKILL to the group after `graceMs`; resolves with how long the exit took. */
async function stopByHand(g: HandGateway, graceMs = 30_000): Promise<number | undefined> {
  // Read through a function: TypeScript would keep the narrowing of `g.exit` across the awaits.
  const exit = (): HandGateway['exit'] => g.exit;
  if (exit()) return undefined;
  const sent = Date.now();
  killQuietly(g.pid, 'SIGTERM');
  await Promise.race([g.exited, sleep(graceMs)]);
  const ended = exit();
  if (!ended) {
    killQuietly(-g.pid, 'SIGKILL');
    killQuietly(g.pid, 'SIGKILL');
    await g.exited;
    return undefined;
  }
  return ended.at - sent;
}

function newRoot(prefix: string): string {
  const root = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempRoots.add(root);
  return root;
}

// ---------------------------------------------------------------------------------------------
// The fleet

/** config/openclaw.yaml's defaults, with the installed binary and every path under the temp dir. */
function realManifest(gateways: Record<string, Record<string, unknown>>): string {
  const shipped = YAML.parse(readFileSync(path.join(REPO, 'config', 'openclaw.yaml'), 'utf8')) as { defaults: Record<string, unknown> };
  const manifest = {
    version: 1,
    supervisor: { runtimeDir: '{{dir}}/run' },
    defaults: {
      ...shipped.defaults,
      command: oc.openclaw,
      stateDir: '{runtimeDir}/state/{name}',
      workspace: '{runtimeDir}/workspace/{name}',
    },
    gateways,
  };
  return YAML.stringify(manifest);
}

const isTransition = (gateway: string, to?: string) => (e: LogEvent) => e.event === 'transition' && e.gateway === gateway && (to === undefined || e.to === to);
const eventTime = (e: LogEvent): number => Number(e.time);

function upEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: `${oc.node24Bin}${path.delimiter}${process.env.PATH ?? '/usr/bin:/bin'}`, ...extra };
}

interface StatusRow {
  name: string;
  state: string;
  pid: number | null;
  restarts: number;
  cpu?: number | null;
  memoryBytes?: number | null;
  lastExit?: unknown;
  health?: { live?: boolean; ready?: boolean };
}

async function status(fleet: Fleet): Promise<StatusRow[]> {
  const run = await runCli(['status', '--json', '-c', fleet.manifest], { env: { PATH: upEnv().PATH! } });
  if (run.code !== 0) throw new Error(`status --json exited ${run.code}: ${run.stderr}`);
  return (JSON.parse(run.stdout) as { gateways: StatusRow[] }).gateways;
}

function transitionsOf(fleet: Fleet, gateway: string, since = 0): string[] {
  return fleet.events
    .slice(since)
    .filter(isTransition(gateway))
    .map((e) => `${new Date(eventTime(e)).toISOString().slice(11, 23)} ${e.from}→${e.to}${e.reason ? ` (${e.reason})` : ''} restarts=${String(e.restarts)}`);
}

function eventLines(fleet: Fleet, since: number, gateway?: string): string {
  return fleet.events
    .slice(since)
    .filter((e) => gateway === undefined || e.gateway === gateway)
    .map((e) => JSON.stringify(e))
    .join('\n');
}

/** Kills everything still running that this file started: supervisors, gateways, their workers. */
async function sweep(): Promise<void> {
  for (const g of handGateways) {
    if (!g.exit) {
      killQuietly(-g.pid, 'SIGKILL');
      killQuietly(g.pid, 'SIGKILL');
    }
  }
  // cleanupFleets: SIGTERM each supervisor (8 s), SIGKILL, SIGKILL every spawned pid and group.
  // Before it removes the temp dirs, note them: OpenClaw's workers keep the dir in their environment.
  const roots = [...tempRoots];
  for (const fleet of fleets) roots.push(fleet.dir);
  await cleanupFleets();
  for (let round = 0; round < 3; round++) {
    const left = roots.flatMap((root) => processesMentioning(root));
    if (left.length === 0) break;
    for (const p of left) {
      killQuietly(-p.pgrp, 'SIGKILL');
      killQuietly(p.pid, 'SIGKILL');
    }
    await sleep(200);
  }
  for (const root of tempRoots) rmSync(root, { recursive: true, force: true });
}

const fleets: Fleet[] = [];

// ---------------------------------------------------------------------------------------------

describe.skipIf(!oc).sequential('real OpenClaw gateways under clawfleet up', () => {
  afterAll(async () => {
    await sweep();
    console.log(`\n===== openclaw ${oc?.openclawVersion} on node ${oc?.nodeVersion}: summary =====\n${measures.join('\n')}\n`);
  }, 120_000);

  // Shared between the steps below (they run in order on one fleet).
  let fleet: Fleet;
  let mainPid: number;
  let rescuePid: number;
  let rescueProber: ReturnType<typeof startProber> | undefined;
  const handBoot: Record<string, BootTimes[]> = { main: [], rescue: [] };

  async function handRound(round: number): Promise<void> {
    const root = newRoot(`clawfleet-oc-hand${round}-`);
    const started = (['rescue', 'main'] as const).map((name) => startByHand(root, name, HAND_PORTS[name]));
    const boots = await Promise.all(started.map((g) => watchBoot(g.port, g.spawnedAt, 120_000, () => g.exit !== undefined)));
    started.forEach((g, i) => {
      handBoot[g.name]!.push(boots[i]!);
      measure(`round ${round} by hand, ${g.name} (2 booting at once): /healthz ${secs(boots[i]!.healthz)}, /startupz ${secs(boots[i]!.startupz)}, /readyz ${secs(boots[i]!.readyz)} after spawn`);
    });
    // Memory of an idle gateway tree started by hand.
    await sleep(3000);
    for (const g of started) {
      const tree = treeOf([g.pid]);
      measure(`round ${round} by hand, ${g.name}: ${tree.length} processes (${tree.map((p) => `${p.pid}:${p.comm}`).join(', ')}), RSS ${(tree.reduce((s, p) => s + rssBytes(p.pid), 0) / 2 ** 20).toFixed(0)} MiB`);
    }
    const before = started.flatMap((g) => treeOf([g.pid]).map((p) => p.pid));
    const stops = await Promise.all(started.map((g) => stopByHand(g)));
    started.forEach((g, i) => measure(`round ${round} by hand, ${g.name}: SIGTERM → exit ${g.exit?.code ?? g.exit?.signal} in ${secs(stops[i])}`));
    const lingering = await waitFor('hand-started workers to go', () => (before.every((pid) => !alive(pid)) ? 'gone' : undefined), 10_000).catch(() => before.filter(alive));
    if (lingering !== 'gone') note(`round ${round}: workers still alive 10 s after their gateway exited: ${String(lingering)}`);
    for (const g of started) expect(g.exit?.code, `${g.name} started by hand booted and stopped cleanly; log ${g.log}`).toBe(0);
  }

  it('measures a real gateway pair started by hand (round 1)', async () => {
    await handRound(1);
  });

  it('1: starts main and rescue as real OpenClaw gateways; both reach /readyz 200', async () => {
    fleet = startFleet(
      realManifest({ main: { port: MAIN_PORT }, rescue: { role: 'rescue', port: RESCUE_PORT } }),
      { env: upEnv({ ...SYSTEMD_ENV, NOTIFY_SOCKET: path.join(os.tmpdir(), 'clawfleet-oc-no-such-notify.sock') }) },
    );
    fleets.push(fleet);
    const t0 = Date.now();
    const boots = Promise.all(
      [MAIN_PORT, RESCUE_PORT].map((port) => watchBoot(port, t0, 180_000, () => fleet.exitCode !== null)),
    );
    const [mainReady, rescueReady] = await Promise.all([
      fleet.waitEvent('main ready', isTransition('main', 'ready'), 180_000),
      fleet.waitEvent('rescue ready', isTransition('rescue', 'ready'), 180_000),
    ]);
    const [mainBoot, rescueBoot] = await boots;
    const spawned = (g: string) => fleet.events.find((e) => e.event === 'spawned' && e.gateway === g)!;
    for (const [g, boot, ready] of [['main', mainBoot!, mainReady], ['rescue', rescueBoot!, rescueReady]] as const) {
      const offset = eventTime(spawned(g)) - t0; // our poller's clock started at t0, slightly before the spawn
      measure(
        `round 1 under clawfleet, ${g}: /healthz ${secs(boot.healthz! - offset)}, /startupz ${secs(boot.startupz! - offset)}, /readyz ${secs(boot.readyz! - offset)} after spawn (our 100 ms poller); clawfleet said ready ${secs(eventTime(ready) - eventTime(spawned(g)))} after spawn`,
      );
      expect(boot.firstStartupzStatus, '/startupz exists in this release (503 while starting, or 200)').toBeGreaterThan(0);
    }
    expect(fleet.events.filter((e) => e.event === 'spawned').map((e) => e.gateway)).toEqual(['rescue', 'main']);
    mainPid = fleet.pidOf('main')!;
    rescuePid = fleet.pidOf('rescue')!;
    expect((await probe(MAIN_PORT, '/readyz')).code).toBe(200);
    expect((await probe(RESCUE_PORT, '/readyz')).code).toBe(200);
    for (const g of ['main', 'rescue']) note(`${g} transitions at boot: ${transitionsOf(fleet, g).join('; ')}`);
    expect(fleet.events.filter((e) => e.event === 'exited'), eventLines(fleet, 0)).toEqual([]);
    // From here on the rescue is probed every 100 ms until the fleet is stopped.
    rescueProber = startProber(RESCUE_PORT, '/healthz', 100);
  });

  it('2: gives each gateway its own state dir, config path, workspace, working directory and log file', async () => {
    const run = path.join(fleet.dir, 'run');
    const validate = await runCli(['validate', '--json', '-c', fleet.manifest], { env: { PATH: upEnv().PATH! } });
    expect(validate.code, validate.stderr).toBe(0);
    const planned = JSON.parse(validate.stdout) as unknown;
    const envs: Record<string, Record<string, string>> = { main: environOf(mainPid), rescue: environOf(rescuePid) };
    const cwds: Record<string, string> = { main: readlinkSync(`/proc/${mainPid}/cwd`), rescue: readlinkSync(`/proc/${rescuePid}/cwd`) };
    for (const g of ['main', 'rescue']) {
      const env = envs[g]!;
      expect(env.OPENCLAW_STATE_DIR).toBe(path.join(run, 'state', g));
      expect(env.OPENCLAW_CONFIG_PATH).toBe(path.join(run, 'state', g, 'openclaw.json'));
      expect(env.OPENCLAW_PROFILE).toBe(g);
      expect(env.OPENCLAW_GATEWAY_PORT).toBe(String(g === 'main' ? MAIN_PORT : RESCUE_PORT));
      expect(env.HOME).toBe(fleet.dir);
      expect(env.PATH?.split(path.delimiter)[0]).toBe(oc.node24Bin);
      expect(cwds[g]).toBe(path.join(run, 'gateways', g));
      expect(existsSync(path.join(run, 'state', g)), `${g}'s state dir exists (OpenClaw writes into it)`).toBe(true);
      note(`${g}: state dir entries: ${readdirSync(path.join(run, 'state', g)).join(', ')}`);
    }
    expect(envs.main!.OPENCLAW_STATE_DIR).not.toBe(envs.rescue!.OPENCLAW_STATE_DIR);
    expect(cwds.main).not.toBe(cwds.rescue);

    // Captured stdout/stderr: one file each, each with its own gateway's boot.
    const logs = { main: readFileSync(path.join(run, 'logs', 'main.log'), 'utf8'), rescue: readFileSync(path.join(run, 'logs', 'rescue.log'), 'utf8') };
    for (const g of ['main', 'rescue'] as const) {
      expect(logs[g]).toMatch(/\[gateway\] http server listening/);
      expect(logs[g]).toMatch(/\[gateway\] ready/);
      const fileLog = /\[gateway\] log file: (\S+)/.exec(logs[g])?.[1];
      note(`${g}: OpenClaw's own file log is ${fileLog}`);
    }
    const mainFileLog = /\[gateway\] log file: (\S+)/.exec(logs.main)?.[1];
    const rescueFileLog = /\[gateway\] log file: (\S+)/.exec(logs.rescue)?.[1];
    expect(mainFileLog, "OpenClaw's own file logs differ (profile-suffixed)").not.toBe(rescueFileLog);

    // Workspace: OpenClaw 2026.9.x takes OPENCLAW_WORKSPACE_DIR, else <state dir>/workspace
    // (dist/workspace-default-*.mjs: resolveDefaultAgentWorkspaceDir). The manifest says
    // {runtimeDir}/workspace/{name}; the gateway must actually use that.
    const plannedWorkspace = (g: string): string | undefined => {
      const text = JSON.stringify(planned);
      const m = new RegExp(`"name":"${g}"[^]*?"workspace":"([^"]+)"`).exec(text);
      return m?.[1];
    };
    for (const g of ['main', 'rescue']) {
      const env = envs[g]!;
      const effective = env.OPENCLAW_WORKSPACE_DIR ?? path.join(env.OPENCLAW_STATE_DIR!, 'workspace');
      note(`${g}: planned workspace ${plannedWorkspace(g)}; OPENCLAW_WORKSPACE_DIR=${env.OPENCLAW_WORKSPACE_DIR ?? '(unset)'}; the gateway's effective workspace is ${effective}`);
      expect(effective, `${g}: the workspace OpenClaw uses is the one clawfleet planned`).toBe(path.join(run, 'workspace', g));
    }
  });

  it('3: passes no supervisor or systemd marker to the gateways or their workers', async () => {
    for (const [g, pid] of [['main', mainPid], ['rescue', rescuePid]] as const) {
      const tree = treeOf([pid]);
      note(`${g}: process tree ${tree.map((p) => `${p.pid}(${p.comm}, ppid ${p.ppid}, pgrp ${p.pgrp}, sid ${p.session})`).join(', ')}`);
      for (const p of tree) {
        let env: Record<string, string>;
        try {
          env = environOf(p.pid);
        } catch {
          continue;
        }
        for (const name of ['INVOCATION_ID', 'JOURNAL_STREAM', 'SYSTEMD_EXEC_PID', 'NOTIFY_SOCKET', 'MANAGERPID', 'OPENCLAW_SYSTEMD_UNIT', 'OPENCLAW_SERVICE_MARKER', 'SUPERVISOR_ONLY_SECRET', 'CLAWFLEET_LOG_LEVEL']) {
          expect(env, `${g} pid ${p.pid} (${p.comm})`).not.toHaveProperty(name);
        }
        expect(env.OPENCLAW_GATEWAY_TOKEN, `${g} pid ${p.pid}: the supervisor's token`).not.toBe(SYSTEMD_ENV.OPENCLAW_GATEWAY_TOKEN);
        expect(env.OPENCLAW_PROFILE, `${g} pid ${p.pid}: the supervisor's profile`).not.toBe(SYSTEMD_ENV.OPENCLAW_PROFILE);
        if (env.OPENCLAW_GATEWAY_PORT !== undefined) expect(env.OPENCLAW_GATEWAY_PORT).toBe(String(g === 'main' ? MAIN_PORT : RESCUE_PORT));
      }
    }
    // The proof OpenClaw did not think it ran under systemd comes in step 5 (SIGUSR2 restarts in place instead of exit 0).
  });

  it('measures the supervisor next to two idle real gateways over 60 s', async () => {
    const sup = fleet.proc.pid!;
    const cpuOf = (pids: number[]) => pids.reduce((s, pid) => s + ((procInfo(pid)?.utime ?? 0) + (procInfo(pid)?.stime ?? 0)), 0);
    const trees = () => ({ main: treeOf([mainPid]).map((p) => p.pid), rescue: treeOf([rescuePid]).map((p) => p.pid) });
    const t = trees();
    const start = { at: Date.now(), sup: cpuOf([sup]), main: cpuOf(t.main), rescue: cpuOf(t.rescue) };
    const samples: number[] = [];
    const gwSamples: Record<string, number[]> = { main: [], rescue: [] };
    for (let i = 0; i < 12; i++) {
      await sleep(5000);
      samples.push(rssBytes(sup));
      const now = trees();
      gwSamples.main!.push(now.main.reduce((s, pid) => s + rssBytes(pid), 0));
      gwSamples.rescue!.push(now.rescue.reduce((s, pid) => s + rssBytes(pid), 0));
    }
    const t2 = trees();
    const elapsed = (Date.now() - start.at) / 1000;
    const pct = (ticks: number) => `${((ticks / CLK_TCK / elapsed) * 100).toFixed(2)} %`;
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
    measure(`supervisor (node ${process.version}) over ${elapsed.toFixed(0)} s idle: RSS ${mib(Math.min(...samples))}–${mib(Math.max(...samples))}, CPU ${pct(cpuOf([sup]) - start.sup)} of one core`);
    for (const g of ['main', 'rescue'] as const) {
      measure(`${g} tree (${t2[g].length} processes) over the same ${elapsed.toFixed(0)} s: RSS ${mib(Math.min(...gwSamples[g]!))}–${mib(Math.max(...gwSamples[g]!))}, CPU ${pct(cpuOf(t2[g]) - start[g])} of one core`);
      measure(`${g} per process: ${t2[g].map((pid) => `${pid}:${procInfo(pid)?.comm} ${mib(rssBytes(pid))}`).join(', ')}`);
    }
    const rows = await status(fleet);
    for (const row of rows) measure(`status --json ${row.name}: state ${row.state}, cpu ${String(row.cpu)}, memoryBytes ${row.memoryBytes ? mib(row.memoryBytes) : String(row.memoryBytes)}, restarts ${row.restarts}`);
    expect(rows.map((r) => r.state).sort()).toEqual(['ready', 'ready']);
  });

  it('4: after SIGKILL of main, rescue answers every probe while main comes back to ready', async () => {
    const since = fleet.events.length;
    const before = (await status(fleet)).find((r) => r.name === 'main')!;
    const failuresBefore = rescueProber!.state.failures.length;
    const killedAt = Date.now();
    const oldTree = treeOf([mainPid]).map((p) => p.pid);
    process.kill(mainPid, 'SIGKILL');
    const exited = await fleet.waitEvent('main exited', (e) => e.event === 'exited' && e.gateway === 'main', 15_000, since);
    expect(exited).toMatchObject({ signal: 'SIGKILL' });
    const boot = watchBoot(MAIN_PORT, killedAt, 180_000);
    const ready = await fleet.waitEvent('main ready again', isTransition('main', 'ready'), 180_000, since);
    const newPid = fleet.pidOf('main')!;
    expect(newPid).not.toBe(mainPid);
    const times = await boot;
    const respawn = fleet.events.slice(since).find((e) => e.event === 'spawned' && e.gateway === 'main')!;
    measure(
      `after SIGKILL: main respawned ${secs(eventTime(respawn) - killedAt)} after the kill; /healthz ${secs(times.healthz)}, /readyz ${secs(times.readyz)} after the kill; clawfleet said ready ${secs(eventTime(ready) - killedAt)} after the kill`,
    );
    note(`main transitions after SIGKILL: ${transitionsOf(fleet, 'main', since).join('; ')}`);
    const lingering = oldTree.filter(alive);
    note(`old main tree ${oldTree.join(',')}: ${lingering.length ? `still alive: ${lingering.join(',')}` : 'all gone'} when main was ready again`);
    const after = (await status(fleet)).find((r) => r.name === 'main')!;
    expect(after.restarts).toBe(before.restarts + 1);
    expect(fleet.pidOf('rescue')).toBe(rescuePid);
    expect(fleet.events.slice(since).filter(isTransition('rescue')), 'rescue had no transition').toEqual([]);
    const failures = rescueProber!.state.failures.slice(failuresBefore);
    expect(failures, 'rescue /healthz failures during main’s restart').toEqual([]);
    mainPid = newPid;
  });

  it('5: follows SIGUSR2 (restart in place, same pid) without a false restart', async () => {
    // Let main settle after its restart so the probes see an idle gateway.
    await sleep(3000);
    const since = fleet.events.length;
    const before = (await status(fleet)).find((r) => r.name === 'main')!;
    expect(before.state).toBe('ready');
    const sentAt = Date.now();
    // Probe /healthz and /readyz every 100 ms for 40 s and record every change.
    const timeline: Array<{ t: number; healthz: number; readyz: number; body?: string }> = [];
    let last = '';
    const watching = (async () => {
      while (Date.now() - sentAt < 40_000) {
        const tick = Date.now();
        const [h, r] = await Promise.all([probe(MAIN_PORT, '/healthz', 500), probe(MAIN_PORT, '/readyz', 500)]);
        const key = `${h.code}/${r.code}`;
        if (key !== last) {
          timeline.push({ t: tick - sentAt, healthz: h.code, readyz: r.code, body: r.body.slice(0, 120) });
          last = key;
        }
        const wait = 100 - (Date.now() - tick);
        if (wait > 0) await sleep(wait);
      }
    })();
    process.kill(mainPid, 'SIGUSR2');
    await watching;
    note(`main after SIGUSR2 (t in ms after the signal, healthz/readyz status, 0 = refused): ${timeline.map((x) => `${x.t}:${x.healthz}/${x.readyz}${x.readyz !== 200 && x.body ? ` ${x.body}` : ''}`).join(' | ')}`);
    const firstDown = timeline.find((x) => x.healthz !== 200);
    const backUp = firstDown ? timeline.find((x) => x.t > firstDown.t && x.healthz === 200) : undefined;
    const readyDown = timeline.find((x) => x.readyz !== 200);
    const readyBack = readyDown ? timeline.find((x) => x.t > readyDown.t && x.readyz === 200) : undefined;
    measure(
      `SIGUSR2 handoff: /healthz down from ${firstDown?.t ?? 'never'} ms to ${backUp?.t ?? 'n/a'} ms (≈${firstDown && backUp ? backUp.t - firstDown.t : 0} ms without a listener); /readyz not 200 from ${readyDown?.t ?? 'never'} ms to ${readyBack?.t ?? 'n/a'} ms`,
    );
    const mainEvents = fleet.events.slice(since).filter((e) => e.gateway === 'main');
    note(`clawfleet events for main during SIGUSR2: ${mainEvents.map((e) => `${e.event}${e.event === 'transition' ? ` ${e.from}→${e.to} (${e.reason ?? ''})` : e.event === 'probe-failed' ? ` ${String(e.probe)} ${String(e.reason)}` : ''}`).join('; ') || 'none'}`);
    const after = (await status(fleet)).find((r) => r.name === 'main')!;
    const killedByUs = mainEvents.some((e) => e.event === 'transition' && e.to === 'stopping');
    const exited = mainEvents.find((e) => e.event === 'exited');
    expect(killedByUs, `clawfleet stopped main during OpenClaw's in-place restart:\n${eventLines(fleet, since, 'main')}`).toBe(false);
    expect(exited, `main exited during SIGUSR2 (exit 0 would mean it believed a service manager supervised it):\n${eventLines(fleet, since, 'main')}`).toBeUndefined();
    expect(alive(mainPid)).toBe(true);
    expect(fleet.pidOf('main')).toBe(mainPid);
    expect(after.pid).toBe(mainPid);
    expect(after.restarts).toBe(before.restarts);
    await waitFor('main ready in status after SIGUSR2', async () => (await status(fleet)).find((r) => r.name === 'main')?.state === 'ready', 60_000, 500);
    expect(readFileSync(path.join(fleet.dir, 'run', 'logs', 'main.log'), 'utf8')).toMatch(/received SIGUSR2; restarting/);
    expect(readFileSync(path.join(fleet.dir, 'run', 'logs', 'rescue.log'), 'utf8')).not.toMatch(/SIGUSR2/);
  });

  it('6: exit 78 from a state dir another OpenClaw owns surfaces as conflict, not a restart loop', async () => {
    const run = path.join(fleet.dir, 'run');
    const thirdState = path.join(run, 'state', 'third');
    // A real gateway started by hand owns third's state dir first.
    const squatter = startByHand(newRoot('clawfleet-oc-squatter-'), 'third', SQUATTER_PORT, thirdState);
    const squatBoot = await watchBoot(SQUATTER_PORT, squatter.spawnedAt, 120_000, () => squatter.exit !== undefined);
    expect(squatBoot.healthz, `the squatter came up; log ${squatter.log}`).toBeDefined();
    const since = fleet.events.length;
    // Add `third` to the running fleet on that state dir: a manifest edit.
    const manifest = readFileSync(fleet.manifest, 'utf8');
    const doc = YAML.parse(manifest) as { gateways: Record<string, unknown> };
    doc.gateways.third = { port: THIRD_PORT };
    writeFileSync(fleet.manifest, YAML.stringify(doc));
    const conflict = await fleet.waitEvent('third in conflict', isTransition('third', 'conflict'), 90_000, since);
    const firstExit = fleet.events.slice(since).find((e) => e.event === 'exited' && e.gateway === 'third')!;
    const firstSpawn = fleet.events.slice(since).find((e) => e.event === 'spawned' && e.gateway === 'third')!;
    measure(`second gateway on a taken state dir: exit ${String(firstExit.code)} ${secs(eventTime(firstExit) - eventTime(firstSpawn))} after spawn`);
    expect(firstExit.code).toBe(78);
    expect(conflict.reason).toMatch(/78/);
    note(`third: conflict reason: ${conflict.reason}; retry in ${String(conflict.retryInMs)} ms`);
    const thirdLog = readFileSync(path.join(run, 'logs', 'third.log'), 'utf8');
    note(`third's own output before exit 78: ${thirdLog.trim().split('\n').slice(-4).join(' / ')}`);
    // Watch 20 s: a conflict is retried slowly (15 s, doubling), never in a fast loop.
    await sleep(20_000);
    const spawns = fleet.events.slice(since).filter((e) => e.event === 'spawned' && e.gateway === 'third').length;
    note(`third transitions: ${transitionsOf(fleet, 'third', since).join('; ')}`);
    expect(spawns, `third spawned ${spawns} times in ~${secs(Date.now() - eventTime(firstSpawn))}`).toBeLessThanOrEqual(2);
    const row = (await status(fleet)).find((r) => r.name === 'third')!;
    expect(['conflict', 'starting']).toContain(row.state);
    expect(alive(squatter.pid), 'the owner is untouched').toBe(true);
    expect(fleet.pidOf('main')).toBe(mainPid);
    expect(fleet.pidOf('rescue')).toBe(rescuePid);
    // Take third out again and stop the squatter, so step 7 sees the fleet of two.
    const since2 = fleet.events.length;
    delete doc.gateways.third;
    writeFileSync(fleet.manifest, YAML.stringify(doc));
    await fleet.waitEvent('third removed', (e) => (e.event === 'transition' && e.gateway === 'third' && (e.to === 'stopped' || e.to === 'disabled')) || e.event === 'rollout-done', 60_000, since2);
    const squatStop = await stopByHand(squatter);
    measure(`squatter (idle, ready) SIGTERM → exit ${squatter.exit?.code} in ${secs(squatStop)}`);
  });

  it('7: SIGTERM to up stops both gateways and leaves no gateway or worker process', async () => {
    const prober = rescueProber!;
    const rescueState = await prober.stop();
    measure(`rescue /healthz probed every 100 ms for ${secs(rescueState.total * 100)}: ${rescueState.total} probes, ${rescueState.failures.length} failures`);
    expect(rescueState.failures, 'rescue missed probes while the fleet ran').toEqual([]);
    const trees = [...treeOf([mainPid, rescuePid])];
    note(`before stop: ${trees.map((p) => `${p.pid}(${p.comm}, pgrp ${p.pgrp}, sid ${p.session})`).join(', ')}`);
    const since = fleet.events.length;
    const sent = Date.now();
    fleet.proc.kill('SIGTERM');
    const code = await Promise.race([fleet.exited, sleep(90_000).then(() => 'timeout' as const)]);
    measure(`up: SIGTERM → exit ${String(code)} in ${secs(Date.now() - sent)}`);
    expect(code).toBe(0);
    for (const g of ['main', 'rescue']) {
      const stopping = fleet.events.slice(since).find(isTransition(g, 'stopping'));
      const stopped = fleet.events.slice(since).find(isTransition(g, 'stopped'));
      const exited = fleet.events.slice(since).find((e) => e.event === 'exited' && e.gateway === g);
      measure(`${g}: stopping → stopped in ${stopping && stopped ? secs(eventTime(stopped) - eventTime(stopping)) : 'n/a'} (exit ${String(exited?.code)} ${String(exited?.signal ?? '')})`);
    }
    expect(fleet.events.slice(since).some((e) => e.event === 'stop-escalated'), 'no gateway needed SIGKILL').toBe(false);
    const stoppedMain = fleet.events.slice(since).findIndex(isTransition('main', 'stopped'));
    const stoppingRescue = fleet.events.slice(since).findIndex(isTransition('rescue', 'stopping'));
    expect(stoppedMain).toBeLessThan(stoppingRescue);
    // Workers clean themselves up within a few seconds at most; give them 5 s before judging.
    const leftover = async () => [...new Set([...trees.filter((p) => alive(p.pid)).map((p) => p.pid), ...processesMentioning(fleet.dir).map((p) => p.pid)])];
    const atOnce = await leftover();
    await waitFor('no process of the fleet left', async () => (await leftover()).length === 0, 5_000, 100).catch(() => undefined);
    const left = await leftover();
    if (atOnce.length) note(`right after up exited, still alive: ${atOnce.map((pid) => `${pid}:${procInfo(pid)?.comm}`).join(', ')}`);
    expect(left.map((pid) => `${pid}:${procInfo(pid)?.comm ?? '?'}`)).toEqual([]);
    expect((await probe(MAIN_PORT, '/healthz', 300)).code).toBe(0);
    expect((await probe(RESCUE_PORT, '/healthz', 300)).code).toBe(0);
  });

  it('measures a pair by hand again, then a second fleet (round 2, interleaved)', async () => {
    await handRound(2);
    const second = startFleet(realManifest({ main: { port: FLEET2_PORTS.main }, rescue: { role: 'rescue', port: FLEET2_PORTS.rescue } }), { env: upEnv() });
    fleets.push(second);
    const t0 = Date.now();
    const boots = Promise.all([FLEET2_PORTS.main, FLEET2_PORTS.rescue].map((port) => watchBoot(port, t0, 180_000, () => second.exitCode !== null)));
    await Promise.all(['main', 'rescue'].map((g) => second.waitEvent(`${g} ready`, isTransition(g, 'ready'), 180_000)));
    const [m, r] = await boots;
    for (const [g, boot] of [['main', m!], ['rescue', r!]] as const) {
      const offset = eventTime(second.events.find((e) => e.event === 'spawned' && e.gateway === g)!) - t0;
      measure(`round 2 under clawfleet, ${g}: /healthz ${secs(boot.healthz! - offset)}, /startupz ${secs(boot.startupz! - offset)}, /readyz ${secs(boot.readyz! - offset)} after spawn`);
    }
    const roots = [second.pidOf('main')!, second.pidOf('rescue')!];
    second.proc.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    // Wait, with a deadline, for the trees to be gone; whatever is still there is named below.
    const gone = () => treeOf(roots).length === 0 && processesMentioning(second.dir).length === 0;
    await waitFor('no gateway or worker process left', () => gone() || undefined, 5_000).catch(() => undefined);
    expect(treeOf(roots).map((p) => p.pid)).toEqual([]);
    expect(processesMentioning(second.dir).map((p) => p.pid)).toEqual([]);
  });
});
