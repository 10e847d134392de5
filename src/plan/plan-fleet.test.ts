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
    // OpenClaw 2026.9.x: <OPENCLAW_STATE_DIR>/workspace, so ~/.openclaw/workspace for the default profile.
    { profile: undefined, name: 'main', state: '/home/u/.openclaw-main', workspace: '/home/u/.openclaw-main/workspace' },
    { profile: 'work', name: 'main', state: '/home/u/.openclaw-work', workspace: '/home/u/.openclaw-work/workspace' },
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

  it('puts the derived workspace in the state dir the manifest gives', () => {
    const g = gateway(plan({ gateways: { main: { port: 18789, stateDir: '/srv/bots/main' } } }), 'main');
    expect(g.workspace).toBe('/srv/bots/main/workspace');
  });

  it.each([
    { written: '~/bots/ws', expected: '/home/u/bots/ws' },
    { written: '~', expected: '/home/u' },
    { written: '/abs/ws', expected: '/abs/ws' },
    { written: 'rel/ws', expected: '/tmp/main/rel/ws', cwd: '/tmp/{name}' },
  ])('takes agents.defaults.workspace $written from the instance config when the manifest has none', ({ written, expected, cwd }) => {
    const instanceConfigs = new Map([['/home/u/.openclaw-main/openclaw.json', { source: 'main.json', ports: [], cdpUrls: [], workspace: written }]]);
    const result = plan({ gateways: { main: { port: 18789, ...(cwd && { cwd }) } } }, { ...ctx, instanceConfigs });
    expect(result.problems).toEqual([]);
    expect(gateway(result, 'main').workspace).toBe(expected);
  });

  it('keeps the manifest workspace when the instance config agrees, and refuses one it contradicts', () => {
    const config = (workspace: string) => new Map([['/home/u/.openclaw-main/openclaw.json', { source: 'main.json', ports: [], cdpUrls: [], workspace }]]);
    const agreeing = plan({ gateways: { main: { port: 18789, workspace: '~/ws' } } }, { ...ctx, instanceConfigs: config('~/ws') });
    expect(agreeing.problems).toEqual([]);
    const contradicted = plan({ gateways: { main: { port: 18789, workspace: '/w/main' } } }, { ...ctx, instanceConfigs: config('/elsewhere') });
    expect(contradicted.problems).toEqual([
      { path: ['gateways', 'main', 'workspace'], message: expect.stringMatching(/main\.json sets agents\.defaults\.workspace to \/elsewhere, which OpenClaw uses instead of the planned workspace \/w\/main/) },
    ]);
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

  it('lets a startup probe fail for the whole startPeriod unless its failureThreshold says otherwise', () => {
    const derived = gateway(plan({ gateways: { main: { port: 18789 } } }), 'main');
    expect(derived.health.startup).toMatchObject({ intervalMs: 1000, failureThreshold: 120 });
    const longer = gateway(plan({ gateways: { main: { port: 18789, health: { startPeriod: '5m' } } } }), 'main');
    expect(longer.health.startup?.failureThreshold).toBe(300);
    const given = gateway(plan({ gateways: { main: { port: 18789, health: { startup: { http: '/startupz', failureThreshold: 5 } } } } }), 'main');
    expect(given.health.startup?.failureThreshold).toBe(5);
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
      message: /"main" and "rescue" both reserve port 18809 .*; OpenClaw gateways need base ports at least 120 apart/,
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
      why: 'shared working dir (OpenClaw reads .env from it)',
      manifest: { gateways: { a: { port: 18789, cwd: '/srv/run' }, b: { port: 19789, cwd: '/srv/run' } } },
      path: 'gateways.b.cwd',
      message: /"a" and "b" share the working dir \/srv\/run; each gateway needs its own \(OpenClaw reads \.env from it\)/,
    },
    {
      why: "a workspace inside another gateway's state dir",
      manifest: { gateways: { a: { port: 18789, stateDir: '/s/a' }, b: { port: 19789, workspace: '/s/a/ws-b' } } },
      path: 'gateways.b.workspace',
      message: /the workspace of "b" \(\/s\/a\/ws-b\) lies inside the state dir of "a" \(\/s\/a\)/,
    },
    {
      why: "a workspace that is another gateway's state dir",
      manifest: { gateways: { a: { port: 18789, stateDir: '/s/a' }, b: { port: 19789, workspace: '/s/a' } } },
      path: 'gateways.b.workspace',
      message: /the workspace of "b" \(\/s\/a\) is the state dir of "a"/,
    },
    {
      why: "a working dir inside another gateway's state dir",
      manifest: { gateways: { a: { port: 18789, stateDir: '/s/a' }, b: { port: 19789, cwd: '/s/a/run' } } },
      path: 'gateways.b.cwd',
      message: /the working dir of "b" \(\/s\/a\/run\) lies inside the state dir of "a"/,
    },
    {
      why: "a state dir inside another gateway's workspace",
      manifest: { gateways: { a: { port: 18789, workspace: '/w' }, b: { port: 19789, stateDir: '/w/b' } } },
      path: 'gateways.b.stateDir',
      message: /the state dir of "b" \(\/w\/b\) lies inside the workspace of "a" \(\/w\)/,
    },
    {
      why: "a state dir inside another gateway's working dir",
      manifest: { gateways: { a: { port: 18789, cwd: '/run/a' }, b: { port: 19789, stateDir: '/run/a/state' } } },
      path: 'gateways.b.stateDir',
      message: /the state dir of "b" \(\/run\/a\/state\) lies inside the working dir of "a"/,
    },
    {
      why: 'SIGUSR2 as the stop signal of an OpenClaw gateway',
      manifest: { gateways: { a: { port: 18789, stop: { signal: 'SIGUSR2' } } } },
      path: 'gateways.a.stop.signal',
      message: /SIGUSR2 is refused for kind "openclaw": it makes OpenClaw restart in place/,
    },
    {
      why: 'SIGUSR2 as the stop signal in defaults',
      manifest: { defaults: { stop: { signal: 'SIGUSR2' } }, gateways: { a: { port: 18789 } } },
      path: 'defaults.stop.signal',
      message: /SIGUSR2 is refused/,
    },
    {
      why: 'an explicit port inside another footprint',
      manifest: { gateways: { a: { port: 18789 }, b: { port: 19789, canvasHost: { port: 18791 } } } },
      path: 'gateways.b.port',
      message: /both reserve port 18791 .*; move canvasHost\.port to a port outside the other gateway's footprint$/,
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
      message: /both use the browser cdpUrl http:\/\/10\.0\.0\.5:9222; two gateways must never drive one browser: give each its own cdpUrl/,
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

  it.each([
    { why: 'the same local cdpUrl', a: 'http://127.0.0.1:9222', b: 'http://127.0.0.1:9222', message: /both use the browser cdpUrl http:\/\/127\.0\.0\.1:9222; two gateways must never drive one browser/ },
    { why: 'two spellings of one local browser', a: 'http://127.0.0.1:9222', b: 'ws://[::1]:9222', message: /both point a browser cdpUrl at port 9222 .*; two gateways must never drive one browser/ },
  ])('reports $why once, as a shared browser, not as base ports too close', ({ a, b, message }) => {
    const { problems } = plan({ gateways: { a: { port: 18789, browser: { cdpUrl: a } }, b: { port: 19789, browser: { cdpUrl: b } } } });
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toEqual(['gateways', 'b', 'browser']);
    expect(problems[0]!.message).toMatch(message);
    expect(problems[0]!.message).not.toMatch(/120 apart/);
  });

  it('refuses a successThreshold other than 1 on liveness and startup, and takes it on readiness', () => {
    const { problems } = plan({
      gateways: {
        a: { port: 18789, health: { liveness: { http: '/healthz', successThreshold: 2 }, readiness: { http: '/readyz', successThreshold: 3 } } },
      },
    });
    expect(problems.map((p) => p.path.join('.'))).toEqual(['gateways.a.health.liveness.successThreshold']);
    expect(problems[0]!.message).toMatch(/must be 1 for the liveness probe/);
    const ok = plan({ gateways: { a: { port: 18789, health: { readiness: { http: '/readyz', successThreshold: 3 } } } } });
    expect(gateway(ok, 'a').health.readiness?.successThreshold).toBe(3);
  });

  it('reports a SIGUSR2 in defaults once, and allows it for command gateways', () => {
    const { problems } = plan({
      defaults: { stop: { signal: 'SIGUSR2' } },
      gateways: { a: { port: 18789 }, b: { port: 19789 }, c: { kind: 'command', command: 'srv', port: 8080 } },
    });
    expect(problems.map((p) => p.path.join('.'))).toEqual(['defaults.stop.signal']);
    const command = plan({ gateways: { c: { kind: 'command', command: 'srv', port: 8080, stop: { signal: 'SIGUSR2' } } } });
    expect(command.problems).toEqual([]);
  });

  it("allows a gateway's own workspace and working dir inside its own state dir", () => {
    const { problems } = plan({ gateways: { a: { port: 18789, stateDir: '/s/a', cwd: '/s/a/run' }, b: { port: 19789, stateDir: '/s/b', cwd: '/s/b/run' } } });
    expect(problems).toEqual([]);
  });

  it('ignores disabled gateways when checking collisions', () => {
    const { problems } = plan({ gateways: { a: { port: 18789 }, old: { port: 18789, enabled: false } } });
    expect(problems).toEqual([]);
  });

  it('counts ports from the instance OpenClaw config', () => {
    const instanceConfigs = new Map([
      ['/home/u/.openclaw-b/openclaw.json', { source: '/home/u/.openclaw-b/openclaw.json', ports: [{ port: 18800, label: 'browser.profiles.x.cdpPort' }], cdpUrls: [] }],
    ]);
    const { problems } = plan({ gateways: { a: { port: 18789 }, b: { port: 19789 } } }, { ...ctx, instanceConfigs });
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toMatch(/port 18800 .*in \/home\/u\/.openclaw-b\/openclaw.json/);
  });
});
