/** `clawfleet ports`: the fleet's port map and which reserved ports something already listens on. */
import { canReadListeners, type Listener, readListeners } from '../host/listeners.js';
import { loadManifest } from '../manifest/load.js';
import type { GatewayPlan, PortRange } from '../plan/types.js';
import { type CliContext, EXIT, loadContext, manifestFile } from './context.js';
import { reportProblems } from './report.js';

/** A reserved port that is in use on the host right now. */
export interface BusyPort {
  readonly gateway: string;
  readonly range: PortRange;
  readonly listener: Listener;
}

/** Matches host listeners against the footprints of the fleet. */
export function busyPorts(gateways: readonly GatewayPlan[], listeners: readonly Listener[]): BusyPort[] {
  const busy: BusyPort[] = [];
  const byPort = new Map<number, Listener>();
  for (const l of listeners) if (!byPort.has(l.port)) byPort.set(l.port, l);
  const sortedPorts = [...byPort.keys()].sort((a, b) => a - b);
  for (const gateway of gateways) {
    for (const range of gateway.footprint.ranges) {
      for (const port of sortedPorts) {
        if (port < range.from) continue;
        if (port > range.to) break;
        busy.push({ gateway: gateway.name, range, listener: byPort.get(port)! });
      }
    }
  }
  return busy;
}

function rangeText(range: PortRange): string {
  return range.from === range.to ? String(range.from) : `${range.from}-${range.to}`;
}

/** Runs `ports`; returns the exit code. */
export function runPorts(options: { config?: string; json?: boolean }, ctx: CliContext): number {
  const file = manifestFile(options.config, ctx);
  const result = loadManifest(file, loadContext(ctx));
  if (!result.ok) {
    reportProblems(result.problems, ctx);
    return EXIT.invalid;
  }
  const gateways = result.manifest.plan.gateways.filter((g) => g.enabled);
  const readable = canReadListeners();
  const listeners = readable ? readListeners({ owners: true }) : [];
  const busy = busyPorts(gateways, listeners);

  if (options.json) {
    const json = {
      gateways: gateways.map((g) => ({ name: g.name, base: g.port, ranges: g.footprint.ranges })),
      listenersKnown: readable,
      busy: busy.map((b) => ({ gateway: b.gateway, port: b.listener.port, use: b.range.label, address: b.listener.address, pid: b.listener.pid ?? null, command: b.listener.command ?? null })),
    };
    ctx.stdout(`${JSON.stringify(json, null, 2)}\n`);
    return EXIT.ok;
  }
  const rows = gateways.flatMap((g) => g.footprint.ranges.map((r) => [rangeText(r), g.name, r.label] as const));
  rows.sort((a, b) => Number(a[0].split('-')[0]) - Number(b[0].split('-')[0]));
  const width = [Math.max(5, ...rows.map((r) => r[0].length)), Math.max(7, ...rows.map((r) => r[1].length))];
  const lines = [`${'PORTS'.padEnd(width[0]!)}  ${'GATEWAY'.padEnd(width[1]!)}  USE`];
  for (const [ports, gateway, use] of rows) lines.push(`${ports.padEnd(width[0]!)}  ${gateway.padEnd(width[1]!)}  ${use}`);
  lines.push('');
  if (!readable) lines.push('listeners: this host does not expose /proc/net/tcp; busy ports cannot be listed');
  else if (busy.length === 0) lines.push('listeners: none of the reserved ports is in use');
  else {
    lines.push('in use now:');
    for (const b of busy) {
      const owner = b.listener.pid !== undefined ? `pid ${b.listener.pid} (${b.listener.command ?? '?'})` : 'owner unknown (not visible to this user)';
      lines.push(`  ${b.listener.port} ${b.listener.address}  reserved by ${b.gateway} for ${b.range.label}  held by ${owner}`);
    }
  }
  ctx.stdout(`${lines.join('\n')}\n`);
  return EXIT.ok;
}
