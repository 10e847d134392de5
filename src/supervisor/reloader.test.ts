import { describe, expect, it } from 'vitest';
import type { PlanLoader } from '../manifest/load-isolated.js';
import type { LoadedManifest, LoadResult } from '../manifest/load.js';
import { Reloader } from './reloader.js';
import type { Supervisor } from './supervisor.js';

function manifest(tag: string): LoadedManifest {
  return { plan: { tag }, envFiles: new Map() } as unknown as LoadedManifest;
}

/** A supervisor that only records what the reloader asks of it. */
function fakeSupervisor(initial: LoadedManifest): Supervisor & { applied: string[]; rejected: string[][] } {
  const fake = {
    plan: initial.plan,
    applied: [] as string[],
    rejected: [] as string[][],
    changesFor: () => 1,
    applyManifest(next: LoadedManifest, trigger: string) {
      fake.plan = next.plan;
      fake.applied.push(trigger);
      return Promise.resolve();
    },
    rejectManifest(problems: string[]) {
      fake.rejected.push(problems);
    },
  };
  return fake as unknown as Supervisor & { applied: string[]; rejected: string[][] };
}

function loaderOf(results: LoadResult[]): PlanLoader & { loads: number } {
  const loader = {
    loads: 0,
    load: async () => {
      loader.loads += 1;
      return results.shift()!;
    },
  };
  return loader as unknown as PlanLoader & { loads: number };
}

describe('Reloader', () => {
  it('hands an accepted manifest on only once it is the supervisor plan, so schedules follow the same edit', async () => {
    const before = manifest('before');
    const after = manifest('after');
    const supervisor = fakeSupervisor(before);
    const seen: unknown[] = [];
    const reloader = new Reloader('f', 'f', loaderOf([{ ok: true, manifest: after }]), supervisor, () => seen.push(supervisor.plan), before);
    expect(await reloader.reload('edit')).toEqual({ accepted: true, problems: [], changes: 1 });
    expect(seen).toEqual([after.plan]);
    expect(supervisor.applied).toEqual(['edit']);
  });

  it('keeps the fleet on a rejected manifest and says why', async () => {
    const before = manifest('before');
    const supervisor = fakeSupervisor(before);
    const accepted: unknown[] = [];
    const problems = [{ file: 'fleet.yaml', line: 3, column: 5, path: ['gateways', 'main', 'port'], message: 'expected a number' }];
    const reloader = new Reloader('f', 'fleet.yaml', loaderOf([{ ok: false, problems }] as LoadResult[]), supervisor, (m) => accepted.push(m), before);
    const outcome = await reloader.reload('edit');
    expect(outcome.accepted).toBe(false);
    expect(outcome.problems[0]).toContain('gateways.main.port');
    expect(supervisor.plan).toBe(before.plan);
    expect(accepted).toEqual([]);
  });

  it('runs requests that arrive during a load as one follow-up load', async () => {
    const before = manifest('before');
    const supervisor = fakeSupervisor(before);
    const loader = loaderOf([
      { ok: true, manifest: manifest('one') },
      { ok: true, manifest: manifest('two') },
    ]);
    const reloader = new Reloader('f', 'f', loader, supervisor, () => undefined, before);
    const first = reloader.reload('edit 1');
    const second = reloader.reload('edit 2');
    const third = reloader.reload('edit 3');
    await Promise.all([first, second, third]);
    expect(loader.loads).toBe(2);
    expect(supervisor.applied).toEqual(['edit 1', 'edit 3']);
    expect((supervisor.plan as unknown as { tag: string }).tag).toBe('two');
  });
});
