import { describe, expect, it } from 'vitest';
import type { RawManifest } from '../manifest/schema.js';
import { BLOCKED_ENV, buildGatewayEnv, maskEnv } from './environment.js';
import { planFleet } from './plan-fleet.js';

const fleet = planFleet(
  {
    version: 1,
    gateways: {
      main: { port: 18789, env: { MODEL: 'big', OPENCLAW_GATEWAY_PORT: '1' }, inheritEnv: ['EXTRA', 'INVOCATION_ID'] },
      rescue: { port: 19789, role: 'rescue', profile: 'default' },
      tool: { kind: 'command', command: 'srv', port: 8080 },
    },
  } as RawManifest,
  { manifestPath: '/f/fleet.yaml', home: '/home/u', stateHome: '/home/u/.local/state' },
).plan;
const byName = (name: string) => fleet.gateways.find((g) => g.name === name)!;

const supervisorEnv = {
  PATH: '/usr/bin',
  HOME: '/home/u',
  LANG: 'C.UTF-8',
  LC_ALL: 'C.UTF-8',
  TZ: 'UTC',
  EXTRA: 'yes',
  AWS_SECRET_ACCESS_KEY: 'supervisor-secret',
  OPENCLAW_GATEWAY_TOKEN: 'leak',
  OPENCLAW_PROFILE: 'other',
  ...Object.fromEntries(BLOCKED_ENV.map((name) => [name, 'marker'])),
};

describe('buildGatewayEnv', () => {
  it('passes the allow-list and nothing else of the supervisor', () => {
    const env = buildGatewayEnv(byName('rescue'), supervisorEnv);
    expect(env).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/u',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      TZ: 'UTC',
      OPENCLAW_STATE_DIR: '/home/u/.openclaw',
      OPENCLAW_CONFIG_PATH: '/home/u/.openclaw/openclaw.json',
      OPENCLAW_WORKSPACE_DIR: '/home/u/.openclaw/workspace',
      OPENCLAW_GATEWAY_PORT: '19789',
    });
  });

  it('passes the planned workspace explicitly, so OpenClaw cannot derive another', () => {
    expect(buildGatewayEnv(byName('main'), { ...supervisorEnv, OPENCLAW_WORKSPACE_DIR: '/elsewhere' }).OPENCLAW_WORKSPACE_DIR).toBe('/home/u/.openclaw-main/workspace');
    const custom = planFleet(
      { version: 1, gateways: { bot: { port: 18789, workspace: '~/ws/{name}', env: { OPENCLAW_WORKSPACE_DIR: '/manifest-env' } } } } as RawManifest,
      { manifestPath: '/f/fleet.yaml', home: '/home/u', stateHome: '/home/u/.local/state' },
    ).plan.gateways[0]!;
    expect(buildGatewayEnv(custom, supervisorEnv).OPENCLAW_WORKSPACE_DIR).toBe('/home/u/ws/bot');
  });

  it('never passes service-manager markers, even when asked to inherit them', () => {
    const env = buildGatewayEnv(byName('main'), supervisorEnv);
    expect(env.EXTRA).toBe('yes');
    for (const marker of BLOCKED_ENV) expect(env).not.toHaveProperty(marker);
    expect(env).not.toHaveProperty('OPENCLAW_GATEWAY_TOKEN');
    expect(env).not.toHaveProperty('AWS_SECRET_ACCESS_KEY');
  });

  it('layers envFile, then env, then the derived variables', () => {
    const env = buildGatewayEnv(byName('main'), supervisorEnv, { MODEL: 'small', API_TOKEN: 't0k' });
    expect(env.MODEL).toBe('big');
    expect(env.API_TOKEN).toBe('t0k');
    expect(env.OPENCLAW_GATEWAY_PORT).toBe('18789');
    expect(env.OPENCLAW_PROFILE).toBe('main');
    expect(env.OPENCLAW_STATE_DIR).toBe('/home/u/.openclaw-main');
  });

  it('gives command gateways PORT and no OpenClaw variables', () => {
    const env = buildGatewayEnv(byName('tool'), supervisorEnv);
    expect(env.PORT).toBe('8080');
    expect(Object.keys(env).filter((k) => k.startsWith('OPENCLAW_'))).toEqual([]);
  });

  it('shares nothing between gateways', () => {
    const main = buildGatewayEnv(byName('main'), supervisorEnv, { MAIN_ONLY: '1' });
    const rescue = buildGatewayEnv(byName('rescue'), supervisorEnv);
    expect(rescue).not.toHaveProperty('MAIN_ONLY');
    expect(rescue).not.toHaveProperty('MODEL');
    expect(main.OPENCLAW_STATE_DIR).not.toBe(rescue.OPENCLAW_STATE_DIR);
  });
});

describe('maskEnv', () => {
  it('hides secret-looking names and everything from an envFile', () => {
    expect(maskEnv({ API_TOKEN: 'a', DB_PASSWORD: 'b', MODEL: 'c', FROM_FILE: 'd' }, new Set(['FROM_FILE']))).toEqual({
      API_TOKEN: '***',
      DB_PASSWORD: '***',
      MODEL: 'c',
      FROM_FILE: '***',
    });
  });
});
