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
  { file: 'duplicate-name.yaml', line: 5, key: '', message: /appears twice.*gateway names must be unique/ },
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
  { file: 'cdp-port-overlap.yaml', line: 7, key: 'gateways.rescue.port', message: /both reserve port 18850 .*browser\.profiles\.work\.cdpPort/ },
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
