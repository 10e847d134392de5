import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { launchdPlist, systemdUnit } from '../src/cli/install.js';
import { REPO, runCli } from './helpers/cli.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'clawfleet-install-'));
  writeFileSync(path.join(dir, 'bots.yaml'), 'version: 1\ngateways:\n  main:\n    port: 18789\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The value of a key in a systemd unit's text. */
function unitValue(text: string, key: string): string | undefined {
  return new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1];
}

describe('clawfleet install', () => {
  it('--dry-run prints a systemd user unit that restarts the supervisor without killing gateways', async () => {
    const run = await runCli(['install', '--dry-run', '-c', 'bots.yaml'], { cwd: dir, env: { HOME: dir } });
    expect(run.code, run.stderr).toBe(0);
    const [first, ...rest] = run.stdout.split('\n');
    expect(first).toBe(`# ${path.join(dir, '.config', 'systemd', 'user', 'clawfleet-bots.service')}`);
    const unit = rest.join('\n');
    expect(unitValue(unit, 'ExecStart')).toBe(`${process.execPath} ${path.join(REPO, 'dist', 'cli.js')} up -c ${path.join(dir, 'bots.yaml')}`);
    expect(unitValue(unit, 'Restart')).toBe('always');
    expect(unitValue(unit, 'KillMode')).toBe('process');
    expect(unitValue(unit, 'ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(unitValue(unit, 'WantedBy')).toBe('default.target');
    for (const section of ['[Unit]', '[Service]', '[Install]']) expect(unit).toContain(section);
    expect(existsSync(path.join(dir, '.config', 'systemd', 'user', 'clawfleet-bots.service'))).toBe(false);
  });

  it('writes the unit and says how to enable it', async () => {
    const run = await runCli(['install', '-c', 'bots.yaml'], { cwd: dir, env: { HOME: dir } });
    expect(run.code, run.stderr).toBe(0);
    const file = path.join(dir, '.config', 'systemd', 'user', 'clawfleet-bots.service');
    expect(readFileSync(file, 'utf8')).toContain('KillMode=process');
    expect(run.stdout).toContain('systemctl --user enable --now clawfleet-bots.service');
  });

  it('quotes paths with spaces, and writes a launchd agent that abandons nothing to launchd', () => {
    const unit = systemdUnit('/srv/my bots/fleet.yaml', '/usr/bin/node', '/opt/clawfleet/dist/cli.js');
    expect(unitValue(unit, 'ExecStart')).toBe('/usr/bin/node /opt/clawfleet/dist/cli.js up -c "/srv/my bots/fleet.yaml"');
    const plist = launchdPlist('ai.clawfleet.fleet', '/Users/u/fleet.yaml', '/usr/local/bin/node', '/opt/cli.js', '/Users/u/Library/Logs/clawfleet');
    expect(plist).toMatch(/<key>AbandonProcessGroup<\/key><true\/>/);
    expect(plist).toMatch(/<key>KeepAlive<\/key><true\/>/);
    expect(plist).toContain('<string>up</string>');
  });

  it('names a missing manifest', async () => {
    const run = await runCli(['install', '--dry-run', '-c', 'nope.yaml'], { cwd: dir, env: { HOME: dir } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no manifest at');
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');
  const final = text.slice(text.lastIndexOf('\nFROM '));
  const instruction = (name: string): string[] =>
    final.replace(/\\\n\s*/g, ' ').split('\n').filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1).trim());

  it('runs clawfleet up as a non-root user under tini, with a volume for state', () => {
    expect(final).toMatch(/^FROM node:20/m);
    expect(instruction('USER')).toEqual(['node']);
    expect(JSON.parse(instruction('ENTRYPOINT')[0]!)).toEqual(['/usr/bin/tini', '-g', '--']);
    expect(JSON.parse(instruction('CMD')[0]!)).toEqual(['node', '/app/dist/cli.js', 'up']);
    expect(JSON.parse(instruction('VOLUME')[0]!)).toEqual(['/var/lib/clawfleet']);
    expect(final).toMatch(/ENV .*XDG_STATE_HOME=\/var\/lib\/clawfleet/s);
    expect(instruction('RUN').join(' ')).toContain('install -y --no-install-recommends tini');
  });

  it('has a HEALTHCHECK that asks the supervisor', () => {
    const [health] = instruction('HEALTHCHECK');
    expect(health).toMatch(/CMD \["node", "\/app\/dist\/cli.js", "status"\]$/);
  });

  it('copies only files that exist', () => {
    const sources = text
      .split('\n')
      .filter((l) => l.startsWith('COPY ') && !l.includes('--from'))
      .flatMap((l) => l.slice(5).trim().split(/\s+/).slice(0, -1));
    for (const source of sources) expect(existsSync(path.join(REPO, source)), source).toBe(true);
  });
});
