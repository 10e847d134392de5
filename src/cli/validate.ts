/** `clawfleet validate`: the resolved plan of every gateway, or every problem of the manifest. */
import { loadManifest, type LoadedManifest } from '../manifest/load.js';
import { buildGatewayEnv, maskEnv } from '../plan/environment.js';
import { compactRanges, footprintSize } from '../plan/footprint.js';
import type { GatewayPlan, ProbePlan } from '../plan/types.js';
import { formatDuration, formatSize } from '../util/units.js';
import { type CliContext, EXIT, loadContext, manifestFile } from './context.js';
import { reportProblems } from './report.js';

function probeText(probe: ProbePlan | undefined): string {
  if (!probe) return 'off';
  const what = probe.action.type === 'http' ? `GET ${probe.action.path}` : probe.action.type === 'tcp' ? 'tcp connect' : `exec ${probe.action.argv.join(' ')}`;
  return `${what} every ${formatDuration(probe.intervalMs)}, timeout ${formatDuration(probe.timeoutMs)}, ${probe.failureThreshold} failure${probe.failureThreshold === 1 ? '' : 's'}`;
}

/** The port ranges of a footprint as text: `18789, 18791-18793, 18799-18899`. */
export function rangesText(gateway: GatewayPlan): string {
  return compactRanges(gateway.footprint)
    .map(([from, to]) => (from === to ? `${from}` : `${from}-${to}`))
    .join(', ');
}

function gatewayText(gateway: GatewayPlan): string {
  const rows: Array<[string, string | undefined]> = [
    ['profile', gateway.profile],
    ['state dir', gateway.stateDir],
    ['config', gateway.configPath],
    ['workspace', gateway.workspace],
    ['working dir', gateway.cwd],
    ['command', [gateway.command, ...gateway.args].join(' ')],
    ['base port', String(gateway.port)],
    ['reserved', `${rangesText(gateway)} (${footprintSize(gateway.footprint)} ports)`],
    ['startup', probeText(gateway.health.startup)],
    ['liveness', probeText(gateway.health.liveness)],
    ['readiness', probeText(gateway.health.readiness)],
    ['restart', `${gateway.restart.policy}, backoff ${formatDuration(gateway.restart.initialMs)}..${formatDuration(gateway.restart.maxMs)}`],
    ['stop', `${gateway.stop.signal}, then SIGKILL after ${formatDuration(gateway.stop.timeoutMs)}`],
    ['memory limit', gateway.memoryLimitBytes !== undefined ? formatSize(gateway.memoryLimitBytes) : undefined],
    ['schedule', gateway.restartSchedule],
    ['env file', gateway.envFile],
  ];
  const head = `${gateway.name} (${gateway.role}, ${gateway.kind}${gateway.enabled ? '' : ', disabled'})`;
  const body = rows
    .filter((row): row is [string, string] => row[1] !== undefined)
    .map(([key, value]) => `  ${key.padEnd(12)} ${value}`);
  return [head, ...body].join('\n');
}

/** The plan as JSON, with each gateway's start environment (secrets masked). */
export function planJson(manifest: LoadedManifest, env: CliContext['env']): unknown {
  const { plan } = manifest;
  return {
    valid: true,
    manifest: plan.manifestPath,
    supervisor: plan.supervisor,
    gateways: plan.gateways.map((gateway) => {
      const fileValues = gateway.envFile ? (manifest.envFiles.get(gateway.envFile) ?? {}) : {};
      const startEnv = buildGatewayEnv(gateway, env, fileValues);
      return {
        ...gateway,
        footprint: { base: gateway.footprint.base, reserved: compactRanges(gateway.footprint), ranges: gateway.footprint.ranges },
        env: maskEnv(gateway.env),
        startEnv: maskEnv(startEnv, new Set(Object.keys(fileValues))),
      };
    }),
  };
}

/** Runs `validate`; returns the exit code. */
export function runValidate(options: { config?: string; json?: boolean }, ctx: CliContext): number {
  const file = manifestFile(options.config, ctx);
  const result = loadManifest(file, loadContext(ctx));
  if (!result.ok) {
    if (options.json) ctx.stdout(`${JSON.stringify({ valid: false, problems: result.problems }, null, 2)}\n`);
    reportProblems(result.problems, ctx);
    return EXIT.invalid;
  }
  if (options.json) {
    ctx.stdout(`${JSON.stringify(planJson(result.manifest, ctx.env), null, 2)}\n`);
    return EXIT.ok;
  }
  const { plan } = result.manifest;
  const lines = [
    `${file}: valid, ${plan.gateways.length} gateway${plan.gateways.length === 1 ? '' : 's'}`,
    `runtime dir  ${plan.supervisor.runtimeDir}`,
    '',
    ...plan.gateways.map((g) => `${gatewayText(g)}\n`),
  ];
  ctx.stdout(`${lines.join('\n')}`);
  return EXIT.ok;
}
