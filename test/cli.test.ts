import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPO, runCli } from './helpers/cli.js';

const FIXTURES = path.join(REPO, 'test', 'fixtures', 'manifests');
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'clawfleet-cli-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function noStackTrace(text: string): void {
  expect(text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
}

describe('clawfleet validate', () => {
  it('prints the resolved plan of the default manifest and exits 0', async () => {
    const run = await runCli(['validate'], { env: { HOME: dir } });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('config/fleet.yaml: valid, 2 gateways');
    for (const text of ['main (main, openclaw)', 'rescue (rescue, openclaw)', 'state dir', 'working dir', 'reserved     18789, 18791-18793, 18799-18899 (105 ports)']) {
      expect(run.stdout).toContain(text);
    }
  });

  it('exits 2 with every problem as file:line:col: key: message, and no stack trace', async () => {
    const run = await runCli(['validate', '-c', path.join(FIXTURES, 'many-problems.yaml')]);
    expect(run.code).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/many-problems\.yaml:4:5: gateways\.main\.prot: unknown key "prot" \(did you mean "port"\?\)$/);
    expect(lines[1]).toMatch(/many-problems\.yaml:7:5: gateways\.side\.port: gateways "main" and "side" both reserve port 18809/);
    expect(lines[2]).toMatch(/many-problems\.yaml:12:7: gateways\.rescue\.health\.livenes: unknown key "livenes" \(did you mean "liveness"\?\)$/);
    expect(lines[3]).toBe('3 problems found; nothing was started or changed');
    noStackTrace(run.stderr);
  });

  it('reads the manifest from $CLAWFLEET_CONFIG', async () => {
    const run = await runCli(['validate'], { env: { CLAWFLEET_CONFIG: path.join(FIXTURES, 'old-spacing.yaml') } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('old-spacing.yaml:8:5');
  });

  it('names a missing manifest file', async () => {
    const run = await runCli(['validate', '-c', 'nope.yaml'], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('nope.yaml: cannot read the manifest: no such file');
    noStackTrace(run.stderr);
  });

  it('--json shows each start environment with secrets masked and no service markers', async () => {
    writeFileSync(path.join(dir, 'main.env'), 'PLAIN_FROM_FILE=visible-only-as-mask\nOPENAI_API_KEY=sk-secret\n');
    writeFileSync(
      path.join(dir, 'fleet.yaml'),
      'version: 1\ngateways:\n  main:\n    port: 23100\n    envFile: main.env\n    env: { MODEL: big, SLACK_TOKEN: xoxb-1 }\n  rescue:\n    role: rescue\n    port: 23300\n',
    );
    const run = await runCli(['validate', '--json', '-c', 'fleet.yaml'], {
      cwd: dir,
      env: { HOME: dir, INVOCATION_ID: 'abc', JOURNAL_STREAM: '8:1', OPENCLAW_GATEWAY_TOKEN: 'leak', LANG: 'C.UTF-8' },
    });
    expect(run.code).toBe(0);
    const plan = JSON.parse(run.stdout) as { gateways: Array<{ name: string; startEnv: Record<string, string>; footprint: { reserved: number[][] } }> };
    const main = plan.gateways.find((g) => g.name === 'main')!;
    expect(main.startEnv).toMatchObject({
      MODEL: 'big',
      SLACK_TOKEN: '***',
      OPENAI_API_KEY: '***',
      PLAIN_FROM_FILE: '***',
      LANG: 'C.UTF-8',
      OPENCLAW_GATEWAY_PORT: '23100',
      OPENCLAW_PROFILE: 'main',
      OPENCLAW_STATE_DIR: path.join(dir, '.openclaw-main'),
    });
    for (const name of ['INVOCATION_ID', 'JOURNAL_STREAM', 'OPENCLAW_GATEWAY_TOKEN']) expect(main.startEnv).not.toHaveProperty(name);
    expect(run.stdout).not.toContain('sk-secret');
    expect(run.stdout).not.toContain('xoxb-1');
    expect(main.footprint.reserved).toEqual([[23100, 23100], [23102, 23104], [23110, 23210]]);
    const rescue = plan.gateways.find((g) => g.name === 'rescue')!;
    expect(rescue.startEnv).not.toHaveProperty('MODEL');
  });
});

describe('clawfleet schema', () => {
  it('matches config/fleet.schema.json (regenerate with `node dist/cli.js schema > config/fleet.schema.json`)', async () => {
    const run = await runCli(['schema']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(JSON.parse(readFileSync(path.join(REPO, 'config', 'fleet.schema.json'), 'utf8')));
    expect(JSON.parse(run.stdout).properties.gateways).toBeDefined();
  });
});

describe('clawfleet init', () => {
  it('writes a starter manifest that validates, then refuses to overwrite it', async () => {
    const first = await runCli(['init', 'fleet.yaml'], { cwd: dir });
    expect(first.code).toBe(0);
    const written = readFileSync(path.join(dir, 'fleet.yaml'), 'utf8');
    expect(written).toMatch(/^\s+main:$/m);
    expect(written).toMatch(/^\s+rescue:$/m);
    const check = await runCli(['validate', '-c', 'fleet.yaml'], { cwd: dir, env: { HOME: dir } });
    expect(check.code).toBe(0);
    writeFileSync(path.join(dir, 'fleet.yaml'), `${written}# my edit\n`);
    const second = await runCli(['init', 'fleet.yaml'], { cwd: dir });
    expect(second.code).toBe(2);
    expect(second.stderr).toContain('already exists');
    expect(readFileSync(path.join(dir, 'fleet.yaml'), 'utf8')).toContain('# my edit');
  });
});

describe('clawfleet ports', () => {
  let server: net.Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  it('maps the reserved ports and names the process listening on one', async () => {
    writeFileSync(path.join(dir, 'fleet.yaml'), 'version: 1\ngateways:\n  main:\n    port: 23400\n  rescue:\n    role: rescue\n    port: 23600\n');
    server = net.createServer();
    await new Promise<void>((resolve) => server!.listen(23650, '127.0.0.1', resolve));
    const run = await runCli(['ports', '-c', 'fleet.yaml'], { cwd: dir, env: { HOME: dir } });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/23400\s+main\s+base port/);
    expect(run.stdout).toMatch(/23611-23710\s+rescue\s+browser CDP range/);
    expect(run.stdout).toMatch(new RegExp(`23650 127\\.0\\.0\\.1 +reserved by rescue for browser CDP range.*held by pid ${process.pid} `));
  });

  it('says so when nothing holds a reserved port', async () => {
    writeFileSync(path.join(dir, 'fleet.yaml'), 'version: 1\ngateways:\n  main:\n    port: 23800\n');
    const run = await runCli(['ports', '-c', 'fleet.yaml'], { cwd: dir, env: { HOME: dir } });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('none of the reserved ports is in use');
  });
});

describe('usage', () => {
  it('exits 2 on an unknown command or option', async () => {
    expect((await runCli(['frobnicate'])).code).toBe(2);
    expect((await runCli(['validate', '--frob'])).code).toBe(2);
  });
});
