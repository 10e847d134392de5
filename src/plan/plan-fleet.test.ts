import { describe, expect, it } from 'vitest';
import type { RawManifest } from '../manifest/schema.js';
import { defaultRuntimeDir, planFleet, type PlanContext } from './plan-fleet.js';
import type { GatewayPlan } from './types.js';

const ctx: PlanContext = { manifestPath: '/srv/fleet/fleet.yaml', home: '/home/u', stateHome: '/home/u/.local/state' };

function plan(manifest: Partial<RawManifest> & { gateways: RawManifest['gateways'] }, context = ctx) {
  return planFleet({ version: 1, ...manifest } as RawManifest, context);
}

function gateway(result: ReturnType<typeof plan>, name: string): GatewayPlan {
  const found = result.plan.gateways.find((g) => g.name === name);
  if (!found) throw new Error(`no gateway ${name}`);
  return found;
}

describe('planFleet: OpenClaw isolation derived from the profile', () => {
  it.each([
    { profile: undefined, name: 'main', state: '/home/u/.openclaw-main', workspace: '/home/u/.openclaw/workspace-main' },
    { profile: 'work', name: 'main', state: '/home/u/.openclaw-work', workspace: '/home/u/.openclaw/workspace-work' },
    { profile: 'default', name: 'main', state: '/home/u/.openclaw', workspace: '/home/u/.openclaw/workspace' },
  ])('profile $profile of gateway $name', ({ profile, name, state, workspace }) => {
    const result = plan({ gateways: { [name]: { port: 18789, ...(profile && { profile }) } } });
    expect(result.problems).toEqual([]);
    const g = gateway(result, name);
    expect(g.profile).toBe(profile ?? name);
    expect(g.stateDir).toBe(state);
    expect(g.configPath).toBe(`${state}/openclaw.json`);
    expect(g.workspace).toBe(workspace);
    expect(g.cwd).toBe(`${defaultRuntimeDir(ctx.manifestPath, ctx.stateHome)}/gateways/${name}`);
    expect(g.args).toEqual(['gateway', '--port', '18789']);
  });

  it('takes overrides, resolving ~, relative paths and placeholders', () => {
    const result = plan({
      supervisor: { runtimeDir: 'run' },
      gateways: {
        main: { port: 18789, stateDir: '~/bots/{name}', configPath: 'cfg/{profile}.json', workspace: '{runtimeDir}/ws/{name}', cwd: '/tmp/{name}' },
      },
    });
    expect(result.problems).toEqual([]);
    const g = gateway(result, 'main');
    expect(g.stateDir).toBe('/home/u/bots/main');
    expect(g.configPath).toBe('/srv/fleet/cfg/main.json');
    expect(g.workspace).toBe('/srv/fleet/run/ws/main');
    expect(g.cwd).toBe('/tmp/main');
  });

  it('merges defaults under each gateway, deeply, with arrays replaced', () => {
    const result = plan({
      defaults: { command: 'oc', args: ['a'], health: { liveness: { http: '/healthz', interval: '5s' } }, env: { A: '1', B: '2' } },
      gateways: { main: { port: 18789, args: ['b', '{port}'], health: { liveness: { http: '/healthz', failureThreshold: 7 } }, env: { B: 'x' } } },
    });
    const g = gateway(result, 'main');
    expect(g.command).toBe('oc');
    expect(g.args).toEqual(['b', '18789']);
    expect(g.health.liveness).toMatchObject({ intervalMs: 5000, failureThreshold: 7, action: { type: 'http', path: '/healthz' } });
    expect(g.env).toEqual({ A: '1', B: 'x' });
  });

  it('gives OpenClaw probes and a startup grace that fits a 30 s boot by default', () => {
    const g = gateway(plan({ gateways: { main: { port: 18789 } } }), 'main');
    expect(g.health.startup?.action).toEqual({ type: 'http', path: '/startupz' });
    expect(g.health.liveness?.action).toEqual({ type: 'http', path: '/healthz' });
    expect(g.health.readiness?.action).toEqual({ type: 'http', path: '/readyz' });
    expect(g.health.startPeriodMs).toBeGreaterThanOrEqual(60_000);
    expect(g.restart.initialMs).toBeLessThanOrEqual(100);
  });

  it('lets a probe be turned off', () => {
    const g = gateway(plan({ gateways: { main: { port: 18789, health: { readiness: false } } } }), 'main');
    expect(g.health.readiness).toBeUndefined();
  });

  it('plans command gateways with only their base port and PORT-style templating', () => {
    const result = plan({ gateways: { web: { kind: 'command', command: 'node', args: ['srv.js', '{port}'], port: 8080 } } });
    const g = gateway(result, 'web');
    expect(result.problems).toEqual([]);
    expect(g.footprint.ranges).toEqual([{ from: 8080, to: 8080, label: 'base port' }]);
    expect(g.stateDir).toBeUndefined();
    expect(g.args).toEqual(['srv.js', '8080']);
  });
});

