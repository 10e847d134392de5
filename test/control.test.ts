import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, runCli } from './helpers/cli.js';
import { alive, cleanupFleets, demoManifest, type Fleet, startFleet } from './helpers/fleet.js';
import { waitFor } from './helpers/wait.js';

afterEach(cleanupFleets);

const isReady = (gateway: string) => (e: { event?: string; gateway?: string; to?: string }) =>
  e.event === 'transition' && e.gateway === gateway && e.to === 'ready';

function pair(mainPort: number, rescuePort: number, extra = '', supervisorExtra = ''): string {
  return demoManifest(`  main:
    port: ${mainPort}
${extra}  rescue:
    role: rescue
    port: ${rescuePort}
`).replace('supervisor:\n', `supervisor:\n${supervisorExtra}`);
}

async function readyFleet(manifest: string): Promise<Fleet> {
  const fleet = startFleet(manifest);
  await fleet.waitEvent('main ready', isReady('main'));
  await fleet.waitEvent('rescue ready', isReady('rescue'));
  return fleet;
}

/** Runs the CLI against the fleet's manifest, with the same HOME the supervisor got. */
function cli(fleet: Fleet, args: string[]) {
  return runCli([...args, '-c', fleet.manifest], { cwd: fleet.dir, env: { HOME: fleet.dir } });
}

interface StatusJson {
  supervisor: { pid: number };
  manifest: { path: string; appliedAt: string | null; error: { problems: string[] } | null };
  gateways: Array<{ name: string; role: string; state: string; pid: number | null; restarts: number; uptimeMs: number | null; lastExit: unknown; health: { live: boolean; ready: boolean }; cpu: number | null; memoryBytes: number | null; ports: { base: number; reserved: number[][] } }>;
}

async function status(fleet: Fleet): Promise<StatusJson> {
  const run = await cli(fleet, ['status', '--json']);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as StatusJson;
}

