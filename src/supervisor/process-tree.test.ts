import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stopProcessTree, treeMembers, waitForPortFree } from './process-tree.js';
import { readProcStat, spawnGateway, type SpawnedChild } from './spawner.js';

// Fixtures: tiny gateways run with `node -e`. Each prints `pid <n>` for every process it starts, then `ready`.
const PORT_FIRST = 24200;
const PORT_LAST = 24299;
const FOREVER = 'setInterval(() => {}, 1 << 30);';
const IGNORES_TERM = `process.on('SIGTERM', () => {}); ${FOREVER}`;
const spawnLine = (options: string, script: string): string =>
  `console.log('pid ' + require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(script)}], { ${options} }).pid);`;

const FIXTURES = {
  ignoresTerm: `${IGNORES_TERM} console.log('ready');`,
  exitsAtOnce: `process.exit(0);`,
  // A worker in the gateway's own group that ignores SIGTERM: only the group SIGKILL removes it.
  forksGrandchild: `${spawnLine("stdio: ['ignore', 'inherit', 'inherit']", `${IGNORES_TERM} console.log('armed');`)} ${FOREVER} console.log('ready');`,
  // A child in a session of its own: no group signal reaches it, only the sweep does.
  forksEscapee: `${spawnLine("stdio: 'ignore', detached: true", FOREVER)} ${FOREVER} console.log('ready');`,
  // A worker (in the group, dies on SIGTERM) that started an escapee: once the worker is dead only the
  // snapshot taken before signalling still links the escapee to the gateway.
  forksWorkerWithEscapee: `${spawnLine(
    "stdio: ['ignore', 'inherit', 'inherit']",
    `${spawnLine("stdio: 'ignore', detached: true", FOREVER)} ${FOREVER}`,
  )} ${FOREVER} console.log('ready');`,
  // Picks its own port from our range: reserving one in the test and handing it over would race other runs.
  listensInRange: `
    const net = require('node:net');
    const span = ${PORT_LAST} - ${PORT_FIRST} + 1;
    const first = Math.floor(Math.random() * span);
    const attempt = (n) => {
      if (n === span) process.exit(1);
      const port = ${PORT_FIRST} + ((first + n) % span);
      const server = net.createServer();
      server.once('error', () => attempt(n + 1));
      server.listen(port, '127.0.0.1', () => console.log('port ' + port + '\\nready'));
    };
    attempt(0);`,
} as const;


let dir: string;
let logs: { path: string; fd: number }[];
let pids: Set<number>;
let servers: Server[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawfleet-tree-'));
  logs = [];
  pids = new Set();
  servers = [];
});

afterEach(async () => {
  // Pids printed by fixtures are collected even when a test failed before reading them.
  for (const log of logs) for (const pid of printedPids(log.path)) pids.add(pid);
  for (const pid of pids) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const log of logs) closeSync(log.fd);
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  rmSync(dir, { recursive: true, force: true });
});

interface Started {
  child: SpawnedChild;
  log: string;
}

/** Starts a fixture as a gateway would be started, and waits until it printed `ready`. */
async function start(script: string, opts: { waitReady?: boolean } = {}): Promise<Started> {
  const path = join(dir, `gateway-${logs.length}.log`);
  const fd = openSync(path, 'a');
  logs.push({ path, fd });
  const result = await spawnGateway({ command: process.execPath, args: ['-e', script], cwd: dir, env: {}, logFd: fd });
  if (!result.ok) throw new Error(`spawn failed: ${result.reason}`);
  pids.add(result.child.pid);
  if (opts.waitReady ?? true) await waitForLine(path, 'ready');
  return { child: result.child, log: path };
}

/** Waits for a whole line: a bare substring would also match an error text such as "already in use". */
function waitForLine(path: string, line: string): Promise<true> {
  return waitFor(line, () => (readFileSync(path, 'utf8').split('\n').includes(line) ? true : undefined));
}

function printedPids(path: string): number[] {
  return [...readFileSync(path, 'utf8').matchAll(/^pid (\d+)$/gm)].map((match) => Number(match[1]));
}

/** The one pid a fixture printed, once it is alive. */
async function printedPid(started: Started): Promise<number> {
  const pid = await waitFor('printed pid', () => printedPids(started.log)[0]);
  pids.add(pid);
  return pid;
}

