/** `status`, `start`, `stop`, `restart`, `reload`: ask the running supervisor of a manifest. */
import path from 'node:path';
import { request } from '../control/client.js';
import { locateSocket } from '../control/locate.js';
import { type ControlRequest, type ControlResponse, SOCKET_NAME, type StatusReport } from '../control/protocol.js';
import type { GatewayStatus } from '../supervisor/supervisor.js';
import { formatDuration, formatSize } from '../util/units.js';
import { type CliContext, EXIT, loadContext, manifestFile } from './context.js';

/** Operator commands wait for gateways to stop, start or roll; a real OpenClaw fleet may take minutes. */
const ACTION_TIMEOUT_MS = 30 * 60_000;
const STATUS_TIMEOUT_MS = 10_000;

async function ask(config: string | undefined, req: ControlRequest, timeoutMs: number, ctx: CliContext): Promise<ControlResponse | number> {
  const file = manifestFile(config, ctx);
  const manifestPath = path.resolve(ctx.cwd, file);
  const lc = loadContext(ctx);
  const socket = locateSocket(manifestPath, lc.stateHome);
  let answer = await request(socket, req, timeoutMs);
  if (!answer.ok && answer.error.kind === 'no-supervisor') {
    // The pointer to a runtime dir the manifest names lives under the supervisor's state home, which a
    // CLI run with another HOME or XDG_STATE_HOME (sudo, a service) does not see: read the manifest.
    const { loadManifest } = await import('../manifest/load.js');
    const loaded = loadManifest(file, lc);
    const named = loaded.ok ? path.join(loaded.manifest.plan.supervisor.runtimeDir, SOCKET_NAME) : undefined;
    if (named !== undefined && named !== socket) answer = await request(named, req, timeoutMs);
  }
  if (!answer.ok) {
    if (answer.error.kind === 'no-supervisor') {
      ctx.stderr(`no supervisor is running for ${file} (start one with \`clawfleet up -c ${file}\`)\n`);
      return EXIT.supervisor;
    }
    ctx.stderr(`the supervisor for ${file} did not answer: ${answer.error.detail}\n`);
    return EXIT.failure;
  }
  if (!answer.response.ok) {
    ctx.stderr(`${answer.response.error}\n`);
    return answer.response.code;
  }
  return answer.response;
}

function cell(value: string | number | null | undefined): string {
  return value === null || value === undefined || value === '' ? '-' : String(value);
}

function lastExitText(g: GatewayStatus): string {
  if (!g.lastExit) return '-';
  return g.lastExit.signal ? g.lastExit.signal : `code ${g.lastExit.code}`;
}

function portsText(g: GatewayStatus): string {
  const first = g.ports.reserved[0];
  const last = g.ports.reserved[g.ports.reserved.length - 1];
  return first && last ? `${g.ports.base} (${first[0]}-${last[1]})` : String(g.ports.base);
}

/** The status table people read. */
export function statusTable(report: StatusReport): string {
  const header = ['NAME', 'ROLE', 'STATE', 'PID', 'UPTIME', 'RESTARTS', 'LAST EXIT', 'LIVE/READY', 'CPU', 'MEM', 'PORTS'];
  const rows = report.gateways.map((g) => [
    g.name,
    g.role,
    g.state,
    cell(g.pid),
    g.uptimeMs !== null ? formatDuration(g.uptimeMs) : '-',
    String(g.restarts),
    lastExitText(g),
    `${g.health.live ? 'yes' : 'no'}/${g.health.ready ? 'yes' : 'no'}`,
    g.cpu !== null ? `${g.cpu.toFixed(1)}%` : '-',
    g.memoryBytes !== null ? formatSize(g.memoryBytes) : '-',
    portsText(g),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [line(header), ...rows.map(line)];
  for (const g of report.gateways) {
    if (g.reason && g.state !== 'ready') out.push(`  ${g.name}: ${g.reason}${g.nextRetryAt ? ` (next try ${g.nextRetryAt})` : ''}`);
  }
  const m = report.manifest;
  if (m.error) out.push(`manifest: last edit rejected (${m.error.trigger}, ${m.error.at}); running on the last good manifest:`, ...m.error.problems.map((p) => `  ${p}`));
  if (m.rollout.state === 'stopped') out.push(`rollout stopped: ${m.rollout.reason}`);
  if (m.rollout.state === 'rolling') out.push('rollout in progress');
  return `${out.join('\n')}\n`;
}

/** Runs `status`. */
export async function runStatus(options: { config?: string; json?: boolean }, ctx: CliContext): Promise<number> {
  const answer = await ask(options.config, { cmd: 'status' }, STATUS_TIMEOUT_MS, ctx);
  if (typeof answer === 'number') return answer;
  if (!('status' in answer)) return EXIT.failure;
  ctx.stdout(options.json ? `${JSON.stringify(answer.status, null, 2)}\n` : statusTable(answer.status));
  return EXIT.ok;
}

/** Runs `start`, `stop` or `restart`. */
export async function runAction(
  cmd: 'start' | 'stop' | 'restart',
  names: string[],
  options: { config?: string; all?: boolean; force?: boolean },
  ctx: CliContext,
): Promise<number> {
  if (names.length === 0 && !options.all) {
    ctx.stderr(`name the gateways to ${cmd}, or use --all\n`);
    return EXIT.invalid;
  }
  const req: ControlRequest =
    cmd === 'stop' ? { cmd, names, all: Boolean(options.all), force: Boolean(options.force) } : { cmd, names, all: Boolean(options.all) };
  const answer = await ask(options.config, req, ACTION_TIMEOUT_MS, ctx);
  if (typeof answer === 'number') return answer;
  if (!('outcomes' in answer)) return EXIT.failure;
  for (const o of answer.outcomes) (o.ok ? ctx.stdout : ctx.stderr)(`${o.name}: ${o.message}\n`);
  return answer.outcomes.every((o) => o.ok) ? EXIT.ok : EXIT.failure;
}

/** Runs `reload`. */
export async function runReload(options: { config?: string }, ctx: CliContext): Promise<number> {
  const answer = await ask(options.config, { cmd: 'reload' }, ACTION_TIMEOUT_MS, ctx);
  if (typeof answer === 'number') return answer;
  if (!('reload' in answer)) return EXIT.failure;
  if (!answer.reload.accepted) {
    for (const p of answer.reload.problems) ctx.stderr(`${p}\n`);
    ctx.stderr('the manifest was not applied; the fleet keeps running on the last good one\n');
    return EXIT.invalid;
  }
  ctx.stdout(`manifest accepted: ${answer.reload.changes} change${answer.reload.changes === 1 ? '' : 's'} to roll out (see \`clawfleet status\`)\n`);
  return EXIT.ok;
}
