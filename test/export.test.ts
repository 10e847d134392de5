/**
 * `clawfleet export`: the generated objects are checked against the targets' own schemas (Kubernetes'
 * OpenAPI schema through kubernetes-models, the compose-spec JSON Schema, systemd's directive lists and
 * `systemd-analyze verify` where it is installed), then for what they must carry: probes, isolation,
 * restart and stop policy, rescue independence, and secrets that never appear in the output.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Service } from 'kubernetes-models/v1/Service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { CliContext } from '../src/cli/context.js';
import { runExport } from '../src/cli/export.js';
import { fleetName as installFleetName } from '../src/cli/install.js';
import { runValidate } from '../src/cli/validate.js';
import { containerArgs, type ExportInput, exportEnv, fleetName } from '../src/export/common.js';
import { exportCompose } from '../src/export/compose.js';
import { exportKubernetes, objectName } from '../src/export/kubernetes.js';
import { environmentLine, execWord, exportSystemd } from '../src/export/systemd.js';
import { loadManifest } from '../src/manifest/load.js';
import { derivedEnv } from '../src/plan/environment.js';
import type { GatewayPlan } from '../src/plan/types.js';
import { CONFLICT_RETRY_MIN_MS } from '../src/supervisor/backoff.js';

const SECRET = 'sk-live-DO-NOT-LEAK-4242';

let dir: string;
let manifest: string;
let input: ExportInput;

/** A fleet with every feature the exporters map: main, rescue, a secret envFile, a disabled gateway, odd characters. */
function writeFleet(): void {
  dir = mkdtempSync(path.join(os.tmpdir(), 'clawfleet-export-'));
  manifest = path.join(dir, 'bots.yaml');
  writeFileSync(path.join(dir, 'main.env'), `OPENAI_API_KEY=${SECRET}\nSLACK_TOKEN=xoxb-${SECRET}\n`);
  // An absolute command that exists, so `systemd-analyze verify` can check ExecStart= too.
  writeFileSync(
    manifest,
    `version: 1
defaults:
  kind: openclaw
  command: ${process.execPath}
  args: [gateway, --port, "{port}", --bind, lan]
  stateDir: "${dir}/state/{name}"
  workspace: "${dir}/workspace/{name}"
  health:
    startPeriod: 90s
    startup:   { http: /startupz, interval: 2s, timeout: 1s }
  stop: { signal: SIGINT, timeout: 25s }
  restart: { policy: always, backoff: { initial: 200ms, max: 30s, factor: 2 } }
gateways:
  main:
    port: 18789
    envFile: main.env
    env: { GREETING: "50% off $HOME \\"quoted\\"", LOG_LEVEL: info }
    health:
      liveness:  { http: /healthz, interval: 3s, timeout: 1500ms, failureThreshold: 4 }
      readiness: { http: /readyz, interval: 5s, timeout: 2s, failureThreshold: 2 }
  rescue:
    role: rescue
    port: 19789
    restart: { policy: on-failure }
    health:
      liveness: { exec: [node, -e, "process.exit(0)"], interval: 1s }
      readiness: { exec: [node, -e, "process.exit(0)"], interval: 10s }
  spare:
    kind: command               # probed by TCP connects
    port: 20789
    enabled: false
    restart: { policy: never }
`,
  );
}

function context(): { ctx: CliContext; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const ctx: CliContext = {
    stdout: (t) => { out += t; },
    stderr: (t) => { err += t; },
    env: { HOME: dir, XDG_STATE_HOME: path.join(dir, 'xdg') },
    cwd: dir,
    isTTY: false,
  };
  return { ctx, out: () => out, err: () => err };
}

function load(file: string): ExportInput {
  const loaded = loadManifest(file, { home: dir, stateHome: path.join(dir, 'xdg'), cwd: dir });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  return { plan: loaded.manifest.plan, envFiles: loaded.manifest.envFiles };
}

/** The shipped manifest for the real gateway: `--bind loopback`, and paths derived by the plan's defaults. */
const OPENCLAW_MANIFEST = new URL('../config/openclaw.yaml', import.meta.url);
const GATEWAY_TOKEN = 'gw-token-DO-NOT-LEAK-7';
let openclaw: ExportInput;
let openclawWithToken: ExportInput;

/** openclaw.yaml, copied beside the test fleet, and a variant whose main gateway has a token in its envFile. */
function writeOpenClawFleets(): void {
  const text = readFileSync(OPENCLAW_MANIFEST, 'utf8');
  writeFileSync(path.join(dir, 'openclaw.yaml'), text);
  const doc = parseYaml(text) as { gateways: Record<string, Record<string, unknown>> };
  doc.gateways.main!.envFile = 'token.env';
  writeFileSync(path.join(dir, 'token.env'), `OPENCLAW_GATEWAY_TOKEN=${GATEWAY_TOKEN}\n`);
  writeFileSync(path.join(dir, 'openclaw-token.yaml'), stringifyYaml(doc));
}

