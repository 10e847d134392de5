/**
 * From a validated manifest to a fleet plan: defaults merged, OpenClaw's isolation rules applied,
 * templates filled, units parsed, and every conflict between gateways reported. Pure: paths, home
 * and instance configs come in as values.
 */
import path from 'node:path';
import { defaultRuntimeDir } from '../control/locate.js';
import type { GatewaySettings, ProbeSettings, RawManifest } from '../manifest/schema.js';
import { parseDuration, parseSize } from '../util/units.js';
import { COMMAND_DEFAULTS, mergeSettings, OPENCLAW_DEFAULTS, PROBE_DEFAULTS } from './defaults.js';
import { type ExplicitPort, footprintEnd, isDerivedRange, portFootprint } from './footprint.js';
import { findPathConflicts, findPathsInside, type OwnedPath, type PathConflict, PathIndex } from './path-conflicts.js';
import { fillTemplate, resolvePath } from './paths.js';
import { findPortConflicts } from './port-conflicts.js';
import type { FleetPlan, GatewayPlan, HealthPlan, KeyPath, PlanProblem, ProbePlan, RestartPolicy, StopPolicy, SupervisorPlan } from './types.js';

/** What a gateway's own OpenClaw config file says that the plan must respect: ports, cdpUrls, workspace. */
export interface InstanceConfig {
  readonly source: string;
  readonly ports: readonly ExplicitPort[];
  readonly cdpUrls: readonly string[];
  /** `agents.defaults.workspace` as written (OpenClaw prefers it over OPENCLAW_WORKSPACE_DIR). */
  readonly workspace?: string;
}

/** What the planner needs from the world, passed in so planning stays a function of values. */
export interface PlanContext {
  /** Absolute path of the manifest; relative paths in it are relative to its folder. */
  readonly manifestPath: string;
  readonly home: string;
  /** Where per-user state lives (`$XDG_STATE_HOME`, else `~/.local/state`). */
  readonly stateHome: string;
  /** Each instance's OpenClaw config (extra ports, workspace), keyed by config path. */
  readonly instanceConfigs?: ReadonlyMap<string, InstanceConfig>;
}

/** The plan and everything wrong with it; the plan is only safe to run when `problems` is empty. */
export interface PlanResult {
  readonly plan: FleetPlan;
  readonly problems: PlanProblem[];
}

const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024;
const DEFAULT_LOG_MAX_FILES = 5;

export { defaultRuntimeDir };

/** OpenClaw's state dir for a profile: `~/.openclaw` for `default`, else `~/.openclaw-<profile>`. */
export function openclawStateDir(home: string, profile: string): string {
  return `${home}${path.sep}${profile === 'default' ? '.openclaw' : `.openclaw-${profile}`}`;
}

/**
 * OpenClaw's default workspace for a state dir: `<stateDir>/workspace`, which is what 2026.9.x uses
 * when OPENCLAW_STATE_DIR is set (so `~/.openclaw/workspace` for profile `default`). A config's
 * `agents.defaults.workspace` wins over it.
 */
export function openclawWorkspace(stateDir: string): string {
  return `${stateDir}${path.sep}workspace`;
}

