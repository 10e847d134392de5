import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliContext } from '../src/cli/context.js';
import { fleetStopSeconds, installedManifest, launchdPlist, runInstall, systemdUnit } from '../src/cli/install.js';
import { loadManifest } from '../src/manifest/load.js';
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

/** Runs `install` in-process (for options the CLI's parser may not offer yet), collecting both streams. */
function install(options: Parameters<typeof runInstall>[0], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const ctx: CliContext = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: { HOME: dir, PATH: '/usr/bin:/bin', ...env }, cwd: dir, isTTY: false };
  const code = runInstall({ platform: 'linux', ...options }, ctx);
  return { code, stdout, stderr };
}

function writeManifest(relative: string, text = 'version: 1\ngateways:\n  main:\n    port: 18789\n'): string {
  const file = path.join(dir, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

const SYSTEMD_ANALYZE = spawnSync('systemd-analyze', ['--version']).status === 0;

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
    // Exits 2 (invalid manifest) and 3 (a supervisor already runs it) would only repeat.
    expect(unitValue(unit, 'RestartPreventExitStatus')).toBe('2 3');
    // Restarted however often it dies: without the supervisor nothing restarts a crashed gateway.
    expect(unitValue(unit, 'StartLimitIntervalSec')).toBe('0');
    expect(unitValue(unit, 'TimeoutStopSec')).toBe('120');
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
    expect(run.stdout).toContain('systemctl --user kill --kill-whom=main --signal=SIGUSR2 clawfleet-bots.service');
  });

  it('carries the installing shell\'s PATH, escaped for systemd', async () => {
    const shellPath = `${dir}/npm 100%/bin:/usr/bin:/bin`;
    const run = await runCli(['install', '--dry-run', '-c', 'bots.yaml'], { cwd: dir, env: { HOME: dir, PATH: shellPath } });
    expect(run.code, run.stderr).toBe(0);
    expect(unitValue(run.stdout, 'Environment')).toBe(`"PATH=${dir}/npm 100%%/bin:/usr/bin:/bin"`);
    const plist = launchdPlist('ai.clawfleet.fleet', '/Users/u/fleet.yaml', '/usr/local/bin/node', '/opt/cli.js', '/Users/u/Library/Logs/clawfleet', { path: '/Users/u/.nvm/bin:/a&b' });
    expect(plist).toMatch(/<key>EnvironmentVariables<\/key>\s*<dict>\s*<key>PATH<\/key><string>\/Users\/u\/\.nvm\/bin:\/a&amp;b<\/string>\s*<\/dict>/);
  });

  it('shows the upgrade command that signals the supervisor alone, never the gateways in its cgroup', async () => {
    const run = await runCli(['install', '--dry-run', '-c', 'bots.yaml'], { cwd: dir, env: { HOME: dir } });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('systemctl --user kill --kill-whom=main --signal=SIGUSR2 clawfleet-bots.service');
    const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const kills = [...`${readme}\n${run.stdout}`.matchAll(/systemctl --user kill [^\n`]*/g)].map((m) => m[0]);
    expect(kills.length).toBeGreaterThan(1);
    // Without --kill-whom=main, systemctl kill signals every process of the unit: SIGUSR2 restarts each gateway.
    for (const kill of kills) expect(kill).toMatch(/--kill-whom?=main/);
  });

  it('gives systemd and launchd time for the fleet to stop: mains, then rescues, then the hooks', async () => {
    writeManifest('slow.yaml', [
      'version: 1',
      'gateways:',
      '  main: { port: 18789, stop: { timeout: 2m } }',
      '  other: { port: 19789, stop: { timeout: 10s } }',
      '  rescue: { role: rescue, port: 20789, stop: { timeout: 3m } }',
      '',
    ].join('\n'));
    const run = await runCli(['install', '--dry-run', '-c', 'slow.yaml'], { cwd: dir, env: { HOME: dir } });
    expect(run.code, run.stderr).toBe(0);
    // (120 s + 5 s sweep) + (180 s + 5 s sweep) + 30 s for the hooks' drain.
    expect(unitValue(run.stdout, 'TimeoutStopSec')).toBe('340');
    const darwin = install({ config: 'slow.yaml', dryRun: true, platform: 'darwin' });
    expect(darwin.code, darwin.stderr).toBe(0);
    expect(darwin.stdout).toContain('<key>ExitTimeOut</key><integer>340</integer>');
    // The default fleet and OpenClaw's example manifest fit in the floor (which the README's advice matches).
    for (const manifest of ['fleet.yaml', 'openclaw.yaml']) {
      const loaded = loadManifest(path.join(REPO, 'config', manifest), { home: dir, stateHome: dir, cwd: dir });
      expect(loaded.ok).toBe(true);
      if (loaded.ok) expect(fleetStopSeconds(loaded.manifest.plan.gateways)).toBe(120);
    }
  });

  it('refuses an invalid manifest, which the unit would only exit 2 on', async () => {
    writeManifest('bad.yaml', 'version: 1\ngateways:\n  main:\n    prot: 18789\n');
    const run = await runCli(['install', '-c', 'bad.yaml'], { cwd: dir, env: { HOME: dir } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('bad.yaml');
    expect(existsSync(path.join(dir, '.config', 'systemd', 'user', 'clawfleet-bad.service'))).toBe(false);
  });

  it('never overwrites the unit of another manifest with the same base name, and --name tells them apart', async () => {
    const a = writeManifest('a/fleet.yaml');
    const b = writeManifest('b/fleet.yaml', 'version: 1\ngateways:\n  main:\n    port: 28789\n');
    const unitFile = path.join(dir, '.config', 'systemd', 'user', 'clawfleet-fleet.service');
    expect((await runCli(['install', '-c', 'a/fleet.yaml'], { cwd: dir, env: { HOME: dir } })).code).toBe(0);
    const first = readFileSync(unitFile, 'utf8');

    for (const dryRun of [[], ['--dry-run']]) {
      const run = await runCli(['install', ...dryRun, '-c', 'b/fleet.yaml'], { cwd: dir, env: { HOME: dir } });
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr.trim().split('\n')).toEqual([
        `${unitFile} already runs ${a}; not replacing it with one for ${b}: pick another name with --name NAME (e.g. --name b-fleet)`,
      ]);
    }
    expect(readFileSync(unitFile, 'utf8')).toBe(first);

    // The same manifest again: rewritten (e.g. after an upgrade moved node), not refused.
    expect((await runCli(['install', '-c', 'a/fleet.yaml'], { cwd: dir, env: { HOME: dir } })).code).toBe(0);

    const named = await runCli(['install', '-c', 'b/fleet.yaml', '--name', 'b-fleet'], { cwd: dir, env: { HOME: dir } });
    expect(named.code, named.stderr).toBe(0);
    const bUnit = readFileSync(path.join(dir, '.config', 'systemd', 'user', 'clawfleet-b-fleet.service'), 'utf8');
    expect(installedManifest(bUnit)).toBe(b);
    expect(named.stdout).toContain('systemctl --user enable --now clawfleet-b-fleet.service');
    expect(install({ config: 'b/fleet.yaml', name: '../evil' }).code).toBe(2);

    // launchd: the same rule for the agent's plist.
    expect(install({ config: 'a/fleet.yaml', platform: 'darwin' }).code).toBe(0);
    const refused = install({ config: 'b/fleet.yaml', platform: 'darwin' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`ai.clawfleet.fleet.plist already runs ${a}`);
  });

  it('never overwrites a unit it did not write', () => {
    const unitFile = path.join(dir, '.config', 'systemd', 'user', 'clawfleet-bots.service');
    mkdirSync(path.dirname(unitFile), { recursive: true });
    writeFileSync(unitFile, '[Service]\nExecStart=/usr/bin/something-else\n');
    const run = install({ config: 'bots.yaml' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('was not written by `clawfleet install`');
    expect(readFileSync(unitFile, 'utf8')).toBe('[Service]\nExecStart=/usr/bin/something-else\n');
  });

  it('reads back the manifest of any unit or agent it writes', () => {
    for (const manifest of ['/srv/bots/fleet.yaml', '/srv/my bots/fleet.yaml', '/srv/100% "bots"/$HOME\\x/fleet.yaml', '/srv/a&b<c>/fleet.yaml']) {
      expect(installedManifest(systemdUnit(manifest, '/usr/bin/node', '/opt/up -c/cli.js')), manifest).toBe(manifest);
      expect(installedManifest(launchdPlist('ai.clawfleet.fleet', manifest, '/usr/bin/node', '/opt/cli.js', '/tmp')), manifest).toBe(manifest);
    }
    // Units written before this check existed quoted paths the same way.
    expect(installedManifest('ExecStart=/usr/bin/node /opt/cli.js up -c "/srv/my bots/fleet.yaml"\n')).toBe('/srv/my bots/fleet.yaml');
  });

  it.skipIf(!SYSTEMD_ANALYZE)('writes a unit systemd-analyze verify accepts, odd paths included', () => {
    const manifestDir = path.join(dir, 'my bots 100%');
    const manifest = writeManifest(path.join('my bots 100%', 'fleet.yaml'));
    const unitFile = path.join(dir, 'clawfleet-fleet.service');
    writeFileSync(unitFile, systemdUnit(manifest, process.execPath, path.join(REPO, 'dist', 'cli.js'), { path: '/opt/a b/bin:/usr/bin', stopTimeoutSec: 340, unitName: 'clawfleet-fleet.service' }));
    const verify = spawnSync('systemd-analyze', ['verify', '--man=no', unitFile], { encoding: 'utf8' });
    expect(verify.stderr.split('\n').filter((l) => l.includes(unitFile) || /bad|fatal|unknown|not absolute/i.test(l)), verify.stderr).toEqual([]);
    expect(verify.status, verify.stderr).toBe(0);
    expect(readFileSync(unitFile, 'utf8')).toContain(`\nWorkingDirectory=${manifestDir.replace(/%/g, '%%')}\n`);
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

  /** The image's ENV, as name → value. */
  const env = (): Record<string, string> =>
    Object.fromEntries(instruction('ENV').flatMap((line) => [...line.matchAll(/([A-Z_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!])));

  it('runs clawfleet up as a non-root user under tini, with a volume for state', () => {
    expect(instruction('USER')).toEqual(['node']);
    expect(JSON.parse(instruction('ENTRYPOINT')[0]!)).toEqual(['/usr/bin/tini', '-g', '--']);
    expect(JSON.parse(instruction('CMD')[0]!)).toEqual(['node', '/app/dist/cli.js', 'up']);
    expect(JSON.parse(instruction('VOLUME')[0]!)).toEqual(['/var/lib/clawfleet']);
    expect(env().XDG_STATE_HOME).toBe('/var/lib/clawfleet');
    expect(instruction('RUN').join(' ')).toContain('install -y --no-install-recommends tini');
  });

  it('is based on Node 24, which the real OpenClaw needs, in both stages', () => {
    const bases = text.split('\n').filter((l) => l.startsWith('FROM ')).map((l) => l.split(/\s+/)[1]);
    expect(bases).toEqual(['node:24-bookworm-slim', 'node:24-bookworm-slim']);
    expect(readFileSync(path.join(REPO, 'README.md'), 'utf8')).toMatch(/FROM clawfleet\n[\s\S]*npm install -g openclaw/);
  });

  it('keeps OpenClaw state derived from HOME, and the runtime dir, on the volume', () => {
    const [volume] = JSON.parse(instruction('VOLUME')[0]!) as string[];
    expect(env().HOME).toBe(volume);
    // The real-OpenClaw example manifest sets no stateDir: every derived path must land in the volume.
    const loaded = loadManifest(path.join(REPO, 'config', 'openclaw.yaml'), { home: env().HOME!, stateHome: env().XDG_STATE_HOME!, cwd: '/app' });
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    const { plan } = loaded.manifest;
    const paths = [plan.supervisor.runtimeDir, plan.supervisor.logDir, ...plan.gateways.flatMap((g) => [g.stateDir, g.configPath, g.workspace, g.cwd])];
    for (const p of paths) expect(p, String(p)).toMatch(new RegExp(`^${volume}/`));
    expect(final).toMatch(/chown node:node \/var\/lib\/clawfleet/);
  });

  it('says how long Docker must wait for the fleet to stop, since the image cannot set it', () => {
    expect(instruction('STOPSIGNAL')).toEqual(['SIGTERM']);
    const comments = final.split('\n').filter((l) => l.startsWith('#')).join(' ');
    expect(comments).toMatch(/default is 10 s/);
    expect(comments).toContain('--stop-timeout 120');
    expect(comments).toContain('stop_grace_period: 120s');
    expect(text.split('\n')[2]).toContain('docker run --stop-timeout 120');
    // 120 s covers the example manifests' stop (as `clawfleet install` computes it for a service manager).
    const loaded = loadManifest(path.join(REPO, 'config', 'openclaw.yaml'), { home: '/h', stateHome: '/h', cwd: '/' });
    if (loaded.ok) expect(fleetStopSeconds(loaded.manifest.plan.gateways)).toBeLessThanOrEqual(120);
    expect(readFileSync(path.join(REPO, 'README.md'), 'utf8')).toContain('docker run --stop-timeout 120');
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
    // ...and that the build context still holds.
    const ignored = readFileSync(path.join(REPO, '.dockerignore'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    for (const source of sources) expect(ignored.filter((pattern) => source === pattern || source.startsWith(`${pattern}/`)), source).toEqual([]);
  });
});
