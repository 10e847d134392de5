import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoTime } from './iso-time.js';

describe('isoTime', () => {
  it.each([0, 1, 999, 1_796_152_589_802, Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(9999, 0, 1)])('matches toISOString at %i', (ms) => {
    expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });

  it('matches toISOString for any time in years 0–9999', () => {
    fc.assert(fc.property(fc.integer({ min: Date.parse('0000-01-01T00:00:00.000Z'), max: Date.parse('9999-12-31T23:59:59.999Z') }), (ms) => isoTime(ms) === new Date(ms).toISOString()));
  });
});