beforeAll(() => {
  writeFleet();
  input = load(manifest);
  writeOpenClawFleets();
  openclaw = load(path.join(dir, 'openclaw.yaml'));
  openclawWithToken = load(path.join(dir, 'openclaw-token.yaml'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const gateway = (name: string) => {
  const g = input.plan.gateways.find((x) => x.name === name);
  if (!g) throw new Error(`no gateway ${name}`);
  return g;
};

function isWithin(inner: string, outer: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * The paths a gateway keeps its data in, as the plan derives them: its state dir and workspace, and every
 * absolute path among the variables clawfleet sets (config path, and whatever the plan adds), except its
 * working dir, which holds nothing that must outlive it.
 */
function persistentPaths(g: GatewayPlan): string[] {
  const paths = [g.stateDir, g.workspace, ...Object.values(derivedEnv(g)).filter((v) => path.isAbsolute(v))];
  return [...new Set(paths.filter((p): p is string => p !== undefined && p !== g.cwd))];
}

function allText(files: ReadonlyMap<string, string>): string {
  return [...files.values()].join('\n');
}

// ---------------------------------------------------------------------------------------------- systemd

/** Directives per section, from systemd.directives(7) (systemd.unit, .service, .exec, .kill, .resource-control). */
const SYSTEMD_KEYS: Record<string, ReadonlySet<string>> = {
  Unit: new Set([
    'Description', 'Documentation', 'Wants', 'Requires', 'Requisite', 'BindsTo', 'PartOf', 'Upholds', 'Conflicts', 'Before',
    'After', 'OnFailure', 'OnSuccess', 'PropagatesReloadTo', 'ReloadPropagatedFrom', 'PropagatesStopTo', 'StopPropagatedFrom',
    'JoinsNamespaceOf', 'RequiresMountsFor', 'OnFailureJobMode', 'IgnoreOnIsolate', 'StopWhenUnneeded', 'RefuseManualStart',
    'RefuseManualStop', 'AllowIsolate', 'DefaultDependencies', 'CollectMode', 'FailureAction', 'SuccessAction',
    'FailureActionExitStatus', 'SuccessActionExitStatus', 'JobTimeoutSec', 'JobRunningTimeoutSec', 'JobTimeoutAction',
    'JobTimeoutRebootArgument', 'StartLimitIntervalSec', 'StartLimitBurst', 'StartLimitAction', 'RebootArgument',
    'SourcePath', 'ConditionPathExists', 'ConditionPathIsDirectory', 'AssertPathExists',
  ]),
  Service: new Set([
    'Type', 'ExitType', 'RemainAfterExit', 'GuessMainPID', 'PIDFile', 'BusName', 'ExecStart', 'ExecStartPre', 'ExecStartPost',
    'ExecCondition', 'ExecReload', 'ExecStop', 'ExecStopPost', 'RestartSec', 'RestartSteps', 'RestartMaxDelaySec',
    'TimeoutStartSec', 'TimeoutStopSec', 'TimeoutAbortSec', 'TimeoutSec', 'TimeoutStartFailureMode', 'TimeoutStopFailureMode',
    'RuntimeMaxSec', 'RuntimeRandomizedExtraSec', 'WatchdogSec', 'Restart', 'RestartMode', 'SuccessExitStatus',
    'RestartPreventExitStatus', 'RestartForceExitStatus', 'RootDirectoryStartOnly', 'NonBlocking', 'NotifyAccess', 'Sockets',
    'FileDescriptorStoreMax', 'USBFunctionDescriptors', 'USBFunctionStrings', 'OOMPolicy', 'OpenFile', 'ReloadSignal',
    // systemd.exec
    'WorkingDirectory', 'RootDirectory', 'User', 'Group', 'DynamicUser', 'SupplementaryGroups', 'PAMName', 'UMask',
    'Environment', 'EnvironmentFile', 'PassEnvironment', 'UnsetEnvironment', 'StandardInput', 'StandardOutput',
    'StandardError', 'SyslogIdentifier', 'LogLevelMax', 'Nice', 'OOMScoreAdjust', 'LimitNOFILE', 'LimitNPROC', 'LimitCORE',
    'NoNewPrivileges', 'PrivateTmp', 'ProtectSystem', 'ProtectHome', 'ReadWritePaths', 'ReadOnlyPaths', 'StateDirectory',
    'RuntimeDirectory', 'CacheDirectory', 'LogsDirectory', 'ConfigurationDirectory',
    // systemd.kill
    'KillMode', 'KillSignal', 'RestartKillSignal', 'SendSIGHUP', 'SendSIGKILL', 'FinalKillSignal', 'WatchdogSignal',
    // systemd.resource-control
    'CPUAccounting', 'CPUWeight', 'CPUQuota', 'MemoryAccounting', 'MemoryMin', 'MemoryLow', 'MemoryHigh', 'MemoryMax',
    'MemorySwapMax', 'TasksAccounting', 'TasksMax', 'IOAccounting', 'IOWeight', 'Delegate', 'Slice',
  ]),
  Install: new Set(['Alias', 'WantedBy', 'RequiredBy', 'UpheldBy', 'Also', 'DefaultInstance']),
};
const SYSTEMD_REQUIRED: Record<string, readonly string[]> = {
  Unit: ['Description'],
  Service: ['Type', 'ExecStart', 'WorkingDirectory', 'Restart', 'KillMode', 'KillSignal', 'TimeoutStopSec', 'TimeoutStartSec'],
};

/** A unit file as section → key → values (keys may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(\w+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1]!, current);
      continue;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!kv || !current) throw new Error(`not a unit line: ${line}`);
    current.set(kv[1]!, [...(current.get(kv[1]!) ?? []), kv[2]!]);
  }
  return sections;
}

const one = (unit: Map<string, Map<string, string[]>>, section: string, key: string): string | undefined => unit.get(section)?.get(key)?.at(-1);

/** Seconds in a systemd time span we write (`90s`, `200ms`). */
function spanSeconds(text: string | undefined): number {
  const m = /^(\d+)(ms|s)$/.exec(text ?? '');
  if (!m) throw new Error(`not a time span: ${text}`);
  return m[2] === 'ms' ? Number(m[1]) / 1000 : Number(m[1]);
}

describe('export systemd', () => {
  const fleet = () => fleetName(input.plan.manifestPath);
  const units = () => exportSystemd(input).files;
  const unit = (name: string) => {
    const text = units().get(`clawfleet-${fleet()}-${name}.service`);
    if (text === undefined) throw new Error(`no unit for ${name}`);
    return parseUnit(text);
  };

  it('names units like `clawfleet install` names the supervisor, one per gateway', () => {
    expect(fleetName(manifest)).toBe(installFleetName(manifest));
    expect([...units().keys()]).toEqual(['clawfleet-bots-main.service', 'clawfleet-bots-rescue.service', 'clawfleet-bots-spare.service']);
  });

  it('uses only known directives, in the right sections, with the required ones present', () => {
    for (const [file, text] of units()) {
      const parsed = parseUnit(text);
      for (const [section, keys] of parsed) {
        const known = SYSTEMD_KEYS[section];
        expect(known, `${file}: unknown section [${section}]`).toBeDefined();
        for (const key of keys.keys()) expect(known!.has(key), `${file}: [${section}] ${key}`).toBe(true);
      }
      for (const [section, keys] of Object.entries(SYSTEMD_REQUIRED)) {
        for (const key of keys) expect(parsed.get(section)?.has(key), `${file}: [${section}] ${key} missing`).toBe(true);
      }
    }
  });

  it('carries command, working dir, env, restart and stop policy of the plan', () => {
    const main = unit('main');
    const plan = gateway('main');
    expect(one(main, 'Service', 'ExecStart')).toBe(`${process.execPath} gateway --port 18789 --bind lan`);
    expect(one(main, 'Service', 'WorkingDirectory')).toBe(plan.cwd);
    const env = main.get('Service')!.get('Environment')!;
    expect(env).toContain(`"OPENCLAW_STATE_DIR=${plan.stateDir}"`);
    expect(env).toContain(`"OPENCLAW_CONFIG_PATH=${plan.configPath}"`);
    expect(env).toContain('"OPENCLAW_PROFILE=main"');
    expect(env).toContain('"OPENCLAW_GATEWAY_PORT=18789"');
    expect(env).toContain('"LOG_LEVEL=info"');
    expect(env).toContain('"GREETING=50%% off $HOME \\"quoted\\""');
    expect(one(main, 'Service', 'EnvironmentFile')).toBe(path.join(dir, 'main.env'));
    expect(one(main, 'Service', 'Restart')).toBe('always');
    expect(one(main, 'Service', 'RestartSec')).toBe('200ms');
    expect(one(main, 'Service', 'RestartMaxDelaySec')).toBe('30s');
    expect(one(main, 'Service', 'RestartSteps')).toBe(String(Math.ceil(Math.log(plan.restart.maxMs / plan.restart.initialMs) / Math.log(plan.restart.factor))));
    expect(one(main, 'Service', 'KillMode')).toBe('control-group');
    expect(one(main, 'Service', 'KillSignal')).toBe('SIGINT');
    expect(one(main, 'Service', 'TimeoutStopSec')).toBe('25s');
    expect(spanSeconds(one(main, 'Service', 'TimeoutStartSec'))).toBeGreaterThanOrEqual(90);
    expect(one(main, 'Unit', 'StartLimitIntervalSec')).toBe('0');
    expect(one(main, 'Install', 'WantedBy')).toBe('default.target');

    expect(one(unit('rescue'), 'Service', 'Restart')).toBe('on-failure');
    expect(one(unit('spare'), 'Service', 'Restart')).toBe('no');
    // Disabled: no [Install], so `systemctl enable` refuses it.
    expect(unit('spare').has('Install')).toBe(false);
  });

  it('never ties rescue to main: no dependency of rescue on main, mains only ordered after the rescue', () => {
    const links = ['Requires', 'Requisite', 'BindsTo', 'PartOf', 'Upholds', 'Wants', 'After', 'Before', 'PropagatesStopTo', 'StopPropagatedFrom'];
    const rescue = unit('rescue');
    for (const key of links) expect(rescue.get('Unit')?.get(key), `rescue ${key}`).toBeUndefined();
    const main = unit('main');
    for (const key of ['Requires', 'Requisite', 'BindsTo', 'PartOf', 'Upholds', 'Wants', 'PropagatesStopTo', 'StopPropagatedFrom']) {
      expect(main.get('Unit')?.get(key), `main ${key}`).toBeUndefined();
    }
    expect(one(main, 'Unit', 'After')).toBe('clawfleet-bots-rescue.service');
  });

  it('references the envFile and never copies a secret', () => {
    expect(allText(units())).not.toContain(SECRET);
  });

  it('retries exit 78 on the backoff instead of giving up for good, and says what systemd cannot pace', () => {
    for (const [file, text] of [...units(), ...exportSystemd(openclaw).files]) {
      expect(parseUnit(text).get('Service')?.has('RestartPreventExitStatus'), file).toBe(false);
    }
    // The slow part of the retry: growing to the plan's max (systemd >= 254).
    const main = unit('main');
    expect(spanSeconds(one(main, 'Service', 'RestartMaxDelaySec'))).toBe(gateway('main').restart.maxMs / 1000);
    expect(spanSeconds(one(main, 'Service', 'RestartSec'))).toBe(gateway('main').restart.initialMs / 1000);
    const notes = exportSystemd(input).notes;
    expect(notes.some((n) => n.includes('exit 78') && n.includes(`${CONFLICT_RETRY_MIN_MS / 1000}s`) && n.includes('systemd 254'))).toBe(true);
    expect(notes.some((n) => /no probes/.test(n))).toBe(true);
  });

  it('keeps `--bind loopback` on the host', () => {
    const result = exportSystemd(openclaw);
    for (const g of openclaw.plan.gateways) {
      const text = result.files.get(`clawfleet-${fleetName(openclaw.plan.manifestPath)}-${g.name}.service`)!;
      expect(one(parseUnit(text), 'Service', 'ExecStart')).toContain('--bind loopback');
    }
    expect(result.notes.join('\n')).not.toMatch(/--bind/);
  });

  it('escapes specifiers, variables and spaces the way systemd reads them', () => {
    expect(execWord('--port')).toBe('--port');
    expect(execWord('a b')).toBe('"a b"');
    expect(execWord('$HOME')).toBe('$$HOME');
    expect(execWord('100%')).toBe('100%%');
    expect(execWord('')).toBe('""');
    expect(environmentLine('A', 'x "y" \\z')).toBe('Environment="A=x \\"y\\" \\\\z"');
  });

  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  it.skipIf(analyze.status !== 0)('passes `systemd-analyze verify`', () => {
    const version = Number(/systemd (\d+)/.exec(analyze.stdout)?.[1] ?? 0);
    const unitDir = path.join(dir, 'units');
    mkdirSync(unitDir, { recursive: true });
    for (const [name, text] of units()) writeFileSync(path.join(unitDir, name), text);
    const run = spawnSync('systemd-analyze', ['verify', ...readdirSync(unitDir).map((f) => path.join(unitDir, f))], { encoding: 'utf8' });
    const complaints = `${run.stdout}${run.stderr}`
      .split('\n')
      .filter((line) => line.trim() !== '')
      // RestartSteps= and RestartMaxDelaySec= arrived in systemd 254; older versions ignore them by design.
      .filter((line) => !(version < 254 && /Unknown key '?(RestartSteps|RestartMaxDelaySec)'?/.test(line)));
    expect(complaints).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------- compose

function composeValidator() {
  const require = createRequire(import.meta.url);
  // The compose-spec JSON Schema as published by compose-spec, shipped in the `docker-compose` npm package.
  const schema = JSON.parse(readFileSync(require.resolve('docker-compose/schema/compose-spec.json'), 'utf8')) as object;
  // The schema names its meta-schema by https URL, which Ajv does not bundle; the schema itself is what matters.
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  return ajv.compile(schema);
}

interface ComposeService {
  environment: Record<string, string | null>;
  env_file?: string[];
  ports: Array<{ host_ip: string; published: string; target: number }>;
  volumes: Array<{ type: string; source: string; target: string }>;
  healthcheck: { test: string[]; interval: string; timeout: string; retries: number; start_period: string; start_interval?: string; disable?: boolean };
  restart: string;
  stop_signal: string;
  stop_grace_period: string;
  depends_on?: Record<string, { condition: string }>;
  profiles?: string[];
  command: string[];
  working_dir: string;
}

describe('export compose', () => {
  const text = () => exportCompose(input).files.get('compose.yaml')!;
  const doc = () => parseYaml(text()) as { name: string; services: Record<string, ComposeService>; volumes: Record<string, unknown> };

  it('is valid against the compose-spec JSON Schema', () => {
    const validate = composeValidator();
    const ok = validate(doc());
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the schema check catches a wrong key (the validator is really on)', () => {
    const validate = composeValidator();
    const broken = doc();
    (broken.services.main as unknown as Record<string, unknown>).restart_policy = 'always';
    expect(validate(broken)).toBe(false);
  });

  it('publishes only the base port, on 127.0.0.1', () => {
    for (const [name, svc] of Object.entries(doc().services)) {
      expect(svc.ports).toEqual([{ target: gateway(name).port, published: String(gateway(name).port), host_ip: '127.0.0.1', protocol: 'tcp' }]);
    }
  });

  it('mounts a named volume of its own at the planned state dir and workspace', () => {
    const d = doc();
    for (const name of ['main', 'rescue']) {
      const svc = d.services[name]!;
      const state = svc.volumes.find((v) => v.target === gateway(name).stateDir);
      expect(state, name).toMatchObject({ type: 'volume', source: `${name}-state` });
      expect(svc.volumes.find((v) => v.target === gateway(name).workspace)).toMatchObject({ source: `${name}-workspace` });
      expect(d.volumes).toHaveProperty(`${name}-state`);
      expect(svc.environment.OPENCLAW_STATE_DIR).toBe(gateway(name).stateDir);
    }
  });

  it('maps probes, restart and stop policy', () => {
    const { main, rescue, spare } = doc().services;
    expect(main!.healthcheck.test.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect(main!.healthcheck.test[3]).toContain('http://127.0.0.1:18789/healthz');
    expect(main!.healthcheck).toMatchObject({ interval: '3s', timeout: '1500ms', retries: 4, start_period: '90s', start_interval: '2s' });
    expect(rescue!.healthcheck.test).toEqual(['CMD', 'node', '-e', 'process.exit(0)']);
    expect(rescue!.healthcheck.interval).toBe('1s');
    expect(spare!.healthcheck.test[3]).toContain("connect(20789,'127.0.0.1')");
    expect(main!.restart).toBe('always');
    expect(rescue!.restart).toBe('on-failure');
    expect(spare!.restart).toBe('no');
    expect(spare!.profiles).toEqual(['disabled']);
    expect(main!.stop_signal).toBe('SIGINT');
    expect(main!.stop_grace_period).toBe('25s');
    expect(main!.working_dir).toBe(gateway('main').cwd);
  });

  it('escapes $ so compose does not interpolate the gateway\'s own values', () => {
    expect(doc().services.main!.environment.GREETING).toBe('50% off $$HOME "quoted"');
  });

  it('starts rescue first without making it depend on main', () => {
    const { main, rescue } = doc().services;
    expect(rescue!.depends_on).toBeUndefined();
    expect(main!.depends_on).toEqual({ rescue: { condition: 'service_started', required: false } });
  });

  it('references the envFile and never copies a secret', () => {
    const { main } = doc().services;
    expect(main!.env_file).toEqual([path.join(dir, 'main.env')]);
    expect(main!.environment).not.toHaveProperty('OPENAI_API_KEY');
    expect(text()).not.toContain(SECRET);
  });

  const openclawDoc = (fleet: ExportInput) => parseYaml(exportCompose(fleet).files.get('compose.yaml')!) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };

  it('binds `--bind loopback` gateways to lan in the container, on the port it publishes, and says why', () => {
    const { services } = openclawDoc(openclaw);
    for (const g of openclaw.plan.gateways) {
      const svc = services[g.name]!;
      expect(svc.command).not.toContain('loopback');
      expect(svc.command.slice(svc.command.indexOf('--bind'), svc.command.indexOf('--bind') + 2)).toEqual(['--bind', 'lan']);
      // The published port, the healthcheck and the gateway's own --port are the same base port.
      expect(svc.command[svc.command.indexOf('--port') + 1]).toBe(String(g.port));
      expect(svc.ports).toEqual([{ target: g.port, published: String(g.port), host_ip: '127.0.0.1', protocol: 'tcp' }]);
      expect(svc.healthcheck.test.join(' ')).toContain(`127.0.0.1:${g.port}/`);
    }
    const notes = exportCompose(openclaw).notes;
    for (const g of openclaw.plan.gateways) {
      expect(notes.some((n) => n.startsWith(`${g.name}: \`--bind loopback\` is rewritten to \`--bind lan\``) && n.includes('published port'))).toBe(true);
    }
    expect(composeValidator()(openclawDoc(openclaw))).toBe(true);
  });

  it('says a lan-bound OpenClaw needs a token, unless its envFile has one, and never writes it', () => {
    const needsToken = (fleet: ExportInput, name: string) => exportCompose(fleet).notes.some((n) => n.startsWith(`${name}: `) && n.includes('OPENCLAW_GATEWAY_TOKEN'));
    expect(needsToken(openclaw, 'main')).toBe(true);
    expect(needsToken(openclawWithToken, 'main')).toBe(false);
    expect(needsToken(openclawWithToken, 'rescue')).toBe(true);
    const { main } = openclawDoc(openclawWithToken).services;
    expect(main!.env_file).toEqual([path.join(dir, 'token.env')]);
    expect(exportCompose(openclawWithToken).files.get('compose.yaml')).not.toContain(GATEWAY_TOKEN);
  });

  it('puts every path the plan derives on a volume of its own, with the derived env (default paths)', () => {
    for (const fleet of [input, openclaw]) {
      const d = openclawDoc(fleet);
      for (const g of fleet.plan.gateways) {
        const svc = d.services[g.name]!;
        expect(svc.environment).toMatchObject(derivedEnv(g));
        expect(Object.keys(svc.environment).sort()).toEqual(Object.keys(exportEnv(g)).sort());
        for (const p of persistentPaths(g)) {
          expect(svc.volumes.some((v) => isWithin(p, v.target)), `${g.name}: ${p} on no volume`).toBe(true);
        }
        for (const v of svc.volumes) {
          expect(v.source.startsWith(`${g.name}-`)).toBe(true);
          expect(d.volumes).toHaveProperty(v.source);
        }
      }
    }
  });
});

describe('container bind', () => {
  const withArgs = (args: string[]): GatewayPlan => ({ ...openclaw.plan.gateways[0]!, args });

  it('rewrites `--bind loopback` and `--bind=loopback`, nothing else, and not after `--`', () => {
    expect(containerArgs(withArgs(['gateway', '--bind', 'loopback', '--port', '1']))).toEqual({ args: ['gateway', '--bind', 'lan', '--port', '1'], rebound: true });
    expect(containerArgs(withArgs(['gateway', '--bind=loopback']))).toEqual({ args: ['gateway', '--bind=lan'], rebound: true });
    expect(containerArgs(withArgs(['gateway', '--bind', 'tailnet']))).toEqual({ args: ['gateway', '--bind', 'tailnet'], rebound: false });
    expect(containerArgs(withArgs(['run', '--', '--bind', 'loopback'])).rebound).toBe(false);
  });
});

// ------------------------------------------------------------------------------------------- kubernetes

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  /** Checked by the schema, then read loosely by the assertions. */
  spec: any;
}

function kubernetesObjects(): K8sObject[] {
  const out: K8sObject[] = [];
  for (const text of exportKubernetes(input).files.values()) {
    for (const doc of parseAllDocuments(text)) {
      expect(doc.errors).toEqual([]);
      const value = doc.toJS() as K8sObject | null;
      if (value !== null) out.push(value);
    }
  }
  return out;
}

/** Validates an object against Kubernetes' OpenAPI schema (as compiled by kubernetes-models); throws on errors. */
function validateKubernetes(object: K8sObject): void {
  switch (object.kind) {
    case 'StatefulSet': new StatefulSet(object as never).validate(); return;
    case 'Service': new Service(object as never).validate(); return;
    case 'PodDisruptionBudget': new PodDisruptionBudget(object as never).validate(); return;
    default: throw new Error(`unexpected kind ${object.kind}`);
  }
}

describe('export kubernetes', () => {
  const objects = () => kubernetesObjects();
  const sts = (name: string) => objects().find((o) => o.kind === 'StatefulSet' && o.metadata.labels?.['clawfleet.dev/gateway'] === name)!;
  const container = (name: string) => sts(name).spec.template.spec.containers[0];

  it('is valid against the Kubernetes OpenAPI schema', () => {
    const kinds = objects().map((o) => o.kind);
    expect(kinds.filter((k) => k === 'StatefulSet')).toHaveLength(3);
    expect(kinds.filter((k) => k === 'Service')).toHaveLength(3);
    expect(kinds.filter((k) => k === 'PodDisruptionBudget')).toHaveLength(1);
    for (const object of objects()) expect(() => validateKubernetes(object), `${object.kind} ${object.metadata.name}`).not.toThrow();
  });

  it('the schema check catches a wrong type (the validator is really on)', () => {
    const broken = sts('main');
    broken.spec.template.spec.containers[0].livenessProbe.periodSeconds = '3s';
    expect(() => validateKubernetes(broken)).toThrow(/periodSeconds/);
  });

  it('runs one replica per gateway (none when disabled), labelled by fleet, gateway and role', () => {
    expect(sts('main').spec.replicas).toBe(1);
    expect(sts('spare').spec.replicas).toBe(0);
    expect(sts('rescue').spec.template.metadata.labels).toMatchObject({
      'app.kubernetes.io/name': 'clawfleet',
      'clawfleet.dev/gateway': 'rescue',
      'clawfleet.dev/role': 'rescue',
    });
    expect(sts('main').spec.template.metadata.labels['clawfleet.dev/role']).toBe('main');
  });

  it('maps probes, with a startup budget of ceil(startPeriod / interval)', () => {
    const main = container('main');
    expect(main.startupProbe).toEqual({ httpGet: { path: '/startupz', port: 'gateway', scheme: 'HTTP' }, periodSeconds: 2, timeoutSeconds: 1, failureThreshold: 45, successThreshold: 1 });
    expect(main.livenessProbe).toEqual({ httpGet: { path: '/healthz', port: 'gateway', scheme: 'HTTP' }, periodSeconds: 3, timeoutSeconds: 2, failureThreshold: 4, successThreshold: 1 });
    expect(main.readinessProbe).toMatchObject({ httpGet: { path: '/readyz' }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 2 });
    const rescue = container('rescue');
    expect(rescue.livenessProbe).toMatchObject({ exec: { command: ['node', '-e', 'process.exit(0)'] }, periodSeconds: 1 });
    expect(container('spare').livenessProbe).toMatchObject({ tcpSocket: { port: 'gateway' } });
    expect(rescue.readinessProbe).toMatchObject({ exec: { command: ['node', '-e', 'process.exit(0)'] }, periodSeconds: 10 });
    expect(main.ports).toEqual([{ name: 'gateway', containerPort: 18789, protocol: 'TCP' }]);
  });

  it('mounts a claim of its own at OPENCLAW_STATE_DIR, and stops within stop.timeout', () => {
    for (const name of ['main', 'rescue']) {
      const set = sts(name);
      const c = container(name);
      const stateDir = c.env.find((e: { name: string }) => e.name === 'OPENCLAW_STATE_DIR').value;
      expect(stateDir).toBe(gateway(name).stateDir);
      expect(c.volumeMounts).toContainEqual({ name: 'state', mountPath: stateDir });
      expect(set.spec.volumeClaimTemplates.map((t: K8sObject) => t.metadata.name)).toContain('state');
      expect(set.spec.template.spec.terminationGracePeriodSeconds).toBe(25);
      expect(set.spec.template.spec.enableServiceLinks).toBe(false);
      expect(c.workingDir).toBe(gateway(name).cwd);
    }
  });

  it('keeps main and rescue on different nodes and under one disruption budget', () => {
    const mainTerm = sts('main').spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0];
    expect(mainTerm.topologyKey).toBe('kubernetes.io/hostname');
    expect(mainTerm.labelSelector.matchLabels['clawfleet.dev/role']).toBe('rescue');
    const rescueTerm = sts('rescue').spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0];
    expect(rescueTerm.topologyKey).toBe('kubernetes.io/hostname');
    // Selects every pod of the fleet, main included.
    expect(Object.entries(rescueTerm.labelSelector.matchLabels).every(([k, v]) => sts('main').spec.template.metadata.labels[k] === v)).toBe(true);

    const pdb = objects().find((o) => o.kind === 'PodDisruptionBudget')!;
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.selector.matchLabels['app.kubernetes.io/name']).toBe('clawfleet');
    for (const name of ['main', 'rescue']) {
      const labels = sts(name).spec.template.metadata.labels;
      expect(Object.entries(pdb.spec.selector.matchLabels).every(([k, v]) => labels[k] === v), name).toBe(true);
    }
  });

  it('has a Service per gateway on its base port', () => {
    const svc = objects().find((o) => o.kind === 'Service' && o.metadata.name === sts('main').spec.serviceName)!;
    expect(svc.spec.ports).toEqual([{ name: 'gateway', port: 18789, targetPort: 'gateway', protocol: 'TCP' }]);
    expect(svc.spec.selector['clawfleet.dev/gateway']).toBe('main');
  });

  it('reads the envFile from a Secret and never writes a secret value', () => {
    const main = container('main');
    expect(main.envFrom).toEqual([{ secretRef: { name: `${objectName('bots', 'main')}-env`, optional: false } }]);
    expect(main.env.map((e: { name: string }) => e.name)).not.toContain('OPENAI_API_KEY');
    const text = allText(exportKubernetes(input).files);
    expect(text).not.toContain(SECRET);
    expect(text).toContain(`kubectl create secret generic bots-main-env --from-env-file=${path.join(dir, 'main.env')}`);
  });

  it('binds `--bind loopback` gateways to lan, where the kubelet probes and the Service reach the pod', () => {
    const result = exportKubernetes(openclaw);
    const objs = [...result.files.values()].flatMap((text) => parseAllDocuments(text).map((d) => d.toJS() as K8sObject | null)).filter((o): o is K8sObject => o !== null);
    for (const g of openclaw.plan.gateways) {
      const set = objs.find((o) => o.kind === 'StatefulSet' && o.metadata.labels?.['clawfleet.dev/gateway'] === g.name)!;
      const c = set.spec.template.spec.containers[0];
      expect(c.args).not.toContain('loopback');
      expect(c.args.slice(c.args.indexOf('--bind'), c.args.indexOf('--bind') + 2)).toEqual(['--bind', 'lan']);
      expect(c.args[c.args.indexOf('--port') + 1]).toBe(String(g.port));
      expect(c.ports).toEqual([{ name: 'gateway', containerPort: g.port, protocol: 'TCP' }]);
      for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) expect(probe.httpGet.port).toBe('gateway');
      const svc = objs.find((o) => o.kind === 'Service' && o.metadata.name === set.spec.serviceName)!;
      expect(svc.spec.ports).toEqual([{ name: 'gateway', port: g.port, targetPort: 'gateway', protocol: 'TCP' }]);
      expect(result.notes.some((n) => n.startsWith(`${g.name}: \`--bind loopback\` is rewritten to \`--bind lan\``) && n.includes('pod IP'))).toBe(true);
      for (const o of objs.filter((x) => x.metadata.name === set.spec.serviceName)) expect(() => validateKubernetes(o)).not.toThrow();
    }
  });

  it('mounts a claim at every path the plan derives, with the derived env, and a Secret for the token (default paths)', () => {
    for (const fleet of [input, openclaw, openclawWithToken]) {
      const objs = [...exportKubernetes(fleet).files.values()].flatMap((text) => parseAllDocuments(text).map((d) => d.toJS() as K8sObject | null));
      for (const g of fleet.plan.gateways) {
        const set = objs.find((o) => o?.kind === 'StatefulSet' && o.metadata.labels?.['clawfleet.dev/gateway'] === g.name)!;
        const c = set.spec.template.spec.containers[0];
        const env = Object.fromEntries(c.env.map((e: { name: string; value: string }) => [e.name, e.value]));
        expect(env).toMatchObject(derivedEnv(g));
        expect(Object.keys(env).sort()).toEqual(Object.keys(exportEnv(g)).sort());
        const claims = set.spec.volumeClaimTemplates.map((t: K8sObject) => t.metadata.name);
        for (const m of c.volumeMounts) expect(claims).toContain(m.name);
        for (const p of persistentPaths(g)) {
          expect(c.volumeMounts.some((m: { mountPath: string }) => isWithin(p, m.mountPath)), `${g.name}: ${p} on no claim`).toBe(true);
        }
      }
    }
    const main = exportKubernetes(openclawWithToken);
    expect(allText(main.files)).not.toContain(GATEWAY_TOKEN);
    expect(allText(main.files)).toContain(`--from-env-file=${path.join(dir, 'token.env')}`);
  });

  it('makes valid, unique object names from any gateway name', () => {
    expect(objectName('bots', 'main')).toBe('bots-main');
    const odd = objectName('Bots.v2', 'My_Gateway');
    expect(odd).toMatch(/^[a-z]([-a-z0-9]*[a-z0-9])?$/);
    expect(odd).not.toBe(objectName('Bots.v2', 'My-Gateway'));
    expect(objectName('9fleet', 'x'.repeat(64)).length).toBeLessThanOrEqual(52);
  });
});

// ------------------------------------------------------------------------------------------------- CLI

describe('clawfleet export (command)', () => {
  it('prints to stdout without -o, with notes on stderr and no secret anywhere', async () => {
    for (const target of ['systemd', 'compose', 'kubernetes']) {
      const { ctx, out, err } = context();
      expect(await runExport(target, { config: 'bots.yaml' }, ctx), err()).toBe(0);
      expect(out().length).toBeGreaterThan(0);
      expect(out() + err()).not.toContain(SECRET);
    }
    const { ctx, out } = context();
    await runExport('kubernetes', { config: 'bots.yaml' }, ctx);
    // One YAML stream, as `kubectl apply -f -` reads it.
    expect(parseAllDocuments(out()).filter((d) => d.contents !== null)).toHaveLength(7);
  });

  it('writes one file per gateway (and the budget) into -o DIR and says what it wrote', async () => {
    const { ctx, out } = context();
    expect(await runExport('kubernetes', { config: 'bots.yaml', output: 'k8s' }, ctx)).toBe(0);
    const files = readdirSync(path.join(dir, 'k8s')).sort();
    expect(files).toEqual(['bots-main.yaml', 'bots-rescue.yaml', 'bots-spare.yaml', 'poddisruptionbudget.yaml']);
    for (const file of files) expect(out()).toContain(`wrote ${path.join(dir, 'k8s', file)}`);

    const sd = context();
    expect(await runExport('systemd', { config: 'bots.yaml', output: 'units' }, sd.ctx)).toBe(0);
    expect(readdirSync(path.join(dir, 'units')).sort()).toEqual(['clawfleet-bots-main.service', 'clawfleet-bots-rescue.service', 'clawfleet-bots-spare.service']);
    expect(sd.out()).toContain('systemctl --user enable --now');
  });

  it('prints the bind rewrite as a note on stderr for the container targets only', async () => {
    for (const target of ['compose', 'kubernetes']) {
      const { ctx, out, err } = context();
      expect(await runExport(target, { config: 'openclaw.yaml' }, ctx), err()).toBe(0);
      expect(err()).toMatch(/^note: main: `--bind loopback` is rewritten to `--bind lan`/m);
      expect(out()).not.toContain('loopback');
    }
    const { ctx, out, err } = context();
    expect(await runExport('systemd', { config: 'openclaw.yaml' }, ctx), err()).toBe(0);
    expect(err()).not.toContain('--bind');
    expect(out()).toContain('--bind loopback');
    expect(err()).toMatch(/^note: exit 78/m);
  });

  it('exits 2 on an unknown target', async () => {
    const { ctx, err } = context();
    expect(await runExport('nomad', { config: 'bots.yaml' }, ctx)).toBe(2);
    expect(err()).toContain('unknown export target "nomad"');
  });

  it('exits 2 on an invalid manifest, with the messages of validate', async () => {
    writeFileSync(path.join(dir, 'bad.yaml'), 'version: 1\ngateways:\n  main:\n    prot: 18789\n');
    const exported = context();
    expect(await runExport('compose', { config: 'bad.yaml' }, exported.ctx)).toBe(2);
    expect(exported.out()).toBe('');
    const validated = context();
    expect(runValidate({ config: 'bad.yaml' }, validated.ctx)).toBe(2);
    expect(exported.err()).toBe(validated.err());
    expect(exported.err()).toContain('prot');
  });
});