describe('control commands against a running supervisor', () => {
  it('status prints the table and SPEC §5 JSON; with no supervisor it exits 3', async () => {
    const fleet = await readyFleet(pair(20000, 20200, '', '  sampleInterval: 200ms\n'));
    const table = await cli(fleet, ['status']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+ROLE\s+STATE\s+PID\s+UPTIME\s+RESTARTS\s+LAST EXIT\s+LIVE\/READY\s+CPU\s+MEM\s+PORTS$/);
    expect(table.stdout).toMatch(new RegExp(`rescue\\s+rescue\\s+ready\\s+${fleet.pidOf('rescue')}\\s`));
    const report = await waitFor('memory figures', async () => {
      const s = await status(fleet);
      return s.gateways.every((g) => g.memoryBytes !== null) ? s : undefined;
    });
    expect(report.manifest).toMatchObject({ path: fleet.manifest, error: null });
    expect(report.manifest.appliedAt).not.toBeNull();
    expect(report.supervisor.pid).toBe(fleet.proc.pid);
    // From another HOME (sudo, a service) the pointer is out of sight; the manifest names the runtime dir.
    const elsewhere = await runCli(['status', '--json', '-c', fleet.manifest], { cwd: fleet.dir, env: { HOME: path.join(fleet.dir, 'elsewhere') } });
    expect(elsewhere.code, elsewhere.stderr).toBe(0);
    expect((JSON.parse(elsewhere.stdout) as StatusJson).supervisor.pid).toBe(fleet.proc.pid);
    const main = report.gateways.find((g) => g.name === 'main')!;
    expect(main).toMatchObject({ role: 'main', state: 'ready', pid: fleet.pidOf('main'), restarts: 0, lastExit: null, health: { live: true, ready: true }, ports: { base: 20000, reserved: [[20000, 20000], [20002, 20004], [20010, 20110]] } });
    expect(main.uptimeMs).toBeGreaterThan(0);
    expect(main.memoryBytes).toBeGreaterThan(10 * 1024 * 1024);

    fleet.proc.kill('SIGTERM');
    await fleet.exited;
    const none = await cli(fleet, ['status']);
    expect(none.code).toBe(3);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
    expect(none.stderr).toContain('no supervisor is running for');
  });

  it('keeps a stopped gateway down through an edit and a supervisor restart, until start', async () => {
    const fleet = await readyFleet(pair(20400, 20600));
    const mainPid = fleet.pidOf('main')!;
    const stop = await cli(fleet, ['stop', 'main']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(alive(mainPid)).toBe(false);

    // An edit of main's start settings does not bring it back.
    const since = fleet.events.length;
    writeFileSync(fleet.manifest, pair(20400, 20600, '    env: { V: "2" }\n').replaceAll('{{dir}}', fleet.dir));
    await fleet.waitEvent('rollout done', (e) => e.event === 'rollout-done', 15_000, since);
    expect((await status(fleet)).gateways.find((g) => g.name === 'main')).toMatchObject({ state: 'stopped', pid: null });

    // Nor does a new supervisor.
    fleet.proc.kill('SIGTERM');
    await fleet.exited;
    const again = startFleet('', { sameAs: fleet });
    await again.waitEvent('rescue ready', isReady('rescue'));
    await waitFor('main reported stopped', async () => (await status(fleet)).gateways.find((g) => g.name === 'main')?.state === 'stopped');
    expect(again.pidOf('main')).toBeUndefined();

    const start = await cli(fleet, ['start', 'main']);
    expect(start.code, start.stderr).toBe(0);
    expect(start.stdout).toMatch(/^main: ready \(pid \d+\)/);
  });

  it('refuses to stop the last rescue that is up unless forced', async () => {
    const fleet = await readyFleet(pair(20800, 21000));
    const refused = await cli(fleet, ['stop', 'rescue']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('would leave no rescue gateway up (use --force');
    expect(alive(fleet.pidOf('rescue')!)).toBe(true);
    const forced = await cli(fleet, ['stop', 'rescue', '--force']);
    expect(forced.code).toBe(0);
    expect(alive(fleet.pidOf('rescue')!)).toBe(false);
    const unknown = await cli(fleet, ['stop', 'nosuch']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no gateway named "nosuch"/);
  });

  it('restarts --all one at a time, main first, each ready before the next', async () => {
    const fleet = await readyFleet(pair(21200, 21400));
    const before = { main: fleet.pidOf('main'), rescue: fleet.pidOf('rescue') };
    const since = fleet.events.length;
    const run = await cli(fleet, ['restart', '--all']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^main: ready again \(pid \d+\)\nrescue: ready again \(pid \d+\)\n$/);
    expect(fleet.pidOf('main')).not.toBe(before.main);
    expect(fleet.pidOf('rescue')).not.toBe(before.rescue);
    const order = fleet.events.slice(since).filter((e) => e.event === 'transition' && (e.to === 'stopping' || e.to === 'ready')).map((e) => `${e.gateway} ${e.to}`);
    expect(order).toEqual(['main stopping', 'main ready', 'rescue stopping', 'rescue ready']);
  });

  it('reload reports a bad manifest (exit 2) and status keeps the error until a good edit', async () => {
    const fleet = await readyFleet(pair(21600, 21800));
    const good = readFileSync(fleet.manifest, 'utf8');
    // Written while the watcher would also see it: the explicit reload must give the same verdict.
    writeFileSync(fleet.manifest, good.replace('    port: 21600', '    port: 21600\n    prot: 1'));
    const run = await cli(fleet, ['reload']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/fleet\.yaml:\d+:5: gateways\.main\.prot: unknown key "prot"/);
    const bad = await status(fleet);
    expect(bad.manifest.error?.problems[0]).toMatch(/unknown key "prot"/);
    writeFileSync(fleet.manifest, good);
    const ok = await cli(fleet, ['reload']);
    expect(ok.code).toBe(0);
    expect((await status(fleet)).manifest.error).toBeNull();
  });

  it('logs prints the last lines of a gateway, and names unknown gateways', async () => {
    const fleet = await readyFleet(pair(22000, 22200));
    const run = await cli(fleet, ['logs', 'main', '-n', '2']);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('demo-gateway boot complete, ready');
    const unknown = await cli(fleet, ['logs', 'nosuch']);
    expect(unknown.code).toBe(2);
  });

  it('logs -f follows what a gateway writes until interrupted', async () => {
    const fleet = await readyFleet(pair(29000, 29200));
    const follow = spawn(process.execPath, [CLI, 'logs', 'main', '-f', '-n', '1', '-c', fleet.manifest], {
      cwd: fleet.dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: fleet.dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    follow.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const exited = new Promise<number | null>((resolve) => follow.once('exit', (code) => resolve(code)));
    try {
      // The last line comes first: from then on the follower is reading.
      await waitFor('the last line', () => (out.length > 0 ? true : undefined));
      const before = out.length;
      expect((await cli(fleet, ['restart', 'main'])).code).toBe(0);
      await waitFor('a line written after the restart', () => (/starting: clawfleet demo-gateway/.test(out.slice(before)) ? true : undefined));
    } finally {
      follow.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });

  it('keeps two fleets on one host apart, each socket owner-only', async () => {
    const a = await readyFleet(pair(29400, 29600));
    const b = startFleet(pair(29800, 30000).replace('  main:', '  other:'));
    await b.waitEvent('other ready', isReady('other'));
    await b.waitEvent('rescue ready', isReady('rescue'));
    const names = async (fleet: Fleet) => (await status(fleet)).gateways.map((g) => g.name).sort();
    expect(await names(a)).toEqual(['main', 'rescue']);
    expect(await names(b)).toEqual(['other', 'rescue']);
    for (const fleet of [a, b]) expect(statSync(path.join(fleet.dir, 'run', 'control.sock')).mode & 0o777).toBe(0o600);
  });

  it('a second up on the same manifest exits 3 naming the running one', async () => {
    const fleet = await readyFleet(pair(22400, 22600));
    const second = await runCli(['up', '-c', fleet.manifest], { cwd: fleet.dir, env: { HOME: fleet.dir } });
    expect(second.code).toBe(3);
    expect(second.stderr).toContain(`a supervisor is already running for ${fleet.manifest} (pid ${fleet.proc.pid})`);
    expect(alive(fleet.pidOf('main')!)).toBe(true);
  });
});

describe('limits, schedules, hooks and metrics', () => {
  it('restarts a gateway whose tree stays over its memory limit, with the figures', async () => {
    const fleet = await readyFleet(
      pair(22800, 24400, '    args: [demo-gateway, --port, "{port}", --boot-delay, 100ms, --grow-mb-per-s, "40"]\n    limits: { memory: 150MB }\n', '  sampleInterval: 250ms\n'),
    );
    const first = fleet.pidOf('main')!;
    const limit = await fleet.waitEvent('memory limit', (e) => e.event === 'memory-limit' && e.gateway === 'main', 30_000);
    expect(limit.memoryBytes as number).toBeGreaterThan(150 * 1024 * 1024);
    expect(limit.limitBytes).toBe(150 * 1024 * 1024);
    await fleet.waitEvent('main replaced', (e) => e.event === 'spawned' && e.gateway === 'main' && e.pid !== first, 20_000);
    expect(alive(first)).toBe(false);
  });

  it('runs planned restarts through the rescue guard', async () => {
    // Every 3 s for both: the restarts queue up one at a time and never overlap.
    const fleet = await readyFleet(
      demoManifest(`  main:
    port: 25050
    schedule: { restart: "*/3 * * * * *" }
  rescue:
    role: rescue
    port: 25250
    schedule: { restart: "*/3 * * * * *" }
`),
    );
    await fleet.waitEvent('planned restart of main', (e) => e.event === 'planned-restart' && e.gateway === 'main', 10_000);
    await fleet.waitEvent('planned restart of rescue', (e) => e.event === 'planned-restart' && e.gateway === 'rescue', 10_000);
    await waitFor('both restarted', () => fleet.events.filter((e) => e.event === 'spawned').length >= 4, 15_000);
    const down = new Set<string>();
    for (const e of fleet.events) {
      if (e.event !== 'transition' || !e.gateway) continue;
      if (e.to === 'stopping') down.add(e.gateway);
      if (e.to === 'ready') down.delete(e.gateway);
      expect(down.size, 'main and rescue down together').toBeLessThan(2);
    }
  });

  it('runs the state-change hook and serves Prometheus metrics on loopback', async () => {
    const hookFile = 'hook.log';
    const fleet = startFleet(
      pair(25300, 25500, '', `  metrics: "127.0.0.1:25990"\n  hooks:\n    onStateChange: [sh, -c, 'echo "$CLAWFLEET_GATEWAY $CLAWFLEET_ROLE $CLAWFLEET_FROM $CLAWFLEET_TO" >> ${hookFile}']\n`),
    );
    await fleet.waitEvent('main ready', isReady('main'));
    await fleet.waitEvent('rescue ready', isReady('rescue'));
    const hookLog = path.join(fleet.dir, 'run', hookFile);
    await waitFor('hook lines', () => {
      try {
        const text = readFileSync(hookLog, 'utf8');
        return text.includes('main main running ready') && text.includes('rescue rescue running ready');
      } catch {
        return false;
      }
    });
    const body = await new Promise<string>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: 25990, path: '/metrics', agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve(text));
      }).on('error', reject);
    });
    expect(body).toMatch(/^clawfleet_gateway_up\{gateway="main",role="main"\} 1$/m);
    expect(body).toMatch(/^clawfleet_gateway_ready\{gateway="rescue",role="rescue"\} 1$/m);
    expect(body).toMatch(/^clawfleet_gateway_state\{gateway="main",role="main",state="ready"\} 1$/m);
    expect(body).toMatch(/^clawfleet_supervisor_resident_memory_bytes \d+/m);
  });
});
