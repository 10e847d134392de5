/**
 * `clawfleet export compose`: one compose file, one service per gateway, with the same isolation as
 * `clawfleet up` (its own environment, env_file, named volumes for its state, its base port published on
 * 127.0.0.1 only), a healthcheck from its liveness (else startup) probe, and its restart and stop policy.
 */
import { stringify } from 'yaml';
import type { GatewayPlan, ProbePlan } from '../plan/types.js';
import { containerArgs, containerNotes, dataDirs, durationText, type ExportInput, type ExportResult, exportEnv, fleetName } from './common.js';

/**
 * The image every service runs, overridable without editing the file. OpenClaw needs Node >= 24, so the
 * placeholder is the Node image: build one FROM it with the gateway's command installed
 * (`npm i -g openclaw`), or point CLAWFLEET_IMAGE at an OpenClaw image.
 */
export const COMPOSE_IMAGE = '${CLAWFLEET_IMAGE:-node:24-bookworm}';

const COMPOSE_FILE = 'compose.yaml';

/** Compose interpolates `$VAR` in every value: a literal `$` is written `$$`. */
function literal(text: string): string {
  return text.replace(/\$/g, '$$$$');
}

/** A compose project name: lowercase letters, digits, `-` and `_`, starting with a letter or digit. */
function projectName(fleet: string): string {
  const name = fleet.toLowerCase().replace(/[^a-z0-9_-]/g, '-').replace(/^[^a-z0-9]+/, '');
  return `clawfleet-${name || 'fleet'}`;
}

/**
 * A health test that needs neither curl nor wget, only the node the gateway runs on: an HTTP GET
 * (2xx/3xx passes, as in `clawfleet up`) or a TCP connect on the base port, or the probe's own argv.
 */
export function healthTest(probe: ProbePlan, port: number): string[] {
  const action = probe.action;
  if (action.type === 'exec') return ['CMD', ...action.argv.map(literal)];
  const timeoutMs = Math.max(probe.timeoutMs, 1);
  const script =
    action.type === 'http'
      ? `fetch(${JSON.stringify(`http://127.0.0.1:${port}${action.path}`)},{signal:AbortSignal.timeout(${timeoutMs})}).then(r=>process.exit(r.status<400?0:1),()=>process.exit(1))`
      : `require('net').connect(${port},'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))`;
  return ['CMD', 'node', '-e', literal(script)];
}

function healthcheck(gateway: GatewayPlan): Record<string, unknown> {
  const probe = gateway.health.liveness ?? gateway.health.startup;
  if (probe === undefined) return { disable: true };
  const check: Record<string, unknown> = {
    test: healthTest(probe, gateway.port),
    interval: durationText(Math.max(probe.intervalMs, 1)),
    timeout: durationText(Math.max(probe.timeoutMs, 1)),
    retries: probe.failureThreshold,
    // Failures during start_period do not count, like clawfleet's startup phase.
    start_period: durationText(gateway.health.startPeriodMs),
  };
  if (gateway.health.startup !== undefined) check.start_interval = durationText(Math.max(gateway.health.startup.intervalMs, 1));
  return check;
}

function volumeName(gateway: GatewayPlan, role: string): string {
  return `${gateway.name}-${role}`;
}

function service(gateway: GatewayPlan, rescues: readonly GatewayPlan[]): Record<string, unknown> {
  const environment: Record<string, string | null> = {};
  for (const [name, value] of Object.entries(exportEnv(gateway))) environment[name] = literal(value);
  // A bare name passes the value of the shell running compose, as inheritEnv does from the supervisor.
  for (const name of gateway.inheritEnv) if (!(name in environment)) environment[name] = null;

  const svc: Record<string, unknown> = {
    image: COMPOSE_IMAGE,
    command: [gateway.command, ...containerArgs(gateway).args].map(literal),
    working_dir: literal(gateway.cwd),
    // tini as PID 1: reaps the gateway's orphans and passes the stop signal on.
    init: true,
    environment,
  };
  if (gateway.envFile !== undefined) svc.env_file = [literal(gateway.envFile)];
  svc.ports = [{ target: gateway.port, published: String(gateway.port), host_ip: '127.0.0.1', protocol: 'tcp' }];
  const volumes = dataDirs(gateway).map(({ role, dir }) => ({ type: 'volume', source: volumeName(gateway, role), target: literal(dir) }));
  if (volumes.length > 0) svc.volumes = volumes;
  svc.healthcheck = healthcheck(gateway);
  svc.restart = gateway.restart.policy === 'never' ? 'no' : gateway.restart.policy;
  svc.stop_signal = gateway.stop.signal;
  svc.stop_grace_period = durationText(gateway.stop.timeoutMs);
  if (gateway.memoryLimitBytes !== undefined) svc.mem_limit = gateway.memoryLimitBytes;
  if (gateway.role === 'main' && rescues.length > 0) {
    // Rescues start first and stop last. Started, not healthy: a broken rescue must not keep a main down;
    // not required, so a main still starts when a rescue is disabled; never the other way round.
    svc.depends_on = Object.fromEntries(rescues.map((r) => [r.name, { condition: 'service_started', required: false }]));
  }
  // Kept but not run by a plain `docker compose up`, as `enabled: false` keeps it in the manifest.
  if (!gateway.enabled) svc.profiles = ['disabled'];
  svc.labels = { 'dev.clawfleet.gateway': gateway.name, 'dev.clawfleet.role': gateway.role };
  return svc;
}

function header(input: ExportInput): string {
  return [
    `# Generated by \`clawfleet export compose\` from ${input.plan.manifestPath}.`,
    `# Image: ${COMPOSE_IMAGE} is a placeholder (OpenClaw needs Node >= 24): set CLAWFLEET_IMAGE to an image that`,
    '# has each service\'s command on its PATH, e.g. one built FROM node:24-bookworm with `npm i -g openclaw`.',
    '# Isolation: each gateway has its own environment, env_file (referenced, never inlined), named volumes for',
    '# its state dir (and workspace) mounted at the planned paths, and its base port published on 127.0.0.1 only.',
    '# Probes: the healthcheck is the liveness probe (else startup), with start_period as the startup grace;',
    '# Docker marks a failing container unhealthy but does not restart it (only an exit triggers `restart:`).',
    '# Rescues never depend on a main; mains depend on rescues only to start after and stop before them.',
    '',
  ].join('\n');
}

/** The compose file of a fleet. */
export function exportCompose(input: ExportInput): ExportResult {
  const fleet = fleetName(input.plan.manifestPath);
  const rescues = input.plan.gateways.filter((g) => g.role === 'rescue');
  const services: Record<string, unknown> = {};
  const volumes: Record<string, Record<string, never>> = {};
  const notes: string[] = [];
  for (const gateway of input.plan.gateways) {
    services[gateway.name] = service(gateway, rescues);
    for (const { role } of dataDirs(gateway)) volumes[volumeName(gateway, role)] = {};
    notes.push(...containerNotes(input, gateway, 'compose'));
  }
  notes.push('Docker restarts with its own backoff (restart.backoff is not exported) and restarts exit 78 too');
  if (input.plan.gateways.some((g) => g.health.liveness !== undefined)) {
    notes.push('Docker does not restart unhealthy containers: a failing liveness probe only marks the container unhealthy');
  }
  const doc = { name: projectName(fleet), services, ...(Object.keys(volumes).length > 0 ? { volumes } : {}) };
  const text = header(input) + stringify(doc, { lineWidth: 0 });
  return { files: new Map([[COMPOSE_FILE, text]]), notes };
}
