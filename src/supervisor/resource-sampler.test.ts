import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { sampleTrees, type TreeUsage } from './resource-sampler.js';
import { readProcStat } from './spawner.js';

const ALLOCATED_BYTES = 60 * 1024 * 1024;
const SAMPLE_INTERVAL_MS = 500;
const WAIT_TIMEOUT_MS = 10_000;

// A group leader that fills ALLOCATED_BYTES (so they are resident), starts one child (in its group, or escaping to its own), then says "ready".
function leaderScript(childScript: string, escape: boolean): string {
  return `
    const { spawn } = require('node:child_process');
    const ballast = Buffer.alloc(${ALLOCATED_BYTES}, 1);
    const child = spawn(process.execPath, ['-e', ${JSON.stringify(childScript)}], { stdio: 'ignore', detached: ${escape} });
    child.on('spawn', () => setTimeout(() => process.stdout.write('ready\\n'), 200));
    setInterval(() => ballast[0]++, 1000);
  `;
}
const IDLE_CHILD = 'setInterval(() => {}, 1000)';
const BUSY_CHILD = 'for (;;) {}';

const groups: ChildProcess[] = [];
const escapees: ChildProcess[] = [];

afterEach(async () => {
  for (const leader of escapees.splice(0)) {
    for (const pid of childrenOf(leader.pid!)) killPid(pid);
  }
  for (const leader of groups.splice(0)) {
    killGroup(leader);
    if (leader.exitCode === null && leader.signalCode === null) await once(leader, 'exit');
  }
});

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function killGroup(leader: ChildProcess): void {
  try {
    process.kill(-leader.pid!, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Starts a detached tree (pgid === pid) and resolves once its child runs and its memory is resident. */
async function startTree(
  childScript: string,
  { escape = false } = {},
): Promise<{ key: string; pid: number; pgid: number; leader: ChildProcess }> {
  const leader = spawn(process.execPath, ['-e', leaderScript(childScript, escape)], {
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  groups.push(leader);
  // An escaped child is not in the group: remember it to kill it by pid.
  if (escape) escapees.push(leader);
  let output = '';
  for await (const chunk of leader.stdout!) {
    output += String(chunk);
    if (output.includes('ready')) break;
  }
  const pid = leader.pid!;
  return { key: `tree-${pid}`, pid, pgid: pid, leader };
}

async function pollUsage(
  root: { key: string; pid: number; pgid: number },
  done: (usage: TreeUsage | undefined) => boolean,
): Promise<TreeUsage | undefined> {
  const deadline = performance.now() + WAIT_TIMEOUT_MS;
  for (;;) {
    const usage = (await sampleTrees([root])).get(root.key);
    if (done(usage) || performance.now() >= deadline) return usage;
    await sleep(SAMPLE_INTERVAL_MS);
  }
}

describe('sampleTrees', () => {
  it('sums the memory of every process in the tree', async () => {
    const tree = await startTree(IDLE_CHILD);
    const usage = await pollUsage(tree, (u) => u !== undefined && u.processes === 2 && u.memoryBytes > ALLOCATED_BYTES);
    expect(usage?.processes).toBe(2);
    expect(usage?.memoryBytes).toBeGreaterThan(ALLOCATED_BYTES);
  });

  it('counts a descendant that left the group', async () => {
    const tree = await startTree(IDLE_CHILD, { escape: true });
    const usage = await pollUsage(tree, (u) => u?.processes === 2);
    expect(usage?.processes).toBe(2);
    // Its members are handed on with their start times, so a later stop can find the escapee.
    expect(usage?.members.size).toBe(2);
    expect(usage?.members.get(tree.pid)).toBe(readProcStat(tree.pid)?.startTicks);
  });

  it('shows a busy child as CPU of the tree', async () => {
    const tree = await startTree(BUSY_CHILD);
    const usage = await pollUsage(tree, (u) => (u?.cpuPercent ?? 0) > 20);
    expect(usage?.cpuPercent).toBeGreaterThan(20);
  });

  it('leaves a dead tree out and still reports the live ones', async () => {
    const live = await startTree(IDLE_CHILD);
    const dead = await startTree(IDLE_CHILD);
    killGroup(dead.leader);
    await once(dead.leader, 'exit');
    const deadline = performance.now() + WAIT_TIMEOUT_MS;
    let usage = await sampleTrees([live, dead]);
    // The child of the killed group may take a moment to be reaped by init.
    while (usage.has(dead.key) && performance.now() < deadline) {
      await sleep(50);
      usage = await sampleTrees([live, dead]);
    }
    expect(usage.has(dead.key)).toBe(false);
    expect(usage.get(live.key)?.processes).toBe(2);
  });

  it('returns an empty map for no trees or trees that never existed', async () => {
    expect((await sampleTrees([])).size).toBe(0);
    // Above the kernel's pid_max (at most 2^22), so it cannot be a live process.
    const missing = { key: 'missing', pid: 2 ** 22 + 1, pgid: 2 ** 22 + 1 };
    expect((await sampleTrees([missing])).size).toBe(0);
  });
});