class Problems {
  readonly list: PlanProblem[] = [];
  private readonly seen = new Set<string>();
  add(path: KeyPath, message: string): void {
    this.list.push({ path, message });
  }
  /** Adds a problem unless the same one is listed already (one in `defaults` found through many gateways). */
  addOnce(path: KeyPath, message: string): void {
    const key = `${path.join('\0')}\0${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.add(path, message);
  }
}

function ms(text: string | undefined, fallback: string): number {
  return parseDuration(text ?? fallback) ?? parseDuration(fallback)!;
}

function planProbe(settings: ProbeSettings | false | undefined): ProbePlan | undefined {
  if (settings === false || settings === undefined) return undefined;
  const action: ProbePlan['action'] =
    settings.exec !== undefined
      ? { type: 'exec', argv: settings.exec }
      : settings.http !== undefined
        ? { type: 'http', path: settings.http }
        : { type: 'tcp' };
  return {
    action,
    intervalMs: ms(settings.interval, PROBE_DEFAULTS.interval),
    timeoutMs: ms(settings.timeout, PROBE_DEFAULTS.timeout),
    failureThreshold: settings.failureThreshold ?? PROBE_DEFAULTS.failureThreshold,
    successThreshold: settings.successThreshold ?? PROBE_DEFAULTS.successThreshold,
  };
}

function planHealth(settings: GatewaySettings['health']): HealthPlan {
  const health: HealthPlan = { startPeriodMs: ms(settings?.startPeriod, '60s') };
  const given = settings?.startup === false ? undefined : settings?.startup;
  const planned = planProbe(given);
  // Unless given, a startup probe may fail for the whole startPeriod: the count follows from the period.
  const startup =
    planned && given?.failureThreshold === undefined
      ? { ...planned, failureThreshold: Math.max(1, Math.ceil(health.startPeriodMs / Math.max(1, planned.intervalMs))) }
      : planned;
  const liveness = planProbe(settings?.liveness);
  const readiness = planProbe(settings?.readiness);
  return {
    ...health,
    ...(startup && { startup }),
    ...(liveness && { liveness }),
    ...(readiness && { readiness }),
  };
}

function stringifyEnv(env: GatewaySettings['env']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env ?? {})) out[key] = String(value);
  return out;
}

const NO_EXPLICIT_PORTS = { ports: [] as ExplicitPort[], cdpUrls: [] as string[] };
const NO_URLS: readonly string[] = Object.freeze([]);
const NO_ENV: Readonly<Record<string, string>> = Object.freeze({});

/** Ports the manifest names explicitly for a gateway's browser and canvas host. */
function manifestExplicitPorts(settings: GatewaySettings): { ports: ExplicitPort[]; cdpUrls: string[] } {
  const ports: ExplicitPort[] = [];
  const cdpUrls: string[] = [];
  const browser = settings.browser;
  if (browser?.controlPort !== undefined) ports.push({ port: browser.controlPort, label: 'browser.controlPort' });
  if (settings.canvasHost?.port !== undefined) ports.push({ port: settings.canvasHost.port, label: 'canvasHost.port' });
  if (browser?.cdpUrl !== undefined) cdpUrls.push(browser.cdpUrl);
  for (const [name, profile] of Object.entries(browser?.profiles ?? {})) {
    if (profile.cdpPort !== undefined) ports.push({ port: profile.cdpPort, label: `browser.profiles.${name}.cdpPort` });
    if (profile.cdpUrl !== undefined) cdpUrls.push(profile.cdpUrl);
  }
  return { ports, cdpUrls };
}

/** The local port a cdpUrl points at, when it points at this host. */
export function localCdpPort(url: string): number | undefined {
  try {
    const parsed = new URL(url);
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    if (!['localhost', '127.0.0.1', '::1', '0.0.0.0', '::'].includes(host) && !host.startsWith('127.')) return undefined;
    const port = parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' || parsed.protocol === 'wss:' ? 443 : 80;
    return port;
  } catch {
    return undefined;
  }
}

function normaliseCdpUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.hostname.replace(/^localhost$/, '127.0.0.1')}:${parsed.port}`;
  } catch {
    return url;
  }
}

