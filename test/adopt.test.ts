import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { alive, cleanupFleets, demoManifest, type Fleet, httpGet, startFleet } from './helpers/fleet.js';
import { waitFor } from './helpers/wait.js';

afterEach(cleanupFleets);

const isReady = (gateway: string) => (e: { event?: string; gateway?: string; to?: string }) =>
  e.event === 'transition' && e.gateway === gateway && e.to === 'ready';

function pair(mainPort: number, rescuePort: number, mainExtra = ''): string {
  return demoManifest(`  main:
    port: ${mainPort}
${mainExtra}  rescue:
    role: rescue
    port: ${rescuePort}
`);
}

async function killSupervisor(fleet: Fleet): Promise<void> {
  fleet.proc.kill('SIGKILL');
  await fleet.exited;
}

/** Probes a port every 50 ms until stopped; counts failures. */
function prober(port: number) {
  const counts = { probes: 0, failures: 0 };
  const timer = setInterval(() => {
    void httpGet(port, '/healthz', 500).then((status) => {
      counts.probes += 1;
      if (status !== 200) counts.failures += 1;
    });
  }, 50);
  return { counts, stop: () => clearInterval(timer) };
}

describe('a new supervisor adopts the gateways of a killed one', () => {
  it('keeps every pid, never misses a rescue probe, and reports real uptimes', async () => {
    const first = startFleet(pair(26000, 26200));
    await first.waitEvent('main ready', isReady('main'));
    await first.waitEvent('rescue ready', isReady('rescue'));
    const pids = { main: first.pidOf('main')!, rescue: first.pidOf('rescue')! };
    const rescueProbe = prober(26200);
    try {
      await killSupervisor(first);
      const second = startFleet('', { sameAs: first });
      await second.waitEvent('main adopted', (e) => e.event === 'adopted' && e.gateway === 'main');
      await second.waitEvent('rescue adopted', (e) => e.event === 'adopted' && e.gateway === 'rescue');
      await second.waitEvent('main ready', isReady('main'));
      await second.waitEvent('rescue ready', isReady('rescue'));
      await waitFor('40 rescue probes across the restart', () => rescueProbe.counts.probes >= 40);
      expect(second.spawnedPids()).toEqual([]);
      const run = await runCli(['status', '--json', '-c', second.manifest], { cwd: second.dir, env: { HOME: second.dir } });
      const status = JSON.parse(run.stdout) as { gateways: Array<{ name: string; pid: number; state: string; uptimeMs: number; restarts: number }> };
      for (const g of status.gateways) {
        expect(g.pid).toBe(pids[g.name as 'main' | 'rescue']);
        expect(g.state).toBe('ready');
        expect(g.restarts).toBe(0);
      }
      // Uptime counts from the gateway's own start, not from the new supervisor's.
      const adoptedAfterMs = Number(second.events.find((e) => e.event === 'adopted')?.uptimeMs);
      expect(adoptedAfterMs).toBeGreaterThan(0);
      expect(status.gateways[0]!.uptimeMs).toBeGreaterThan(adoptedAfterMs);
    } finally {
      rescueProbe.stop();
    }
    expect(rescueProbe.counts.failures).toBe(0);
    for (const pid of Object.values(pids)) expect(alive(pid)).toBe(true);
  });

  it('hands over on SIGUSR2: exits 0, leaves the gateways running, the next one adopts them', async () => {
    const first = startFleet(pair(27400, 27600));
    await first.waitEvent('main ready', isReady('main'));
    await first.waitEvent('rescue ready', isReady('rescue'));
    const pids = [first.pidOf('main')!, first.pidOf('rescue')!];
    first.proc.kill('SIGUSR2');
    expect(await first.exited).toBe(0);
    for (const pid of pids) expect(alive(pid)).toBe(true);
    const second = startFleet('', { sameAs: first });
    await second.waitEvent('both adopted', () => second.events.filter((e) => e.event === 'adopted').length === 2);
    expect(second.events.filter((e) => e.event === 'adopted').map((e) => e.pid).sort()).toEqual([...pids].sort());
    expect(second.spawnedPids()).toEqual([]);
  });

  it('keeps supervising what it adopted: a crash is restarted and a stop leaves nothing', async () => {
    const first = startFleet(pair(26400, 26600));
    await first.waitEvent('main ready', isReady('main'));
    await killSupervisor(first);
    const second = startFleet('', { sameAs: first });
    await second.waitEvent('main adopted', (e) => e.event === 'adopted' && e.gateway === 'main');
    const adopted = second.pidOf('main') ?? Number(second.events.find((e) => e.event === 'adopted' && e.gateway === 'main')?.pid);
    process.kill(adopted, 'SIGKILL');
    const replaced = await second.waitEvent('main replaced', (e) => e.event === 'spawned' && e.gateway === 'main', 10_000);
    expect(replaced.pid).not.toBe(adopted);
    await second.waitEvent('main ready again', (e) => isReady('main')(e) && second.events.indexOf(e) > second.events.indexOf(replaced));
    second.proc.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    const rescuePid = Number(second.events.find((e) => e.event === 'adopted' && e.gateway === 'rescue')?.pid);
    expect(alive(replaced.pid!)).toBe(false);
    expect(alive(rescuePid)).toBe(false);
  });

  it('rolls what changed while no supervisor ran, and stops what was removed', async () => {
    const first = startFleet(demoManifest(`  main:
    port: 26800
  rescue:
    role: rescue
    port: 27000
  old:
    port: 27200
`));
    await first.waitEvent('old ready', isReady('old'));
    await first.waitEvent('main ready', isReady('main'));
    await first.waitEvent('rescue ready', isReady('rescue'));
    const pids = { main: first.pidOf('main')!, rescue: first.pidOf('rescue')!, old: first.pidOf('old')! };
    const rescueProbe = prober(27000);
    let second: Fleet;
    try {
      await killSupervisor(first);
      writeFileSync(first.manifest, pair(26800, 27000, '    env: { V: "2" }\n').replaceAll('{{dir}}', first.dir));
      second = startFleet('', { sameAs: first });
      await second.waitEvent('old stopped', (e) => e.event === 'orphan-stopped' && e.gateway === 'old');
      await second.waitEvent('rollout done', (e) => e.event === 'rollout-done', 20_000);
      await waitFor('20 rescue probes across the handover and the rollout', () => rescueProbe.counts.probes >= 20);
    } finally {
      rescueProbe.stop();
    }
    // The rescue was never restarted nor unreachable while main was rolled by the new supervisor.
    expect(rescueProbe.counts.failures).toBe(0);
    expect(second.spawnedPids()).toHaveLength(1);
    expect(second.pidOf('main')).not.toBe(pids.main);
    expect(alive(pids.main)).toBe(false);
    expect(alive(pids.old)).toBe(false);
    expect(alive(pids.rescue)).toBe(true);
    expect(second.events.find((e) => e.event === 'adopted' && e.gateway === 'rescue')?.pid).toBe(pids.rescue);
    const env = readFileSync(`/proc/${second.pidOf('main')}/environ`, 'utf8');
    expect(env).toContain('\0V=2\0');
    expect(await httpGet(27200, '/healthz', 300)).toBe(0);
    expect(path.isAbsolute(second.manifest)).toBe(true);
  });
});
