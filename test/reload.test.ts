import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { alive, cleanupFleets, demoManifest, type Fleet, httpGet, startFleet } from './helpers/fleet.js';
import { waitFor } from './helpers/wait.js';

afterEach(cleanupFleets);

const isReady = (gateway: string) => (e: { event?: string; gateway?: string; to?: string }) =>
  e.event === 'transition' && e.gateway === gateway && e.to === 'ready';

/** Saves the way editors that write a temp file and rename it over the original do. */
function saveByRename(file: string, text: string): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.swp`);
  writeFileSync(temp, text);
  renameSync(temp, file);
}

function envOf(pid: number): Record<string, string> {
  const raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
  return Object.fromEntries(raw.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

function twoGateways(mainExtra = '', rescueExtra = '', mainPort = 27200, rescuePort = 27400): string {
  return demoManifest(`  main:
    port: ${mainPort}
${mainExtra}  rescue:
    role: rescue
    port: ${rescuePort}
${rescueExtra}`);
}

async function readyFleet(manifest: string): Promise<Fleet> {
  const fleet = startFleet(manifest);
  await fleet.waitEvent('main ready', isReady('main'));
  await fleet.waitEvent('rescue ready', isReady('rescue'));
  return fleet;
}

function manifestText(fleet: Fleet, text: string): string {
  return text.replaceAll('{{dir}}', fleet.dir);
}

describe('editing the manifest while the fleet runs', () => {
  it('restarts only the gateway whose start settings changed (rename-over save)', async () => {
    const fleet = await readyFleet(twoGateways());
    const before = { main: fleet.pidOf('main')!, rescue: fleet.pidOf('rescue')! };
    const since = fleet.events.length;
    saveByRename(fleet.manifest, manifestText(fleet, twoGateways('    env: { MODEL: small }\n')));
    await fleet.waitEvent('rollout done', (e) => e.event === 'rollout-done', 15_000, since);
    const after = { main: fleet.pidOf('main')!, rescue: fleet.pidOf('rescue')! };
    expect(after.main).not.toBe(before.main);
    expect(after.rescue).toBe(before.rescue);
    expect(envOf(after.main).MODEL).toBe('small');
    expect(alive(before.main)).toBe(false);
    const steps = fleet.events.slice(since).filter((e) => e.event === 'rollout-step');
    expect(steps.map((e) => `${e.change} ${e.gateway}`)).toEqual(['restart main']);
  });

  it('applies probe settings live, in place (truncate and write), without a restart', async () => {
    const fleet = await readyFleet(twoGateways());
    const before = { main: fleet.pidOf('main')!, rescue: fleet.pidOf('rescue')! };
    const since = fleet.events.length;
    writeFileSync(fleet.manifest, manifestText(fleet, twoGateways('    health: { liveness: { http: /healthz, interval: 300ms, failureThreshold: 5 } }\n')));
    await fleet.waitEvent('rollout done', (e) => e.event === 'rollout-done', 15_000, since);
    const steps = fleet.events.slice(since).filter((e) => e.event === 'rollout-step');
    expect(steps.map((e) => `${e.change} ${e.gateway}`)).toEqual(['update main']);
    expect({ main: fleet.pidOf('main'), rescue: fleet.pidOf('rescue') }).toEqual(before);
    expect(fleet.spawnedPids()).toHaveLength(2);
  });

  it('takes the last of two quick saves, restarting once', async () => {
    const fleet = await readyFleet(twoGateways());
    const since = fleet.events.length;
    writeFileSync(fleet.manifest, manifestText(fleet, twoGateways('    env: { MODEL: first }\n')));
    writeFileSync(fleet.manifest, manifestText(fleet, twoGateways('    env: { MODEL: second }\n')));
    await fleet.waitEvent('rollout done', (e) => e.event === 'rollout-done', 15_000, since);
    await waitFor('the edit to settle', () => fleet.events.slice(since).filter((e) => e.event === 'rollout-done').length >= 1);
    expect(envOf(fleet.pidOf('main')!).MODEL).toBe('second');
    expect(fleet.events.slice(since).filter((e) => e.event === 'spawned' && e.gateway === 'main')).toHaveLength(1);
  });

  it('ignores a half-written file, keeps running, and applies the file once it is whole', async () => {
    const fleet = await readyFleet(twoGateways());
    const before = { main: fleet.pidOf('main')!, rescue: fleet.pidOf('rescue')! };
    const whole = manifestText(fleet, twoGateways('    env: { MODEL: whole }\n'));
    const since = fleet.events.length;
    writeFileSync(fleet.manifest, whole.slice(0, whole.indexOf('rescue:') + 12));
    const rejected = await fleet.waitEvent('half file rejected', (e) => e.event === 'manifest-rejected', 10_000, since);
    expect(String((rejected.problems as string[])[0])).toMatch(/fleet\.yaml:\d+:\d+: /);
    expect({ main: fleet.pidOf('main'), rescue: fleet.pidOf('rescue') }).toEqual(before);
    expect(await httpGet(27200, '/readyz')).toBe(200);
    writeFileSync(fleet.manifest, whole);
    await fleet.waitEvent('rollout done', (e) => e.event === 'rollout-done', 15_000, since);
    expect(envOf(fleet.pidOf('main')!).MODEL).toBe('whole');
    expect(fleet.pidOf('rescue')).toBe(before.rescue);
  });

  it('rejects an invalid edit with file, line and key, and changes nothing', async () => {
    const fleet = await readyFleet(twoGateways());
    const before = fleet.spawnedPids();
    const since = fleet.events.length;
    writeFileSync(fleet.manifest, manifestText(fleet, twoGateways('    prot: 1\n')));
    const rejected = await fleet.waitEvent('rejected', (e) => e.event === 'manifest-rejected', 10_000, since);
    expect(rejected.problems).toEqual([expect.stringMatching(/fleet\.yaml:\d+:5: gateways\.main\.prot: unknown key "prot" \(did you mean "port"\?\)/)]);
    // A later SIGHUP re-reads the same bad file: still nothing changes.
    fleet.proc.kill('SIGHUP');
    await fleet.waitEvent('rejected again', (e) => e.event === 'manifest-rejected' && e.trigger === 'SIGHUP', 10_000, since);
    expect(fleet.spawnedPids()).toEqual(before);
    expect(fleet.events.slice(since).some((e) => e.event === 'rollout-step')).toBe(false);
  });

  it('starts an added gateway and stops a removed one, freeing its ports', async () => {
    const fleet = await readyFleet(twoGateways());
    const mainPid = fleet.pidOf('main')!;
    const since = fleet.events.length;
    writeFileSync(
      fleet.manifest,
      manifestText(fleet, demoManifest(`  rescue:
    role: rescue
    port: 27400
  extra:
    port: 27600