function planSupervisor(raw: RawManifest, ctx: PlanContext, problems: Problems): SupervisorPlan {
  const baseDir = path.dirname(ctx.manifestPath);
  const settings = raw.supervisor ?? {};
  const runtimeDir = settings.runtimeDir
    ? resolvePath(settings.runtimeDir, ctx.home, baseDir)
    : defaultRuntimeDir(ctx.manifestPath, ctx.stateHome);
  let logDir = path.join(runtimeDir, 'logs');
  if (settings.logs?.dir !== undefined) {
    const filled = fillTemplate(settings.logs.dir, { runtimeDir });
    if (filled.ok) logDir = resolvePath(filled.value, ctx.home, baseDir);
    else problems.add(['supervisor', 'logs', 'dir'], filled.message);
  }
  if (settings.metrics !== undefined && !isLoopbackAddress(settings.metrics)) {
    problems.add(['supervisor', 'metrics'], `the metrics listener must be a loopback address such as 127.0.0.1:9464, not "${settings.metrics}"`);
  }
  return {
    runtimeDir,
    logDir,
    logMaxBytes: settings.logs?.maxSize ? (parseSize(settings.logs.maxSize) ?? DEFAULT_LOG_MAX_BYTES) : DEFAULT_LOG_MAX_BYTES,
    logMaxFiles: settings.logs?.maxFiles ?? DEFAULT_LOG_MAX_FILES,
    metrics: settings.metrics,
    sampleIntervalMs: ms(settings.sampleInterval, '10s'),
    onStateChange: settings.hooks?.onStateChange,
  };
}

function isLoopbackAddress(address: string): boolean {
  const match = /^(.*):(\d+)$/.exec(address);
  if (!match) return false;
  const host = match[1]!.replace(/^\[|\]$/g, '');
  const port = Number(match[2]);
  return port >= 1 && port <= 65535 && (host === 'localhost' || host === '::1' || host.startsWith('127.'));
}

interface PlannedGateway {
  readonly plan: GatewayPlan;
  readonly explicitPorts: ExplicitPort[];
}

/** What every gateway of a kind starts from: built-in defaults under the manifest's `defaults`, planned once. */
interface KindBase {
  readonly settings: GatewaySettings;
  readonly health: HealthPlan;
  readonly restart: RestartPolicy;
  readonly stop: StopPolicy;
}

function kindBase(kind: 'openclaw' | 'command', raw: RawManifest): KindBase {
  const settings = mergeSettings<GatewaySettings>(kind === 'openclaw' ? OPENCLAW_DEFAULTS : COMMAND_DEFAULTS, raw.defaults);
  return { settings, health: planHealth(settings.health), restart: planRestart(settings.restart), stop: planStop(settings.stop) };
}

function planRestart(settings: GatewaySettings['restart']): RestartPolicy {
  const backoff = settings?.backoff;
  return {
    policy: settings?.policy ?? 'always',
    initialMs: ms(backoff?.initial, '100ms'),
    maxMs: ms(backoff?.max, '30s'),
    factor: backoff?.factor ?? 2,
    jitter: backoff?.jitter ?? 0.2,
    resetAfterMs: ms(settings?.resetAfter, '60s'),
  };
}

function planStop(settings: GatewaySettings['stop']): StopPolicy {
  return { signal: (settings?.signal ?? 'SIGTERM') as NodeJS.Signals, timeoutMs: ms(settings?.timeout, '10s') };
}

const PROFILE_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/i;

function deep<T>(under: T | undefined, over: T | undefined): T | undefined {
  if (over === undefined) return under;
  if (under === undefined) return over;
  return mergeSettings(under as Record<string, unknown>, over as Record<string, unknown>) as T;
}

/**
 * A gateway's settings over its kind's base, written as one object literal: a fixed shape keeps a
 * fleet of 100 000 cheap to plan, where a generic keyed merge was the largest cost.
 */
