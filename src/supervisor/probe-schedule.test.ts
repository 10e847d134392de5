import { describe, expect, it } from 'vitest';
import { MAX_PROBE_SLOTS, nextProbeDelay, probePhaseMs, probeSlotCount } from './probe-schedule.js';

describe('nextProbeDelay', () => {
  it.each([
    // now, interval, phase → delay
    [0, 2000, 0, 2000],
    [1, 2000, 0, 1999],
    [1999, 2000, 0, 1],
    [2000, 2000, 0, 2000],
    [2100, 2000, 250, 150],
    [2250, 2000, 250, 2000],
    [100, 2000, 250, 150],
    // A probe that ran past its slot waits for the next one instead of drifting.
    [3700, 2000, 0, 300],
  ])('at %i with interval %i and phase %i waits %i ms', (now, interval, phase, delay) => {
    expect(nextProbeDelay(now, interval, phase)).toBe(delay);
  });

  it('lands every gateway of the same phase on the same instants, wherever it starts', () => {
    const phase = probePhaseMs('main', 2000, 8);
    const grid = (start: number): number[] => {
      const times: number[] = [];
      let t = start;
      for (let i = 0; i < 3; i += 1) {
        t += nextProbeDelay(t, 2000, phase);
        times.push(t);
      }
      return times;
    };
    expect(grid(1_700_000_000_123)).toEqual(grid(1_700_000_000_987));
    for (const t of grid(5)) expect((t - phase) % 2000).toBe(0);
  });
});

describe('probeSlotCount', () => {
  it.each([
    [0, 1],
    [1, 1],
    [20, 1],
    [100, 1],
    [101, 2],
    [200, 2],
    [1000, MAX_PROBE_SLOTS],
    [100_000, MAX_PROBE_SLOTS],
  ])('a fleet of %i probes in %i slots', (gateways, slots) => {
    expect(probeSlotCount(gateways)).toBe(slots);
  });
});

describe('probePhaseMs', () => {
  it('puts every gateway of a small fleet in the same slot', () => {
    for (const name of ['main', 'rescue', 'gw01']) expect(probePhaseMs(name, 2000, 1)).toBe(0);
  });

  it('is stable, within the interval, on one of the slots', () => {
    expect(probePhaseMs('rescue', 2000, 8)).toBe(probePhaseMs('rescue', 2000, 8));
    for (const name of ['main', 'rescue', 'gw01', 'gw02', 'a', '']) {
      const phase = probePhaseMs(name, 2000, 8);
      expect(phase).toBeGreaterThanOrEqual(0);
      expect(phase).toBeLessThan(2000);
      expect(phase % (2000 / 8)).toBe(0);
    }
  });

  it('spreads a large fleet over all its slots', () => {
    const used = new Set(Array.from({ length: 1000 }, (_, i) => probePhaseMs(`gw${i}`, 2000, probeSlotCount(1000))));
    expect(used.size).toBe(MAX_PROBE_SLOTS);
  });
});