describe('planFleet: problems', () => {
  const cases: Array<{ why: string; manifest: Parameters<typeof plan>[0]; path: string; message: RegExp }> = [
    {
      why: "OpenClaw's old 20-port spacing",
      manifest: { gateways: { main: { port: 18789 }, rescue: { port: 18809 } } },
      path: 'gateways.rescue.port',
      message: /"main" and "rescue" both reserve port 18809/,
    },
    {
      why: 'shared state dir',
      manifest: { gateways: { a: { port: 18789, stateDir: '/s' }, b: { port: 19789, stateDir: '/s' } } },
      path: 'gateways.b.stateDir',
      message: /share the state dir \/s/,
    },
    {
      why: 'nested state dirs',
      manifest: { gateways: { a: { port: 18789, stateDir: '/s' }, b: { port: 19789, stateDir: '/s/b', configPath: '/c/b.json' } } },
      path: 'gateways.b.stateDir',
      message: /lies inside the state dir of "a"/,
    },
    {
      why: 'shared config path',
      manifest: { gateways: { a: { port: 18789, configPath: '/c.json' }, b: { port: 19789, configPath: '/c.json' } } },
      path: 'gateways.b.configPath',
      message: /share the config path/,
    },
    {
      why: 'shared workspace',
      manifest: { gateways: { a: { port: 18789, workspace: '/w' }, b: { port: 19789, workspace: '/w' } } },
      path: 'gateways.b.workspace',
      message: /share the workspace/,
    },
    {
      why: 'profiles colliding case-insensitively',
      manifest: { gateways: { a: { port: 18789, profile: 'bot' }, b: { port: 19789, profile: 'BOT' } } },
      path: 'gateways.b.profile',
      message: /both use OpenClaw profile/,
    },
    {
      why: 'a footprint running past 65535',
      manifest: { gateways: { a: { port: 65500 } } },
      path: 'gateways.a.port',
      message: /past 65535; use a base port of at most 65425/,
    },
    {
      why: 'a missing port',
      manifest: { gateways: { a: {} } },
      path: 'gateways.a',
      message: /needs a "port"/,
    },
    {
      why: 'a typo in a placeholder',
      manifest: { gateways: { a: { port: 18789, args: ['--port', '{prot}'] } } },
      path: 'gateways.a.args.1',
      message: /unknown placeholder \{prot\} \(did you mean \{port\}\?\)/,
    },
    {
      why: 'two gateways on one cdpUrl',
      manifest: { gateways: { a: { port: 18789, browser: { cdpUrl: 'http://10.0.0.5:9222' } }, b: { port: 19789, browser: { cdpUrl: 'http://10.0.0.5:9222' } } } },
      path: 'gateways.b.browser',
      message: /both use the browser cdpUrl/,
    },
    {
      why: 'an explicit CDP port inside another gateway\'s range',
      manifest: { gateways: { a: { port: 18789 }, b: { port: 19789, browser: { profiles: { work: { cdpPort: 18850 } } } } } },
      path: 'gateways.b.port',
      message: /both reserve port 18850 .*browser\.profiles\.work\.cdpPort/,
    },
    {
      why: 'a metrics listener off loopback',
      manifest: { supervisor: { metrics: '0.0.0.0:9464' }, gateways: { a: { port: 18789 } } },
      path: 'supervisor.metrics',
      message: /loopback/,
    },
  ];

  it.each(cases)('$why', ({ manifest, path, message }) => {
    const { problems } = plan(manifest);
    expect(problems.map((p) => p.path.join('.'))).toContain(path);
    expect(problems.map((p) => p.message).join('\n')).toMatch(message);
  });

  it('ignores disabled gateways when checking collisions', () => {
    const { problems } = plan({ gateways: { a: { port: 18789 }, old: { port: 18789, enabled: false } } });
    expect(problems).toEqual([]);
  });

  it('counts ports from the instance OpenClaw config', () => {
    const instancePorts = new Map([
      ['/home/u/.openclaw-b/openclaw.json', { source: '/home/u/.openclaw-b/openclaw.json', ports: [{ port: 18800, label: 'browser.profiles.x.cdpPort' }], cdpUrls: [] }],
    ]);
    const { problems } = plan({ gateways: { a: { port: 18789 }, b: { port: 19789 } } }, { ...ctx, instancePorts });
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toMatch(/port 18800 .*in \/home\/u\/.openclaw-b\/openclaw.json/);
  });
});