function overlay(base: GatewaySettings, own: GatewaySettings): GatewaySettings {
  return {
    kind: own.kind ?? base.kind,
    command: own.command ?? base.command,
    args: own.args ?? base.args,
    port: own.port ?? base.port,
    role: own.role ?? base.role,
    profile: own.profile ?? base.profile,
    stateDir: own.stateDir ?? base.stateDir,
    configPath: own.configPath ?? base.configPath,
    workspace: own.workspace ?? base.workspace,
    cwd: own.cwd ?? base.cwd,
    env: deep(base.env, own.env),
    envFile: own.envFile ?? base.envFile,
    inheritEnv: own.inheritEnv ?? base.inheritEnv,
    health: deep(base.health, own.health),
    restart: deep(base.restart, own.restart),
    stop: deep(base.stop, own.stop),
    limits: deep(base.limits, own.limits),
    schedule: deep(base.schedule, own.schedule),
    browser: deep(base.browser, own.browser),
    canvasHost: deep(base.canvasHost, own.canvasHost),
    enabled: own.enabled ?? base.enabled,
  };
}

/**
 * The instance config's `agents.defaults.workspace`, resolved the way OpenClaw resolves it: `~` against
 * home, a relative path against its working dir. A value with `${VAR}` is substituted by OpenClaw from
 * an environment the planner does not see, so it is left out.
 */
function configuredWorkspace(instance: InstanceConfig | undefined, home: string, cwd: string): string | undefined {
  const written = instance?.workspace;
  return written !== undefined && !written.includes('${') ? resolvePath(written, home, cwd) : undefined;
}

