import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { alive, cleanupFleets, demoManifest, httpGet, injectFault, startFleet } from './helpers/fleet.js';
import { waitFor } from './helpers/wait.js';

afterEach(cleanupFleets);

const ready = (gateway: string) => (e: { event?: string; gateway?: string; to?: string }) =>
  e.event === 'transition' && e.gateway === gateway && e.to === 'ready';

function environOf(pid: number): Record<string, string> {
  const raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
  return Object.fromEntries(raw.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

function sessionOf(pid: number): { pgrp: number; session: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pgrp: Number(fields[2]), session: Number(fields[3]) };
}

describe('clawfleet up', () => {
  it('starts rescue first, isolates each gateway, stops main before rescue and leaves nothing behind', async () => {
    const fleet = startFleet(
      demoManifest(`  main:
    port: 25000
    env: { MODEL: big }
  rescue:
    role: rescue
    port: 25200
`),
      { env: { INVOCATION_ID: 'systemd-marker', JOURNAL_STREAM: '8:42', OPENCLAW_GATEWAY_TOKEN: 'supervisor-secret', SUPERVISOR_ONLY: 'x' } },
    );
    await fleet.waitEvent('main ready', ready('main'));
    await fleet.waitEvent('rescue ready', ready('rescue'));
    const spawned = fleet.events.filter((e) => e.event === 'spawned').map((e) => e.gateway);
    expect(spawned).toEqual(['rescue', 'main']);

    const mainPid = fleet.pidOf('main')!;
    const rescuePid = fleet.pidOf('rescue')!;
    expect(await httpGet(25000, '/readyz')).toBe(200);
    expect(await httpGet(25200, '/readyz')).toBe(200);

    // Own session and group: the supervisor's terminal signals cannot reach it.
    expect(sessionOf(mainPid)).toEqual({ pgrp: mainPid, session: mainPid });
    expect(sessionOf(mainPid).session).not.toBe(sessionOf(fleet.proc.pid!).session);

    const mainEnv = environOf(mainPid);
    const rescueEnv = environOf(rescuePid);
    const run = path.join(fleet.dir, 'run');
    expect(mainEnv).toMatchObject({
      OPENCLAW_STATE_DIR: path.join(run, 'state', 'main'),
      OPENCLAW_CONFIG_PATH: path.join(run, 'state', 'main', 'openclaw.json'),
      OPENCLAW_PROFILE: 'main',
      OPENCLAW_GATEWAY_PORT: '25000',
      MODEL: 'big',
    });
    expect(rescueEnv.OPENCLAW_STATE_DIR).toBe(path.join(run, 'state', 'rescue'));
    expect(rescueEnv).not.toHaveProperty('MODEL');
    for (const env of [mainEnv, rescueEnv]) {
      for (const leaked of ['INVOCATION_ID', 'JOURNAL_STREAM', 'OPENCLAW_GATEWAY_TOKEN', 'SUPERVISOR_ONLY', 'CLAWFLEET_LOG_LEVEL']) expect(env).not.toHaveProperty(leaked);
    }
    const mainInfo = JSON.parse(readFileSync(path.join(run, 'state', 'main', 'demo-gateway.json'), 'utf8')) as { cwd: string };
    expect(mainInfo.cwd).toBe(path.join(run, 'gateways', 'main'));
    expect(readFileSync(path.join(run, 'logs', 'main.log'), 'utf8')).toContain('demo-gateway listening on 127.0.0.1:25000');
    expect(readFileSync(path.join(run, 'logs', 'rescue.log'), 'utf8')).toContain('127.0.0.1:25200');

    fleet.proc.kill('SIGTERM');
    expect(await fleet.exited).toBe(0);
    const stopIndex = (gateway: string, to: string) => fleet.events.findIndex((e) => e.event === 'transition' && e.gateway === gateway && e.to === to);
    expect(stopIndex('main', 'stopped')).toBeGreaterThan(-1);
    expect(stopIndex('main', 'stopped')).toBeLessThan(stopIndex('rescue', 'stopping'));
    expect(alive(mainPid)).toBe(false);
    expect(alive(rescuePid)).toBe(false);
    expect(await httpGet(25000, '/healthz', 300)).toBe(0);
  });

  it('replaces a crashed gateway at once and never touches the rescue', async () => {
    const fleet = startFleet(demoManifest(`  main:
    port: 25400
  rescue:
    role: rescue
    port: 25600
`));
    await fleet.waitEvent('main ready', ready('main'));
    await fleet.waitEvent('rescue ready', ready('rescue'));
    const before = { main: fleet.pidOf('main')!, rescue: fleet.pidOf('rescue')! };
    const since = fleet.events.length;
    expect(await injectFault(25400, 'crash')).toBe(200);
    await fleet.waitEvent('main ready again', ready('main'), 15_000, since);
    expect(fleet.pidOf('main')).not.toBe(before.main);
    expect(fleet.pidOf('rescue')).toBe(before.rescue);
    const restart = fleet.events.slice(since).find((e) => e.event === 'transition' && e.gateway === 'main' && e.from === 'stopping');
    expect(restart).toMatchObject({ to: 'starting', restarts: 1 });
    expect(fleet.events.slice(since).some((e) => e.gateway === 'rescue' && e.event === 'transition')).toBe(false);
  });

  it('replaces a hung gateway (SIGSTOP) after failureThreshold liveness failures', async () => {
    const fleet = startFleet(demoManifest(`  main:
    port: 25800
`));
    await fleet.waitEvent('main ready', ready('main'));
    const hung = fleet.pidOf('main')!;
    const since = fleet.events.length;
    process.kill(hung, 'SIGSTOP');
    const stopping = await fleet.waitEvent('liveness restart', (e) => e.event === 'transition' && e.gateway === 'main' && e.to === 'stopping', 10_000, since);
    expect(stopping.reason).toMatch(/^liveness failed 3\/3/);
    await fleet.waitEvent('main ready again', ready('main'), 15_000, since);
    expect(fleet.pidOf('main')).not.toBe(hung);
    await waitFor('hung pid gone', () => !alive(hung), 5_000);
  });

  it('escalates to SIGKILL for a gateway that ignores SIGTERM, and kills its grandchildren', async () => {
    const fleet = startFleet(
      demoManifest(`  main:
    port: 26000
    args: [demo-gateway, --port, "{port}", --boot-delay, 100ms, --ignore-sigterm, --fork-grandchild]
`),
    );
    await fleet.waitEvent('main ready', ready('main'));
    const leader = fleet.pidOf('main')!;
    const grandchildren = await waitFor('a grandchild in the group', () => {
      const members = findGroupMembers(leader).filter((p) => p !== leader);
      return members.length > 0 ? members : undefined;
    });
    fleet.proc.kill('SIGTERM');
    expect(await fleet.exited).toBe(0);
    expect(fleet.events.some((e) => e.event === 'stop-escalated' && e.gateway === 'main')).toBe(true);
    expect(alive(leader)).toBe(false);
    for (const pid of grandchildren) expect(alive(pid)).toBe(false);
  });

  it('backs off a gateway that crashes on boot while the rescue answers every probe', async () => {
    const fleet = startFleet(demoManifest(`  main:
    port: 26200
    args: [demo-gateway, --port, "{port}", --crash-on-boot]
  rescue:
    role: rescue
    port: 26400
`));
    await fleet.waitEvent('rescue ready', ready('rescue'));
    const rescuePid = fleet.pidOf('rescue')!;
    let probes = 0;
    let failures = 0;
    const prober = setInterval(() => {
      void httpGet(26400, '/healthz', 500).then((status) => {
        probes += 1;
        if (status !== 200) failures += 1;
      });
    }, 50);
    try {
      const loop = await fleet.waitEvent('main in crashloop', (e) => e.event === 'transition' && e.gateway === 'main' && e.to === 'crashloop', 20_000);
      expect(loop.reason).toBe('exited with code 1');
      // Keep probing the rescue while main goes on failing.
      await waitFor('60 rescue probes during the crash loop', () => probes >= 60, 20_000);
    } finally {
      clearInterval(prober);
    }
    const waits = fleet.events
      .filter((e) => e.event === 'transition' && e.gateway === 'main' && (e.to === 'backoff' || e.to === 'crashloop'))
      .map((e) => e.msg ?? '');
    expect(waits.length).toBeGreaterThanOrEqual(4);
    expect(failures).toBe(0);
    expect(fleet.pidOf('rescue')).toBe(rescuePid);
    expect(fleet.events.filter((e) => e.gateway === 'rescue' && e.event === 'transition').map((e) => e.to)).toEqual(['starting', 'running', 'ready']);
  });

  it('reports a busy base port with its holder instead of spawning, and starts once it is free', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(26600, '127.0.0.1', resolve));
    let closed = false;
    try {
      const fleet = startFleet(demoManifest(`  main:
    port: 26600
`));
      const busy = await fleet.waitEvent('port-busy', (e) => e.event === 'port-busy' && e.port === 26600);
      expect(busy).toMatchObject({ holderPid: process.pid, level: 50 });
      const failed = await fleet.waitEvent('backoff', (e) => e.event === 'transition' && e.gateway === 'main' && e.to === 'backoff');
      expect(failed.reason).toMatch(new RegExp(`^port 26600 is busy: held by pid ${process.pid} `));
      expect(fleet.pidOf('main')).toBeUndefined();
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
      closed = true;
      await fleet.waitEvent('main ready', ready('main'), 15_000);
    } finally {
      if (!closed) blocker.close();
    }
  });

  it('reports exit 78 as a conflict', async () => {
    const fleet = startFleet(demoManifest(`  main:
    port: 26800
`));
    await fleet.waitEvent('main ready', ready('main'));
    const since = fleet.events.length;
    // Another live owner of main's state dir: the demo gateway, like OpenClaw, refuses with 78.
    const lock = path.join(fleet.dir, 'run', 'state', 'main', 'gateway.lock');
    expect(await injectFault(26800, 'exit?code=78')).toBe(200);
    await fleet.waitEvent('main restarted or in conflict', (e) => e.event === 'exited' && e.gateway === 'main', 10_000, since);
    writeFileSync(lock, String(process.pid));
    const conflict = await fleet.waitEvent('conflict', (e) => e.event === 'transition' && e.gateway === 'main' && e.to === 'conflict', 10_000, since);
    expect(conflict.reason).toMatch(/exited 78: another instance owns its state or port/);
  });

  it('keeps gateways running and logging when the supervisor is killed', async () => {
    const fleet = startFleet(demoManifest(`  main:
    port: 27000
`));
    await fleet.waitEvent('main ready', ready('main'));
    const pid = fleet.pidOf('main')!;
    fleet.proc.kill('SIGKILL');
    await fleet.exited;
    expect(alive(pid)).toBe(true);
    expect(await httpGet(27000, '/healthz')).toBe(200);
    // Its output goes to its own file, not through the dead supervisor.
    expect(await injectFault(27000, 'unready')).toBe(200);
    const log = path.join(fleet.dir, 'run', 'logs', 'main.log');
    await waitFor('the gateway to log after the supervisor died', () => /fault/i.test(readFileSync(log, 'utf8').split('listening')[1] ?? ''));
  });

  it('exits 2 with the validate messages on an invalid manifest', async () => {
    const fleet = startFleet('version: 1\ngateways:\n  main:\n    prot: 1\n');
    expect(await fleet.exited).toBe(2);
    expect(fleet.stderr).toMatch(/fleet\.yaml:4:5: gateways\.main\.prot: unknown key "prot" \(did you mean "port"\?\)/);
    expect(fleet.stderr).not.toMatch(/^\s+at /m);
  });
});

/** Pids whose process group is `pgid`, from /proc. */
function findGroupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSafe('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (sessionOf(Number(entry)).pgrp === pgid) members.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return members;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
