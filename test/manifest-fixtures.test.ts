import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadManifest } from '../src/manifest/load.js';
import { formatKeyPath } from '../src/manifest/problems.js';

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'manifests');
const ctx = { home: '/home/u', stateHome: '/home/u/.local/state', cwd: FIXTURES };

/** One fixture per kind of mistake: where it must be reported, and how. */
const cases: Array<{ file: string; line: number; key: string; message: RegExp }> = [
  { file: 'unknown-key.yaml', line: 4, key: 'gateways.main.prot', message: /unknown key "prot" \(did you mean "port"\?\)/ },
  { file: 'yaml-syntax.yaml', line: 5, key: '', message: /YAML syntax/ },
  { file: 'duplicate-name.yaml', line: 5, key: 'gateways.main', message: /^the gateway "main" is defined twice; gateway names must be unique$/ },
  { file: 'duplicate-key.yaml', line: 5, key: 'defaults.stop.timeout', message: /^the key "timeout" appears twice in defaults\.stop; keep one$/ },
  { file: 'bad-duration.yaml', line: 6, key: 'gateways.main.stop.timeout', message: /expected a duration such as "500ms".*got number 10/ },
  { file: 'bad-size.yaml', line: 6, key: 'gateways.main.limits.memory', message: /expected a size such as "512MB"/ },
  { file: 'port-range.yaml', line: 4, key: 'gateways.main.port', message: /between 1 and 65535/ },
  { file: 'footprint-overflow.yaml', line: 4, key: 'gateways.main.port', message: /past 65535; use a base port of at most 65425/ },
  { file: 'old-spacing.yaml', line: 8, key: 'gateways.rescue.port', message: /"main" and "rescue" both reserve port 18809 \(main: browser CDP range.*rescue: base port\)/ },
  { file: 'shared-state.yaml', line: 9, key: 'gateways.rescue.stateDir', message: /share the state dir \/srv\/openclaw\/state/ },
  { file: 'nested-state.yaml', line: 9, key: 'gateways.rescue.stateDir', message: /lies inside the state dir of "main"/ },
  { file: 'shared-config.yaml', line: 9, key: 'gateways.rescue.configPath', message: /share the config path \/srv\/openclaw.json/ },
  { file: 'shared-workspace.yaml', line: 9, key: 'gateways.rescue.workspace', message: /share the workspace \/srv\/ws/ },
  { file: 'profile-collision.yaml', line: 9, key: 'gateways.rescue.profile', message: /"main" and "rescue" both use OpenClaw profile "Bot"/ },
  { file: 'bad-profile.yaml', line: 5, key: 'gateways.main.profile', message: /a profile is letters, digits/ },
  { file: 'bad-role.yaml', line: 5, key: 'gateways.main.role', message: /expected "main" or "rescue", got the string "resuce"/ },
  { file: 'missing-port.yaml', line: 3, key: 'gateways.main', message: /needs a "port"/ },
  { file: 'missing-envfile.yaml', line: 5, key: 'gateways.main.envFile', message: /cannot read envFile .*does-not-exist.env: no such file/ },
  { file: 'bad-version.yaml', line: 1, key: 'version', message: /expected version: 1/ },
  { file: 'bad-signal.yaml', line: 6, key: 'gateways.main.stop.signal', message: /SIGHUP and SIGUSR1 would kill or break/ },
  { file: 'cdp-port-overlap.yaml', line: 7, key: 'gateways.rescue.port', message: /both reserve port 18850 .*browser\.profiles\.work\.cdpPort.*; move browser\.profiles\.work\.cdpPort to a port outside/ },
  { file: 'stop-sigusr2.yaml', line: 6, key: 'gateways.main.stop.signal', message: /SIGUSR2 is refused for kind "openclaw": it makes OpenClaw restart in place, so a stop would never stop it/ },
  { file: 'shared-cwd.yaml', line: 9, key: 'gateways.rescue.cwd', message: /share the working dir \/srv\/run; each gateway needs its own \(OpenClaw reads \.env from it\)/ },
  { file: 'workspace-in-state.yaml', line: 9, key: 'gateways.rescue.workspace', message: /the workspace of "rescue" \(\/srv\/main\/rescue-ws\) lies inside the state dir of "main"/ },
  { file: 'shared-cdp-url.yaml', line: 9, key: 'gateways.rescue.browser', message: /both use the browser cdpUrl http:\/\/127\.0\.0\.1:9222; two gateways must never drive one browser: give each its own cdpUrl/ },
];