function planGateway(
  name: string,
  own: GatewaySettings,
  raw: RawManifest,
  bases: Readonly<Record<'openclaw' | 'command', KindBase>>,
  supervisor: SupervisorPlan,
  ctx: PlanContext & { baseDir: string },
  problems: Problems,
): PlannedGateway | undefined {
  const baseDir = ctx.baseDir;
  const at = (key?: string | number, index?: number): KeyPath =>
    key === undefined ? ['gateways', name] : index === undefined ? ['gateways', name, key] : ['gateways', name, key, index];
  const kind = own.kind ?? raw.defaults?.kind ?? 'openclaw';
  const base = bases[kind];
  const settings = overlay(base.settings, own);
  if ((own.command ?? raw.defaults?.command) === undefined && kind === 'command') {
    problems.add(at(), `gateway "${name}" of kind "command" needs a "command" to run`);
    return undefined;
  }
  if (settings.port === undefined) {
    problems.add(at(), `gateway "${name}" needs a "port" (its base port)`);
    return undefined;
  }
  const port = settings.port;
  const profile = kind === 'openclaw' ? (settings.profile ?? name) : settings.profile;
  if (kind === 'openclaw' && settings.profile === undefined && !PROFILE_RE.test(name)) {
    problems.add(at(), `gateway name "${name}" is not a valid OpenClaw profile; set "profile"`);
  }

  const pathValues = { name, profile, runtimeDir: supervisor.runtimeDir, home: ctx.home, port: String(port) };
  const resolveSetting = (key: 'stateDir' | 'configPath' | 'workspace' | 'cwd', fallback: string | undefined): string | undefined => {
    const given = settings[key];
    if (given === undefined) return fallback;
    const filled = fillTemplate(given, pathValues);
    if (!filled.ok) {
      problems.add(at(key), filled.message);
      return fallback;
    }
    return resolvePath(filled.value, ctx.home, baseDir);
  };

  const openclawProfile = profile ?? name;
  const stateDir = resolveSetting('stateDir', kind === 'openclaw' ? openclawStateDir(ctx.home, openclawProfile) : undefined);
  const configPath = resolveSetting(
    'configPath',
    kind === 'openclaw' && stateDir !== undefined ? `${stateDir}${path.sep}openclaw.json` : undefined,
  );
  const cwd = resolveSetting('cwd', `${supervisor.runtimeDir}${path.sep}gateways${path.sep}${name}`)!;
  const instance = configPath !== undefined ? ctx.instanceConfigs?.get(configPath) : undefined;
  // The manifest's workspace, else the config's, else OpenClaw's own default. Inside OpenClaw the config's
  // value beats OPENCLAW_WORKSPACE_DIR, so a manifest workspace it contradicts would drift: an error.
  const configured = configuredWorkspace(instance, ctx.home, cwd);
  const workspace =
    settings.workspace !== undefined
      ? resolveSetting('workspace', configured)
      : (configured ?? (kind === 'openclaw' && stateDir !== undefined ? openclawWorkspace(stateDir) : undefined));
  if (settings.workspace !== undefined && configured !== undefined && workspace !== configured) {
    problems.add(
      own.workspace !== undefined ? at('workspace') : at(),
      `its OpenClaw config ${instance!.source} sets agents.defaults.workspace to ${configured}, which OpenClaw uses instead of the planned workspace ${workspace}${own.workspace !== undefined ? '' : ' (from defaults.workspace)'}; remove one of them or make them agree`,
    );
  }

  for (const probe of ['startup', 'liveness'] as const) {
    const given = settings.health?.[probe];
    if (given && given.successThreshold !== undefined && given.successThreshold !== 1) {
      problems.addOnce(
        own.health?.[probe] && (own.health[probe] as { successThreshold?: number }).successThreshold !== undefined ? ['gateways', name, 'health', probe, 'successThreshold'] : ['defaults', 'health', probe, 'successThreshold'],
        `successThreshold must be 1 for the ${probe} probe (one passing ${probe} probe is enough, as in Kubernetes); it applies to readiness`,
      );
    }
  }

  if (kind === 'openclaw' && settings.stop?.signal === 'SIGUSR2') {
    problems.addOnce(
      own.stop?.signal !== undefined ? ['gateways', name, 'stop', 'signal'] : ['defaults', 'stop', 'signal'],
      'stop.signal SIGUSR2 is refused for kind "openclaw": it makes OpenClaw restart in place, so a stop would never stop it and would end in SIGKILL; use SIGTERM or SIGINT',
    );
  }

  const argValues = { name, profile, runtimeDir: supervisor.runtimeDir, home: ctx.home, port: pathValues.port, stateDir, configPath, workspace, cwd };
  const args: string[] = [];
  (settings.args ?? []).forEach((arg, index) => {
    const filled = fillTemplate(arg, argValues);
    if (filled.ok) args.push(filled.value);
    else problems.add(own.args ? at('args', index) : raw.defaults?.args ? ['defaults', 'args', index] : at(), filled.message);
  });

  const manifestPorts = settings.browser || settings.canvasHost ? manifestExplicitPorts(settings) : NO_EXPLICIT_PORTS;
  const explicitPorts = [...manifestPorts.ports, ...(instance?.ports ?? []).map((p) => ({ port: p.port, label: `${p.label} in ${instance!.source}` }))];
  const cdpUrls = instance || manifestPorts.cdpUrls.length ? [...manifestPorts.cdpUrls, ...(instance?.cdpUrls ?? [])] : NO_URLS;
  for (const url of cdpUrls) {
    const local = localCdpPort(url);
    if (local !== undefined) explicitPorts.push({ port: local, label: `cdpUrl ${url}` });
  }
  const footprint = portFootprint(kind, port, explicitPorts);
  const end = footprintEnd(footprint);
  if (end > 65535) {
    problems.add(at('port'), `gateway "${name}" reserves ports ${port}..${end}, past 65535; use a base port of at most ${65535 - (end - port)}`);
  }

  const plan: GatewayPlan = {
    name,
    kind,
    role: settings.role ?? 'main',
    enabled: settings.enabled ?? true,
    profile,
    command: settings.command ?? 'openclaw',
    args,
    port,
    stateDir,
    configPath,
    workspace,
    cwd,
    footprint,
    env: settings.env ? stringifyEnv(settings.env) : NO_ENV,
    envFile: settings.envFile !== undefined ? resolvePath(settings.envFile, ctx.home, baseDir) : undefined,
    inheritEnv: settings.inheritEnv ?? [],
    // Gateways that do not override these share the plans of their kind: immutable, and planned once.
    health: own.health ? planHealth(settings.health) : base.health,
    restart: own.restart ? planRestart(settings.restart) : base.restart,
    stop: own.stop ? planStop(settings.stop) : base.stop,
    memoryLimitBytes: settings.limits?.memory !== undefined ? parseSize(settings.limits.memory) : undefined,
    restartSchedule: settings.schedule?.restart,
    cdpUrls,
  };
  return { plan, explicitPorts };
}