`)),
    );
    await fleet.waitEvent('rollout done', (e) => e.event === 'rollout-done', 15_000, since);
    expect(fleet.events.slice(since).filter((e) => e.event === 'rollout-step').map((e) => `${e.change} ${e.gateway}`)).toEqual(['remove main', 'add extra']);
    expect(alive(mainPid)).toBe(false);
    expect(await httpGet(27200, '/healthz', 300)).toBe(0);
    expect(await httpGet(27600, '/readyz')).toBe(200);
  });

  it('restarts the gateway whose envFile changed, and only it', async () => {
    const envFile = 'main.env';
    const fleet = startFleet(twoGateways(`    envFile: ${envFile}\n`));
    writeFileSync(path.join(fleet.dir, envFile), 'API_TOKEN=one\n');
    await fleet.waitEvent('main ready', isReady('main'), 20_000);
    await fleet.waitEvent('rescue ready', isReady('rescue'));
    const rescuePid = fleet.pidOf('rescue');
    const since = fleet.events.length;
    writeFileSync(path.join(fleet.dir, envFile), 'API_TOKEN=two\n');
    await fleet.waitEvent('rollout done', (e) => e.event === 'rollout-done', 15_000, since);
    expect(envOf(fleet.pidOf('main')!).API_TOKEN).toBe('two');
    expect(fleet.pidOf('rescue')).toBe(rescuePid);
  });

  it('never has main and rescue down together when both change', async () => {
    const fleet = await readyFleet(twoGateways('', '', 27800, 28000));
    let samples = 0;
    let bothDown = 0;
    const prober = setInterval(() => {
      void Promise.all([httpGet(27800, '/readyz', 400), httpGet(28000, '/readyz', 400)]).then(([main, rescue]) => {
        samples += 1;
        if (main !== 200 && rescue !== 200) bothDown += 1;
      });
    }, 20);
    const since = fleet.events.length;
    try {
      writeFileSync(fleet.manifest, manifestText(fleet, twoGateways('    env: { V: "2" }\n', '    env: { V: "2" }\n', 27800, 28000)));
      await fleet.waitEvent('rollout done', (e) => e.event === 'rollout-done', 20_000, since);
    } finally {
      clearInterval(prober);
    }
    const order = fleet.events
      .slice(since)
      .filter((e) => e.event === 'transition' && (e.to === 'stopping' || e.to === 'ready'))
      .map((e) => `${e.gateway} ${e.to}`);
    expect(order).toEqual(['main stopping', 'main ready', 'rescue stopping', 'rescue ready']);
    expect(samples).toBeGreaterThan(10);
    expect(bothDown).toBe(0);
  });

  it('moves a gateway to a new port', async () => {
    const fleet = await readyFleet(twoGateways());
    const since = fleet.events.length;
    writeFileSync(fleet.manifest, manifestText(fleet, twoGateways('', '', 28200)));
    await fleet.waitEvent('rollout done', (e) => e.event === 'rollout-done', 15_000, since);
    expect(await httpGet(28200, '/readyz')).toBe(200);
    expect(await httpGet(27200, '/healthz', 300)).toBe(0);
  });
});
