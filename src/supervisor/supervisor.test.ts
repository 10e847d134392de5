import { describe, expect, it } from 'vitest';
import { FakeWorld } from '../../test/helpers/fake-world.js';
import type { RawManifest } from '../manifest/schema.js';
import { planFleet } from '../plan/plan-fleet.js';
import { type AcceptedManifest, Supervisor } from './supervisor.js';

const health = {
  startup: { http: '/startupz', interval: '1s' },
  liveness: { http: '/healthz', interval: '2s', timeout: '1s', failureThreshold: 3 },
  readiness: { http: '/readyz', interval: '2s', timeout: '1s' },
};

/** A fleet of `main` (args as given) and `rescue`, planned as the loader would. */
function fleet(mainArgs: string[], extra: Record<string, unknown> = {}): AcceptedManifest {
  const raw = {
    version: 1,
    defaults: { kind: 'command', command: 'gateway', health },
    gateways: {
      main: { port: 20000, args: mainArgs },
      rescue: { port: 20200, role: 'rescue', args: ['ok'] },
      ...extra,
    },
  } as unknown as RawManifest;
  const result = planFleet(raw, { manifestPath: '/f/fleet.yaml', home: '/h', stateHome: '/h/s' });
  expect(result.problems).toEqual([]);
  return { plan: result.plan, envFiles: new Map() };
}

/** A world where a process started with the argument `broken` exits at once, as a bad edit would make it. */
function worldWithBrokenArg(): FakeWorld {
  const world = new FakeWorld();
  world.onSpawn = (process) => {
    if (process.request.args.includes('broken')) queueMicrotask(() => process.exit({ code: 1, signal: null }));
  };
  return world;
}

const pidOf = (supervisor: Supervisor, name: string): number | null | undefined => supervisor.status().find((g) => g.name === name)?.pid;

describe('Supervisor', () => {
  it('applies an edit saved while a broken change was failing, instead of stopping the rollout', async () => {
    const world = worldWithBrokenArg();
    const supervisor = new Supervisor(fleet(['ok']), world.deps);
    await supervisor.start();
    await world.advance(5_000);
    expect(supervisor.status().map((g) => g.state)).toEqual(['ready', 'ready']);
    const rescuePid = pidOf(supervisor, 'rescue');

    void supervisor.applyManifest(fleet(['broken']), 'edit 1');
    // The fix is saved while the broken main is still being waited for.
    void supervisor.applyManifest(fleet(['fixed']), 'edit 2');
    await world.advance(30_000);

    const main = supervisor.status().find((g) => g.name === 'main')!;
    expect(main.state).toBe('ready');
    expect(world.processes.find((p) => p.child.pid === main.pid)!.request.args).toEqual(['fixed']);
    expect(world.processes.some((p) => p.request.args[0] === 'broken')).toBe(true);
    expect(supervisor.manifestStatus().rollout).toEqual({ state: 'idle' });
    expect(world.events.some((e) => e.type === 'rollout-step-failed')).toBe(true);
    expect(pidOf(supervisor, 'rescue')).toBe(rescuePid);
  });

  it('stops the rollout and says why when the change fails and nothing newer arrives', async () => {
    const world = worldWithBrokenArg();
    const supervisor = new Supervisor(fleet(['ok']), world.deps);
    await supervisor.start();
    await world.advance(5_000);
    void supervisor.applyManifest(fleet(['broken']), 'edit');
    await world.advance(30_000);
    expect(supervisor.manifestStatus().rollout).toMatchObject({ state: 'stopped', reason: expect.stringContaining('"main" failed after its restart') });
  });

  it('restarts only the gateway whose start settings changed; the others keep their pid', async () => {
    const world = new FakeWorld();
    const more = { a: { port: 20400, args: ['ok'] }, b: { port: 20600, args: ['ok'] }, c: { port: 20800, args: ['ok'] } };
    const supervisor = new Supervisor(fleet(['ok'], more), world.deps);
    await supervisor.start();
    await world.advance(5_000);
    const before = new Map(supervisor.status().map((g) => [g.name, g.pid]));
    void supervisor.applyManifest(fleet(['ok'], { ...more, b: { port: 20600, args: ['ok', '--verbose'] } }), 'edit');
    await world.advance(10_000);
    const after = new Map(supervisor.status().map((g) => [g.name, g.pid]));
    expect([...after].filter(([name, pid]) => before.get(name) !== pid).map(([name]) => name)).toEqual(['b']);
  });

  it('does not take main down for an edit while the rescue is not ready, and rolls once it is', async () => {
    const world = new FakeWorld();
    let rescueReady = false;
    world.answer = (port, path) => (port === 20200 && path === '/readyz' && !rescueReady ? { ok: false, latencyMs: 1, reason: 'HTTP 503' } : { ok: true, latencyMs: 1 });
    const supervisor = new Supervisor(fleet(['ok']), world.deps);
    await supervisor.start();
    await world.advance(5_000);
    const mainPid = pidOf(supervisor, 'main');
    void supervisor.applyManifest(fleet(['ok', '--new']), 'edit');
    await world.advance(20_000);
    expect(pidOf(supervisor, 'main')).toBe(mainPid);
    rescueReady = true;
    await world.advance(10_000);
    expect(pidOf(supervisor, 'main')).not.toBe(mainPid);
    expect(supervisor.status().find((g) => g.name === 'main')?.state).toBe('ready');
  });
});
