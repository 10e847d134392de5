// Plans and conflict-checks generated fleets of 10, 1 000 and 100 000 gateways on the compiled
// planner and prints the times. Target: 100 000 gateways planned and checked in under 1 s.
// Each size runs in a fresh process so one size's garbage does not bill the next.
//   npm run bench:plan
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const ctx = { manifestPath: '/bench/fleet.yaml', home: '/home/bench', stateHome: '/home/bench/.local/state' };

/** OpenClaw gateways 120 ports apart; only ~535 fit below 65535, so a larger fleet collides. */
function openclawFleet(n) {
  const gateways = {};
  for (let i = 0; i < n; i += 1) gateways[`gw${i}`] = { port: 1024 + ((i * 120) % 64_320), role: i % 2 ? 'rescue' : 'main' };
  return { version: 1, gateways };
}

/** Single-port command gateways, distinct ports up to 64 000 gateways. */
function commandFleet(n) {
  const gateways = {};
  for (let i = 0; i < n; i += 1) gateways[`gw${i}`] = { kind: 'command', command: 'srv', port: 1024 + (i % 64_000) };
  return { version: 1, gateways };
}

async function measure(kind, n) {
  const { planFleet } = await import('../dist/plan/plan-fleet.js');
  const { manifestSchema } = await import('../dist/manifest/schema.js');
  const manifest = kind === 'openclaw' ? openclawFleet(n) : commandFleet(n);
  let start = performance.now();
  const parsed = manifestSchema.safeParse(manifest);
  const schemaMs = performance.now() - start;
  start = performance.now();
  const result = planFleet(parsed.data, ctx);
  const planMs = performance.now() - start;
  process.stdout.write(JSON.stringify({ kind, n, planMs, schemaMs, conflicts: result.problems.length }));
}

if (process.argv[2] === '--one') {
  await measure(process.argv[3], Number(process.argv[4]));
} else {
  console.log(`node ${process.version}; each figure is the median of 5 fresh processes`);
  console.log('fleet                      plan+check     zod schema   problems');
  for (const [kind, n] of [['openclaw', 10], ['openclaw', 1_000], ['openclaw', 100_000], ['command', 10], ['command', 1_000], ['command', 100_000]]) {
    const runs = [];
    for (let r = 0; r < 5; r += 1) runs.push(JSON.parse(execFileSync(process.execPath, [self, '--one', kind, String(n)], { encoding: 'utf8' })));
    const med = (key) => runs.map((x) => x[key]).sort((a, b) => a - b)[2];
    console.log(
      `${kind.padEnd(9)} ${String(n).padStart(7)} gateways  ${med('planMs').toFixed(1).padStart(8)} ms  ${med('schemaMs').toFixed(1).padStart(8)} ms  ${String(runs[0].conflicts).padStart(8)}`,
    );
  }
}
