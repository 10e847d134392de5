import { describe, expect, it } from 'vitest';
import type { RawManifest } from '../manifest/schema.js';
import { planFleet } from '../plan/plan-fleet.js';
import type { GatewayPlan } from '../plan/types.js';
import { changedSupervisorSettings, planChanges, type RunningGateway, startSpecHash } from './reconcile.js';

function plans(gateways: RawManifest['gateways']): readonly GatewayPlan[] {
  return planFleet({ version: 1, gateways } as RawManifest, { manifestPath: '/f/fleet.yaml', home: '/h', stateHome: '/h/s' }).plan.gateways;
}

function running(gateways: RawManifest['gateways'], notReady: string[] = []): Map<string, RunningGateway> {
  return new Map(plans(gateways).map((plan) => [plan.name, { plan, specHash: startSpecHash(plan, undefined), ready: !notReady.includes(plan.name) }]));
}

function changes(from: Map<string, RunningGateway>, to: RawManifest['gateways']) {
  const next = plans(to);
  const result = planChanges(from, next, new Map(next.map((p) => [p.name, startSpecHash(p, undefined)])));
  if (!result.ok) return result.reason;
  return result.changes.map((c) => `${c.kind} ${'plan' in c ? c.plan.name : c.name}`);
}

const fleet = { main: { port: 18789 }, rescue: { port: 19789, role: 'rescue' as const }, side: { port: 20789 } };

describe('planChanges', () => {
  it('changes nothing for an identical manifest', () => {
    expect(changes(running(fleet), fleet)).toEqual([]);
  });

  it.each([
    ['args', { args: ['gateway', '--port', '{port}', '--verbose'] }],
    ['env', { env: { MODEL: 'x' } }],
    ['port', { port: 21789 }],
    ['profile', { profile: 'other' }],
    ['stateDir', { stateDir: '/srv/main' }],
    ['command', { command: 'openclaw-beta' }],
    ['kind', { kind: 'command', command: 'x' }],
  ])('restarts only the gateway whose %s changed', (_key, change) => {
    expect(changes(running(fleet), { ...fleet, side: { ...fleet.side, ...change } as never })).toEqual(['restart side']);
  });

  it.each([
    ['probes', { health: { liveness: { http: '/healthz', interval: '9s' } } }],
    ['restart policy', { restart: { policy: 'on-failure' } }],
    ['stop timeout', { stop: { timeout: '30s' } }],
    ['memory limit', { limits: { memory: '2GB' } }],
    ['schedule', { schedule: { restart: '0 4 * * *' } }],
  ])('applies %s live, without a restart', (_key, change) => {
    expect(changes(running(fleet), { ...fleet, side: { ...fleet.side, ...change } as never })).toEqual(['update side']);
  });

  it('restarts when the contents of an envFile change', () => {
    const current = running({ main: { port: 18789, envFile: '/s/main.env' } });
    const next = plans({ main: { port: 18789, envFile: '/s/main.env' } });
    const result = planChanges(current, next, new Map([['main', startSpecHash(next[0]!, { TOKEN: 'new' })]]));
    expect(result.ok && result.changes.map((c) => c.kind)).toEqual(['restart']);
  });

  it('removes first, then adds rescues before mains', () => {
    const next = { main: fleet.main, rescue: fleet.rescue, extra: { port: 22789 }, rescue2: { port: 23789, role: 'rescue' as const } };
    expect(changes(running(fleet), next)).toEqual(['remove side', 'add rescue2', 'add extra']);
  });

  it('treats disabling as a removal and enabling as an addition', () => {
    expect(changes(running(fleet), { ...fleet, side: { ...fleet.side, enabled: false } })).toEqual(['remove side']);
    const disabled = running({ ...fleet, side: { ...fleet.side, enabled: false } });
    expect(changes(disabled, fleet)).toEqual(['add side']);
  });

  it('restarts broken gateways first, then mains, then rescues', () => {
    const edited = { main: { port: 18789, env: { A: '1' } }, rescue: { port: 19789, role: 'rescue' as const, env: { A: '1' } }, side: { port: 20789, env: { A: '1' } } };
    expect(changes(running(fleet), edited)).toEqual(['restart main', 'restart side', 'restart rescue']);
    expect(changes(running(fleet, ['side']), edited)).toEqual(['restart side', 'restart main', 'restart rescue']);
  });

  it('moves a gateway onto ports another releases only after that one has moved', () => {
    // side moves away from 20789; main moves onto it.
    const next = { main: { port: 20789 }, rescue: fleet.rescue, side: { port: 24789 } };
    expect(changes(running(fleet), next)).toEqual(['restart side', 'restart main']);
  });

  it('refuses a swap of ports that cannot be done one at a time', () => {
    const next = { main: { port: 20789 }, rescue: fleet.rescue, side: { port: 18789 } };
    expect(changes(running(fleet), next)).toMatch(/gateways "main" and "side" would each take ports the other still holds/);
  });
});

describe('changedSupervisorSettings', () => {
  const supervisorOf = (settings: Record<string, unknown>) =>
    planFleet({ version: 1, supervisor: settings, gateways: { main: { port: 18789 } } } as RawManifest, { manifestPath: '/f/fleet.yaml', home: '/h', stateHome: '/h/s' }).plan.supervisor;

  it('names the keys of the supervisor block an edit changed, and none for an edit elsewhere', () => {
    const before = supervisorOf({ metrics: '127.0.0.1:9464', logs: { maxFiles: 5 } });
    expect(changedSupervisorSettings(before, supervisorOf({ metrics: '127.0.0.1:9464', logs: { maxFiles: 5 } }))).toEqual([]);
    expect(changedSupervisorSettings(before, supervisorOf({ metrics: '127.0.0.1:9465', logs: { maxFiles: 9 }, sampleInterval: '30s' }))).toEqual([
      'supervisor.logs.maxFiles',
      'supervisor.metrics',
      'supervisor.sampleInterval',
    ]);
  });
});