describe('manifest fixtures: every mistake is named with file, line and key', () => {
  it.each(cases)('$file', ({ file, line, key, message }) => {
    const result = loadManifest(file, ctx);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const match = result.problems.find((p) => message.test(p.message));
    expect(match, result.problems.map((p) => p.message).join('\n')).toBeDefined();
    expect(match!.file).toBe(file);
    expect(match!.line).toBe(line);
    expect(formatKeyPath(match!.path)).toBe(key);
  });

  it('reports schema problems and fleet conflicts of one manifest at once', () => {
    const result = loadManifest('many-problems.yaml', ctx);
    if (result.ok) throw new Error('expected problems');
    const summary = result.problems.map((p) => `${p.line} ${formatKeyPath(p.path)}`);
    expect(summary).toEqual(['4 gateways.main.prot', '7 gateways.side.port', '12 gateways.rescue.health.livenes']);
  });

  it.each([
    { file: 'defaults-bad-duration-and-overlap.yaml', expected: ['5 defaults.stop.timeout', '11 gateways.rescue.port'] },
    { file: 'gateway-bad-interval-and-overlap.yaml', expected: ['8 gateways.rescue.port', '10 gateways.rescue.health.liveness.interval'] },
  ])('reports a bad value and the port overlap it sits beside in one run: $file', ({ file, expected }) => {
    const result = loadManifest(file, ctx);
    if (result.ok) throw new Error('expected problems');
    expect(result.problems.map((p) => `${p.line} ${formatKeyPath(p.path)}`)).toEqual(expected);
    expect(result.problems.map((p) => p.message).join('\n')).toMatch(/"main" and "rescue" both reserve port 18809 .*base ports at least 120 apart/);
  });

  it('plans no gateway whose kind, port or command is invalid, and adds nothing that follows from it', () => {
    const result = loadManifest('bad-identity-values.yaml', ctx);
    if (result.ok) throw new Error('expected problems');
    expect(result.problems.map((p) => `${p.line} ${formatKeyPath(p.path)}`)).toEqual([
      '4 defaults.port',
      '7 gateways.typo.kind',
      '13 gateways.wrongport.port',
      '17 gateways.side.port',
    ]);
  });

  it('says which gateway a shared cdpUrl is, never "base ports 120 apart"', () => {
    const result = loadManifest('shared-cdp-url.yaml', ctx);
    if (result.ok) throw new Error('expected a problem');
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]!.message).not.toMatch(/120 apart/);
  });

  it('accepts JSON', () => {
    const result = loadManifest('valid.json', ctx);
    expect(result.ok).toBe(true);
  });
});

describe("ports from an instance's own OpenClaw config", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reads JSON5 and counts its CDP ports in the footprint', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'clawfleet-instance-'));
    writeFileSync(
      path.join(dir, 'rescue.json5'),
      `// rescue's config\n{ browser: { profiles: { work: { cdpPort: 18850, }, }, }, }\n`,
    );
    writeFileSync(
      path.join(dir, 'fleet.yaml'),
      `version: 1\ngateways:\n  main:\n    port: 18789\n    configPath: ./main.json\n  rescue:\n    port: 19789\n    configPath: ./rescue.json5\n`,
    );
    const result = loadManifest('fleet.yaml', { ...ctx, cwd: dir });
    if (result.ok) throw new Error('expected a conflict');
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]!.message).toMatch(/both reserve port 18850 .*browser\.profiles\.work\.cdpPort in .*rescue\.json5/);
    expect(result.problems[0]!.line).toBe(7);
  });

  it('reports a config file that is not JSON5 without stopping', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'clawfleet-instance-'));
    writeFileSync(path.join(dir, 'main.json'), '{ browser: ');
    writeFileSync(path.join(dir, 'fleet.yaml'), `version: 1\ngateways:\n  main:\n    port: 18789\n    configPath: ./main.json\n`);
    const result = loadManifest('fleet.yaml', { ...ctx, cwd: dir });
    if (result.ok) throw new Error('expected a problem');
    expect(result.problems[0]!.message).toMatch(/main\.json is not valid JSON5/);
  });
});

describe("the workspace from an instance's own OpenClaw config", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const fleet = (workspace = '') =>
    `version: 1\ngateways:\n  main:\n    port: 18789\n    configPath: ./main.json5\n${workspace}  rescue:\n    port: 19789\n    stateDir: /srv/rescue\n`;

  it('plans agents.defaults.workspace (with ~ as home) when the manifest has none, and checks it for conflicts', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'clawfleet-instance-'));
    writeFileSync(path.join(dir, 'main.json5'), `{ agents: { defaults: { workspace: "~/bots/main-ws" } } }\n`);
    writeFileSync(path.join(dir, 'fleet.yaml'), fleet());
    const ok = loadManifest('fleet.yaml', { ...ctx, cwd: dir });
    if (!ok.ok) throw new Error(ok.problems.map((p) => p.message).join('\n'));
    const main = ok.manifest.plan.gateways.find((g) => g.name === 'main')!;
    expect(main.workspace).toBe('/home/u/bots/main-ws');
    expect(ok.manifest.plan.gateways.find((g) => g.name === 'rescue')!.workspace).toBe('/srv/rescue/workspace');

    writeFileSync(path.join(dir, 'main.json5'), `{ agents: { defaults: { workspace: "/srv/rescue/stolen" } } }\n`);
    const clash = loadManifest('fleet.yaml', { ...ctx, cwd: dir });
    if (clash.ok) throw new Error('expected a conflict');
    expect(clash.problems.map((p) => `${formatKeyPath(p.path)}: ${p.message}`)).toEqual([
      'gateways.main.workspace: the workspace of "main" (/srv/rescue/stolen) lies inside the state dir of "rescue" (/srv/rescue); keep each gateway\'s workspace out of other gateways\' state dirs',
    ]);
  });

  it('refuses a manifest workspace that the config overrides', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'clawfleet-instance-'));
    writeFileSync(path.join(dir, 'main.json5'), `{ agents: { defaults: { workspace: "/srv/ws/main" } } }\n`);
    writeFileSync(path.join(dir, 'fleet.yaml'), fleet('    workspace: /srv/other\n'));
    const result = loadManifest('fleet.yaml', { ...ctx, cwd: dir });
    if (result.ok) throw new Error('expected a problem');
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]!.line).toBe(6);
    expect(formatKeyPath(result.problems[0]!.path)).toBe('gateways.main.workspace');
    expect(result.problems[0]!.message).toMatch(/main\.json5 sets agents\.defaults\.workspace to \/srv\/ws\/main, which OpenClaw uses instead of the planned workspace \/srv\/other/);
  });
});
