import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { planFleet } from '../plan/plan-fleet.js';
import { parseManifest } from './load.js';
import { formatProblem } from './problems.js';

const ctx = { manifestPath: '/f/fleet.yaml', home: '/h', stateHome: '/h/s' };

/** Values shaped roughly like manifests: right keys with wrong values, wrong keys, wrong nesting. */
const key = fc.oneof(
  fc.constantFrom('version', 'defaults', 'gateways', 'supervisor', 'port', 'role', 'health', 'liveness', 'http', 'interval', 'env', 'stop', 'timeout', 'restart', 'limits', 'memory', 'profile', 'stateDir', 'args', 'command', 'kind', 'browser', 'profiles', 'cdpPort', 'enabled', 'main', 'rescue'),
  fc.string({ maxLength: 8 }),
);
const leaf = fc.oneof(
  fc.integer({ min: -10, max: 70_000 }),
  fc.constantFrom('10s', '500ms', 'lots', '1.5GB', '/healthz', 'rescue', 'main', 'openclaw', 'command', '', '{port}', '{prot}', 'SIGHUP'),
  fc.string({ maxLength: 12 }),
  fc.boolean(),
  fc.constant(null),
);
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(key, tie('node'), { maxKeys: 5 })),
})).node;

/** Manifests that are mostly right, so the planner's checks are reached too. */
const nearlyValid = fc
  .dictionary(
    fc.stringMatching(/^[a-z][a-z0-9-]{0,6}$/),
    fc.record(
      {
        port: fc.oneof(fc.integer({ min: 1, max: 66_000 }), leaf),
        role: fc.constantFrom('main', 'rescue', 'other'),
        profile: fc.constantFrom('a', 'b', 'default', 'Bad Name'),
        stateDir: fc.constantFrom('/s', '/s/x', '~/a', 'rel/{name}', '{nope}'),
        env: fc.dictionary(fc.string({ maxLength: 5 }), leaf, { maxKeys: 2 }),
        health: fc.record({ liveness: fc.record({ http: fc.constantFrom('/healthz', 'healthz', '/a b'), interval: leaf }, { requiredKeys: [] }) }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    ),
    { maxKeys: 5 },
  )
  .map((gateways) => ({ version: 1, gateways }));

function check(input: unknown): void {
  const text = typeof input === 'string' ? input : stringify(input);
  const parsed = parseManifest(text, 'fleet.yaml');
  if (parsed.ok) {
    const { problems } = planFleet(parsed.raw, ctx);
    for (const p of problems) {
      expect(p.path.length, p.message).toBeGreaterThan(0);
      expect(p.message.length).toBeGreaterThan(0);
    }
    return;
  }
  if (parsed.partial !== undefined) {
    // What is left once the invalid values are out must plan like any valid manifest.
    for (const p of planFleet(parsed.partial.raw, ctx).problems) expect(p.path.length, p.message).toBeGreaterThan(0);
  }
  for (const problem of parsed.problems) {
    // A syntax error is named by its line; every other rejection by its key path.
    expect(problem.path.length > 0 || problem.line !== undefined || problem.message.startsWith('the manifest is empty'), formatProblem(problem)).toBe(true);
    expect(problem.message).not.toMatch(/Invalid input|ZodError|\[object Object\]|undefined$/);
  }
}

describe('the manifest parser and planner, on arbitrary input', () => {
  it('never throw on arbitrary values, and name a key path or line in every rejection', () => {
    fc.assert(fc.property(value, (input) => check(input)), { numRuns: 400 });
  });

  it('never throw on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (text) => check(text)), { numRuns: 400 });
  });

  it('never throw on nearly valid manifests, whose problems all name a key path', () => {
    fc.assert(fc.property(nearlyValid, (input) => check(input)), { numRuns: 400 });
  });
});
