import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { portFootprint } from './footprint.js';
import { findPortConflicts, firstSharedPort, type OwnedFootprint } from './port-conflicts.js';
import type { PortFootprint } from './types.js';

const openclaw = (gateway: string, base: number): OwnedFootprint => ({ gateway, footprint: portFootprint('openclaw', base) });

/** Every pair compared with every pair: the slow, obviously right answer. */
function oracle(fleet: readonly OwnedFootprint[]): Map<string, number> {
  const pairs = new Map<string, number>();
  for (let i = 0; i < fleet.length; i += 1) {
    for (let j = i + 1; j < fleet.length; j += 1) {
      let first: number | undefined;
      for (const a of fleet[i]!.footprint.ranges) {
        for (const b of fleet[j]!.footprint.ranges) {
          const lo = Math.max(a.from, b.from);
          if (lo <= Math.min(a.to, b.to) && (first === undefined || lo < first)) first = lo;
        }
      }
      if (first !== undefined) pairs.set(`${fleet[i]!.gateway}|${fleet[j]!.gateway}`, first);
    }
  }
  return pairs;
}

describe('findPortConflicts', () => {
  it.each([
    { bases: [18789, 19789], conflict: undefined, why: "OpenClaw's current spacing" },
    { bases: [18789, 18909], conflict: undefined, why: '120 apart: base+110 stays below the next base' },
    { bases: [18789, 18809], conflict: 18809, why: "OpenClaw's old guide (20 apart): the second base lands in the CDP range" },
    { bases: [18789, 18899], conflict: 18899, why: 'the last port of the CDP range' },
    { bases: [18789, 18900], conflict: undefined, why: 'one past the CDP range' },
    { bases: [18789, 18790], conflict: 18792, why: "adjacent bases: one's base+3 is the other's base+2" },
    { bases: [18789, 18789], conflict: 18789, why: 'same base' },
  ])('$bases: $why', ({ bases, conflict }) => {
    const found = findPortConflicts(bases.map((b, i) => openclaw(`g${i}`, b)));
    if (conflict === undefined) expect(found).toEqual([]);
    else expect(found.map((c) => c.port)).toEqual([conflict]);
  });

  it('names both gateways and the ranges that collide', () => {
    const [conflict] = findPortConflicts([openclaw('main', 18789), openclaw('rescue', 18809)]);
    expect(conflict).toMatchObject({ first: 'main', second: 'rescue', port: 18809 });
    expect(conflict?.firstRange.label).toContain('CDP range');
    expect(conflict?.secondRange.label).toBe('base port');
  });

  it('counts explicit ports outside the derived ranges', () => {
    const withExtra: OwnedFootprint = { gateway: 'main', footprint: portFootprint('openclaw', 18789, [{ port: 25000, label: 'browser.profiles.work.cdpPort' }]) };
    const [conflict] = findPortConflicts([withExtra, { gateway: 'tool', footprint: portFootprint('command', 25000) }]);
    expect(conflict).toMatchObject({ port: 25000 });
    expect(conflict?.firstRange.label).toBe('browser.profiles.work.cdpPort');
  });

  it('agrees with the brute-force oracle on random fleets', () => {
    const footprint = fc.oneof(
      fc.integer({ min: 1, max: 3000 }).map((base) => portFootprint('openclaw', base)),
      fc.integer({ min: 1, max: 3000 }).map((base) => portFootprint('command', base)),
      fc
        .tuple(fc.integer({ min: 1, max: 3000 }), fc.array(fc.integer({ min: 1, max: 3200 }), { maxLength: 3 }))
        .map(([base, extra]) => portFootprint('openclaw', base, extra.map((port) => ({ port, label: 'extra' })))),
    );
    fc.assert(
      fc.property(fc.array(footprint, { minLength: 0, maxLength: 40 }), (footprints: PortFootprint[]) => {
        const fleet = footprints.map((fp, i) => ({ gateway: `g${i}`, footprint: fp }));
        const expected = oracle(fleet);
        const found = findPortConflicts(fleet);
        const involved = new Set([...expected.keys()].flatMap((k) => k.split('|')));
        const named = new Set(found.flatMap((c) => [c.first, c.second]));
        expect(named).toEqual(involved);
        for (const c of found) {
          expect(expected.get(`${c.first}|${c.second}`)).toBe(c.port);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('finds the first shared port of two footprints', () => {
    expect(firstSharedPort(portFootprint('openclaw', 100), portFootprint('openclaw', 150))?.port).toBe(150);
    expect(firstSharedPort(portFootprint('openclaw', 100), portFootprint('openclaw', 300))).toBeUndefined();
  });
});