/** Polls until check returns a value other than undefined, or fails after deadlineMs. */
async function waitFor<T>(what: string, check: () => T | undefined, deadlineMs = 5_000): Promise<T> {
  const end = performance.now() + deadlineMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Gone, or a zombie nobody reaped yet: either way it holds nothing. */
function isGone(pid: number): boolean {
  const state = readProcStat(pid)?.state;
  return state === undefined || state === 'Z' || state === 'X';
}

function stop(started: Started, timeoutMs: number) {
  const { pid, pgid, exited } = started.child;
  return stopProcessTree({ pid, pgid, signal: 'SIGTERM', timeoutMs, exited });
}

/** Listens on 127.0.0.1 on a free port of our range, starting at a random one so concurrent runs rarely meet. */
async function listenInRange(): Promise<{ server: Server; port: number }> {
  const span = PORT_LAST - PORT_FIRST + 1;
  const first = Math.floor(Math.random() * span);
  for (let n = 0; n < span; n += 1) {
    const port = PORT_FIRST + ((first + n) % span);
    const server = createServer();
    const ok = await new Promise<boolean>((done) => {
      server.once('error', () => done(false));
      server.listen(port, '127.0.0.1', () => done(true));
    });
    if (ok) {
      servers.push(server);
      return { server, port };
    }
  }
  throw new Error(`no free port in ${PORT_FIRST}-${PORT_LAST}`);
}

function close(server: Server): Promise<void> {
  return new Promise((done) => server.close(() => done()));
}

describe('stopProcessTree', () => {
  it('stops a gateway that honours the stop signal without escalating', async () => {
    const gateway = await start(`${FOREVER} console.log('ready');`);
    const report = await stop(gateway, 3_000);
    expect(report).toMatchObject({ escalated: false, leftovers: [], survivors: [], denied: [] });
    expect(await gateway.child.exited).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('escalates to SIGKILL after timeoutMs when the leader ignores SIGTERM', async () => {
    const gateway = await start(FIXTURES.ignoresTerm);
    const report = await stop(gateway, 300);
    expect(report.escalated).toBe(true);
    expect(report.durationMs).toBeGreaterThanOrEqual(290);
    expect(report.durationMs).toBeLessThan(5_000);
    expect(report.survivors).toEqual([]);
    expect(await gateway.child.exited).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('kills a grandchild in the group that ignores SIGTERM', async () => {
    const gateway = await start(FIXTURES.forksGrandchild);
    const grandchild = await printedPid(gateway);
    // Until its handler is installed, SIGTERM would kill it and prove nothing.
    await waitForLine(gateway.log, 'armed');
    expect(readProcStat(grandchild)?.pgrp).toBe(gateway.child.pgid);
    const report = await stop(gateway, 300);
    expect(report.escalated).toBe(false);
    expect(report.leftovers).toEqual([grandchild]);
    expect(isGone(grandchild)).toBe(true);
  });

  it('sweeps an escapee in a session of its own once the leader is gone', async () => {
    const gateway = await start(FIXTURES.forksEscapee);
    const escapee = await printedPid(gateway);
    expect(readProcStat(escapee)?.session).toBe(escapee);
    const report = await stop(gateway, 10_000);
    expect(report.escalated).toBe(false);
    expect(report.leftovers).toEqual([escapee]);
    expect(report.survivors).toEqual([]);
    expect(isGone(escapee)).toBe(true);
    // The escapee needed no wait for the kill timer: it is swept as soon as the leader exits.
    expect(report.durationMs).toBeLessThan(5_000);
  });

  it('sweeps an escapee whose parent died of the stop signal, found through the snapshot', async () => {
    const gateway = await start(FIXTURES.forksWorkerWithEscapee);
    // The gateway prints its worker's pid at once, the worker prints the escapee's after its own start.
    const [worker, escapee] = await waitFor('worker and escapee', () => {
      const printed = printedPids(gateway.log);
      return printed.length >= 2 ? printed : undefined;
    });
    pids.add(worker!).add(escapee!);
    expect(readProcStat(escapee!)?.ppid).toBe(worker);
    const report = await stop(gateway, 2_000);
    expect(report.escalated).toBe(false);
    expect(report.leftovers).toEqual([escapee]);
    expect(report.survivors).toEqual([]);
    expect(isGone(worker!)).toBe(true);
    expect(isGone(escapee!)).toBe(true);
  });

  it('sweeps an escapee of a leader that already crashed, when the tree was sampled before the crash', async () => {
    const gateway = await start(FIXTURES.forksEscapee);
    const escapee = await printedPid(gateway);
    const known = new Map([
      [gateway.child.pid, readProcStat(gateway.child.pid)!.startTicks],
      [escapee, readProcStat(escapee)!.startTicks],
    ]);
    process.kill(gateway.child.pid, 'SIGKILL');
    await gateway.child.exited;
    // Nothing links the escapee to the dead leader any more: without `known` the stop would return at once.
    expect(await stop(gateway, 10_000)).toMatchObject({ leftovers: [] });
    expect(isGone(escapee)).toBe(false);
    const { pid, pgid, exited } = gateway.child;
    const report = await stopProcessTree({ pid, pgid, signal: 'SIGTERM', timeoutMs: 10_000, exited, known });
    expect(report.leftovers).toEqual([escapee]);
    expect(report.survivors).toEqual([]);
    expect(isGone(escapee)).toBe(true);
    expect(report.durationMs).toBeLessThan(5_000);
  });

  it('leaves a known pid alone once it names another process (recycled pid)', async () => {
    const gateway = await start(FIXTURES.exitsAtOnce, { waitReady: false });
    await gateway.child.exited;
    const bystander = await start(FOREVER, { waitReady: false });
    const { pid, pgid, exited } = gateway.child;
    const known = new Map([[bystander.child.pid, (readProcStat(bystander.child.pid)!.startTicks) + 1]]);
    const report = await stopProcessTree({ pid, pgid, signal: 'SIGTERM', timeoutMs: 10_000, exited, known });
    expect(report.leftovers).toEqual([]);
    expect(isGone(bystander.child.pid)).toBe(false);
  });

  it('returns at once for a gateway that already exited', async () => {
    const gateway = await start(FIXTURES.exitsAtOnce, { waitReady: false });
    await gateway.child.exited;
    // A long stop timeout: returning well before it shows nothing waited for the timer.
    const report = await stop(gateway, 10_000);
    expect(report).toMatchObject({ escalated: false, leftovers: [], survivors: [], denied: [] });
    expect(report.durationMs).toBeLessThan(5_000);
  });

  it('refuses to signal its own process group', async () => {
    const own = readProcStat(process.pid)!;
    await expect(
      stopProcessTree({ pid: own.pgrp, pgid: own.pgrp, signal: 'SIGTERM', timeoutMs: 10, exited: new Promise(() => {}) }),
    ).rejects.toThrow(/own/);
  });
});

describe('treeMembers', () => {
  it('lists the leader, its group and descendants outside the group', async () => {
    const grouped = await start(FIXTURES.forksGrandchild);
    const grandchild = await printedPid(grouped);
    const escaping = await start(FIXTURES.forksEscapee);
    const escapee = await printedPid(escaping);
    expect(treeMembers(grouped.child.pid, grouped.child.pgid).sort()).toEqual([grouped.child.pid, grandchild].sort());
    expect(treeMembers(escaping.child.pid, escaping.child.pgid).sort()).toEqual([escaping.child.pid, escapee].sort());
  });
});

describe('waitForPortFree', () => {
  it('answers false while something listens and true once it closed', async () => {
    const { server, port } = await listenInRange();
    expect(await waitForPortFree(port, 150)).toBe(false);
    const waiting = waitForPortFree(port, 3_000);
    await close(server);
    expect(await waiting).toBe(true);
  });

  it('answers true once a stopped gateway released its port', async () => {
    const gateway = await start(FIXTURES.listensInRange);
    const port = await waitFor('port', () => {
      const match = /^port (\d+)$/m.exec(readFileSync(gateway.log, 'utf8'));
      return match ? Number(match[1]) : undefined;
    });
    expect(await waitForPortFree(port, 100)).toBe(false);
    await stop(gateway, 2_000);
    expect(await waitForPortFree(port, 2_000)).toBe(true);
  });
});
