import { describe, expect, it } from 'vitest';
import type { RawManifest } from '../manifest/schema.js';
import { planFleet } from '../plan/plan-fleet.js';
import { FakeWorld } from '../../test/helpers/fake-world.js';
import type { GatewayPlan } from '../plan/types.js';
import { GatewayRunner } from './gateway-runner.js';
import type { ChildExit, SpawnedChild } from './spawner.js';

function planOf(settings: Record<string, unknown> = {}, name = 'main'): GatewayPlan {
  const manifest = { version: 1, gateways: { [name]: { port: 18789, ...settings } } } as RawManifest;
  return planFleet(manifest, { manifestPath: '/f/fleet.yaml', home: '/h', stateHome: '/h/s' }).plan.gateways[0]!;
}

const health = {
  startup: { http: '/startupz', interval: '1s' },
  liveness: { http: '/healthz', interval: '2s', timeout: '1s', failureThreshold: 3 },
  readiness: { http: '/readyz', interval: '2s', timeout: '1s' },
};

describe('GatewayRunner', () => {
  it('probes liveness on a fixed period, so a hang is acted on failureThreshold × interval after it began', async () => {
    const world = new FakeWorld();
    const runner = new GatewayRunner(planOf({ health }), world.deps);
    runner.start();
    await world.advance(10_000);
    expect(runner.lifecycle.phase).toBe('ready');
    // Probes answer slowly from now on: each takes its full timeout, as against a hung process.
    const hungAt = world.now;
    world.answer = (_port, path) => {
      if (path !== '/healthz') return { ok: true, latencyMs: 1 };
      world.now += 1000;
      return { ok: false, latencyMs: 1000, reason: 'timed out after 1000ms' };
    };
    await world.advance(20_000);
    expect(world.stops.length).toBeGreaterThanOrEqual(1);
    const acted = world.stops[0]!.at - hungAt;
    // Three failures on a 2 s grid: at most 3 × 2 s (+ the last probe's 1 s timeout), not 3 × (2 s + 1 s).
    expect(acted).toBeLessThanOrEqual(3 * 2000 + 1000);
    const liveness = world.probes.filter((p) => p.path === '/healthz' && p.at > hungAt && p.at < world.stops[0]!.at);
    expect(liveness).toHaveLength(3);
    for (const probe of liveness) expect(probe.at % 2000).toBe(liveness[0]!.at % 2000);
  });

  it('keeps probing and stopping an adopted process on the port it was started on, then starts the replacement on the new one', async () => {
    const world = new FakeWorld();
    const old = planOf({ health, port: 18789 });
    const moved = planOf({ health, port: 19789 });
    const runner = new GatewayRunner(moved, world.deps);
    let exit!: (exit: ChildExit) => void;
    const adopted: SpawnedChild = { pid: 42, pgid: 42, startTicks: 1, exited: new Promise((resolve) => (exit = resolve)) };
    runner.adopt(adopted, { startedAt: world.now - 60_000, port: old.port, restarts: 3 });
    await world.advance(5_000);
    expect(runner.lifecycle).toMatchObject({ phase: 'ready', pid: 42, restarts: 3 });
    expect(new Set(world.probes.map((p) => p.port))).toEqual(new Set([18789]));
    expect(runner.process?.port).toBe(18789);

    const stopTree = world.deps.stopTree;
    world.deps.stopTree = async (req) => {
      exit({ code: null, signal: 'SIGTERM' });
      return stopTree(req);
    };
    const probesBefore = world.probes.length;
    runner.restart('the manifest moved its port');
    await world.advance(10_000);
    // The old process's port is the one that must be released before the new start.
    expect(world.portWaits).toEqual([18789]);
    expect(runner.lifecycle).toMatchObject({ phase: 'ready', pid: 100, restarts: 4 });
    expect(new Set(world.probes.slice(probesBefore).map((p) => p.port))).toEqual(new Set([19789]));
    expect(runner.process?.port).toBe(19789);
  });

  it('waits for the old port after an edit moved a running gateway', async () => {
    const world = new FakeWorld();
    const runner = new GatewayRunner(planOf({ health, port: 18789 }), world.deps);
    runner.start();
    await world.advance(5_000);
    expect(runner.lifecycle.phase).toBe('ready');
    runner.replacePlan(planOf({ health, port: 19789 }));
    runner.restart('port changed');
    await world.advance(5_000);
    expect(world.portWaits).toEqual([18789]);
    expect(runner.process?.port).toBe(19789);
  });

  it('restarts a crashed process at once and only after its tree is gone', async () => {
    const world = new FakeWorld();
    const runner = new GatewayRunner(planOf({ health }), world.deps);
    runner.start();
    await world.advance(70_000);
    expect(runner.lifecycle.phase).toBe('ready');
    const crashedAt = world.now;
    world.processes[0]!.exit({ code: 1, signal: null });
    await world.advance(0);
    expect(world.stops.map((s) => s.pid)).toEqual([100]);
    expect(world.spawnedAt).toEqual([world.spawnedAt[0], crashedAt]);
    expect(runner.lifecycle).toMatchObject({ pid: 101, restarts: 1 });
  });

  it('does not spawn onto a busy base port: it names the holder and waits in backoff until the port is free', async () => {
    const world = new FakeWorld();
    let busy = true;
    world.deps.canBind = async () => !busy;
    world.deps.listening = (ports) => (busy && ports.includes(18789) ? [{ port: 18789, address: '::1', pid: 4242, command: 'node old-gateway.js' }] : []);
    const runner = new GatewayRunner(planOf({ health }), world.deps);
    runner.start();
    await world.advance(1_000);
    expect(world.processes).toHaveLength(0);
    expect(runner.lifecycle.reason).toBe('port 18789 is busy: held by pid 4242 (node old-gateway.js)');
    expect(world.events).toContainEqual(expect.objectContaining({ type: 'port-busy', port: 18789, address: '::1', holderPid: 4242, fatal: true }));
    busy = false;
    await world.advance(60_000);
    expect(world.processes).toHaveLength(1);
    expect(runner.lifecycle.phase).toBe('ready');
  });

  it('starts when loopback is free but warns about a listener on another address of its base port', async () => {
    const world = new FakeWorld();
    world.deps.listening = (ports) => (ports.includes(18789) ? [{ port: 18789, address: '192.168.1.5', pid: 7, command: 'nginx' }] : []);
    const runner = new GatewayRunner(planOf({ health }), world.deps);
    runner.start();
    await world.advance(5_000);
    expect(world.processes).toHaveLength(1);
    expect(world.events).toContainEqual(expect.objectContaining({ type: 'port-busy', port: 18789, address: '192.168.1.5', fatal: false }));
  });

  it('says so when a stop leaves processes behind, and cancels probes in flight when it stops', async () => {
    const world = new FakeWorld();
    const stopTree = world.deps.stopTree;
    world.deps.stopTree = async (req) => ({ ...(await stopTree(req)), survivors: [999], denied: [998] });
    const aborted: boolean[] = [];
    const probe = world.deps.probe;
    world.deps.probe = (action, target, timeoutMs, signal) => {
      signal?.addEventListener('abort', () => aborted.push(true));
      return probe(action, target, timeoutMs, signal);
    };
    const runner = new GatewayRunner(planOf({ health }), world.deps);
    runner.start();
    await world.advance(5_000);
    runner.stop('operator');
    await world.advance(1_000);
    expect(runner.lifecycle.phase).toBe('stopped');
    expect(runner.survivors).toBe(2);
    expect(world.events).toContainEqual({ type: 'stop-incomplete', gateway: 'main', survivors: [999], denied: [998] });
    expect(aborted.length).toBeGreaterThan(0);
  });

  it('names the process that owns the state dir of a gateway that exited 78, and waits as a conflict', async () => {
    const world = new FakeWorld();
    const asked: Array<[string, number]> = [];
    world.deps.stateDirUsers = (stateDir, exceptGroup) => {
      asked.push([stateDir, exceptGroup]);
      return [{ pid: 5150, command: 'openclaw-gateway' }];
    };
    const runner = new GatewayRunner(planOf({ health }), world.deps);
    runner.start();
    await world.advance(5_000);
    world.processes[0]!.exit({ code: 78, signal: null });
    await world.advance(100);
    expect(asked).toEqual([[runner.gatewayPlan.stateDir, world.processes[0]!.child.pgid]]);
    expect(runner.lifecycle.phase).toBe('conflict');
    expect(runner.lifecycle.reason).toContain(`its state dir ${runner.gatewayPlan.stateDir} is in use by pid 5150 (openclaw-gateway)`);
    // Retried slowly, not hammered.
    expect(world.processes).toHaveLength(1);
  });
});