function checkProfiles(gateways: readonly GatewayPlan[], problems: Problems): void {
  const seen = new Map<string, string>();
  for (const gateway of gateways) {
    if (gateway.kind !== 'openclaw' || gateway.profile === undefined) continue;
    const key = gateway.profile.toLowerCase();
    const other = seen.get(key);
    if (other !== undefined) {
      problems.add(['gateways', gateway.name, 'profile'], `gateways "${other}" and "${gateway.name}" both use OpenClaw profile "${gateway.profile}" (profiles are case-insensitive); give each its own`);
    } else seen.set(key, gateway.name);
  }
}

type PathKey = 'stateDir' | 'configPath' | 'workspace' | 'cwd';

const PATH_NOUNS: Readonly<Record<PathKey, string>> = { stateDir: 'state dir', configPath: 'config path', workspace: 'workspace', cwd: 'working dir' };

function checkPaths(gateways: readonly GatewayPlan[], problems: Problems): void {
  const collect = (key: PathKey): PathIndex => {
    const paths: OwnedPath[] = [];
    for (const g of gateways) if (g[key] !== undefined) paths.push({ gateway: g.name, path: g[key] });
    return new PathIndex(paths);
  };
  const owned: Record<PathKey, PathIndex> = { stateDir: collect('stateDir'), configPath: collect('configPath'), workspace: collect('workspace'), cwd: collect('cwd') };
  // A working dir only conflicts when equal: OpenClaw reads `.env` from it, not from its parents.
  const kinds: Array<{ key: PathKey; nesting: boolean }> = [
    { key: 'stateDir', nesting: true },
    { key: 'configPath', nesting: false },
    { key: 'workspace', nesting: true },
    { key: 'cwd', nesting: false },
  ];
  for (const { key, nesting } of kinds) {
    const noun = PATH_NOUNS[key];
    for (const conflict of findPathConflicts(owned[key], nesting)) {
      const message = conflict.same
        ? `gateways "${conflict.outer.gateway}" and "${conflict.inner.gateway}" share the ${noun} ${conflict.inner.path}; each gateway needs its own${key === 'cwd' ? ' (OpenClaw reads .env from it)' : ''}`
        : `the ${noun} of "${conflict.inner.gateway}" (${conflict.inner.path}) lies inside the ${noun} of "${conflict.outer.gateway}" (${conflict.outer.path}); they must not nest`;
      problems.add(['gateways', conflict.inner.gateway, key], message);
    }
  }
  // Across kinds: nothing of one gateway in another's state dir, and no state dir in another's workspace
  // or working dir. The second direction skips equal paths, which the first reports already.
  const across: Array<{ outer: PathKey; inner: PathKey; same: boolean }> = [
    { outer: 'stateDir', inner: 'workspace', same: true },
    { outer: 'stateDir', inner: 'cwd', same: true },
    { outer: 'workspace', inner: 'stateDir', same: false },
    { outer: 'cwd', inner: 'stateDir', same: false },
  ];
  for (const { outer, inner, same } of across) {
    for (const conflict of findPathsInside(owned[outer], owned[inner], same)) {
      problems.add(['gateways', conflict.inner.gateway, inner], acrossMessage(conflict, PATH_NOUNS[outer], PATH_NOUNS[inner]));
    }
  }
}

function acrossMessage(conflict: PathConflict, outerNoun: string, innerNoun: string): string {
  const { outer, inner } = conflict;
  const where = conflict.same ? `is the ${outerNoun} of "${outer.gateway}"` : `lies inside the ${outerNoun} of "${outer.gateway}" (${outer.path})`;
  return `the ${innerNoun} of "${inner.gateway}" (${inner.path}) ${where}; keep each gateway's ${innerNoun} out of other gateways' ${outerNoun}s`;
}

function checkPorts(gateways: readonly GatewayPlan[], problems: Problems): void {
  const conflicts = findPortConflicts(gateways.map((g) => ({ gateway: g.name, footprint: g.footprint })));
  const byName = conflicts.length > 0 ? new Map(gateways.map((g) => [g.name, g])) : undefined;
  for (const c of conflicts) {
    const ranges = `${c.first}: ${c.firstRange.label}; ${c.second}: ${c.secondRange.label}`;
    const firstUrls = localCdpUrlsAt(byName!.get(c.first)!, c.port);
    const secondUrls = localCdpUrlsAt(byName!.get(c.second)!, c.port);
    if (firstUrls.length > 0 && secondUrls.length > 0) {
      // One browser for two gateways: the same cdpUrl is reported below; different spellings of it here.
      if (!firstUrls.some((url) => secondUrls.includes(url))) {
        problems.add(['gateways', c.second, 'browser'], `gateways "${c.first}" and "${c.second}" both point a browser cdpUrl at port ${c.port} (${ranges}); ${SHARED_BROWSER_FIX}`);
      }
      continue;
    }
    const explicit = [c.secondRange, c.firstRange].find((range) => !isDerivedRange(range));
    const fix = explicit === undefined ? 'OpenClaw gateways need base ports at least 120 apart' : `move ${explicit.label} to a port outside the other gateway's footprint`;
    problems.add(['gateways', c.second, 'port'], `gateways "${c.first}" and "${c.second}" both reserve port ${c.port} (${ranges}); ${fix}`);
  }
  const urls = new Map<string, string>();
  for (const gateway of gateways) {
    for (const url of new Set(gateway.cdpUrls.map(normaliseCdpUrl))) {
      const other = urls.get(url);
      if (other !== undefined && other !== gateway.name) {
        problems.add(['gateways', gateway.name, 'browser'], `gateways "${other}" and "${gateway.name}" both use the browser cdpUrl ${url}; ${SHARED_BROWSER_FIX}`);
      } else urls.set(url, gateway.name);
    }
  }
}

const SHARED_BROWSER_FIX = 'two gateways must never drive one browser: give each its own cdpUrl, on a port no other gateway reserves';

/** The gateway's cdpUrls that point at `port` on this host, normalised. */
function localCdpUrlsAt(gateway: GatewayPlan, port: number): string[] {
  return gateway.cdpUrls.length === 0 ? [] : gateway.cdpUrls.filter((url) => localCdpPort(url) === port).map(normaliseCdpUrl);
}

/** Resolves every gateway of a schema-valid manifest and checks the fleet for collisions. */
export function planFleet(raw: RawManifest, ctx: PlanContext): PlanResult {
  const problems = new Problems();
  const supervisor = planSupervisor(raw, ctx, problems);
  const gateways: GatewayPlan[] = [];
  const bases = { openclaw: kindBase('openclaw', raw), command: kindBase('command', raw) };
  const gatewayCtx = { ...ctx, baseDir: path.dirname(ctx.manifestPath) };
  for (const [name, own] of Object.entries(raw.gateways)) {
    const planned = planGateway(name, own ?? {}, raw, bases, supervisor, gatewayCtx, problems);
    if (planned) gateways.push(planned.plan);
  }
  const running = gateways.filter((g) => g.enabled);
  checkProfiles(running, problems);
  checkPaths(running, problems);
  checkPorts(running, problems);
  return { plan: { manifestPath: ctx.manifestPath, supervisor, gateways }, problems: problems.list };
}
