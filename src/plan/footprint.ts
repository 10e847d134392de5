/** The TCP ports a gateway reserves, derived the way OpenClaw derives them from its base port. */
import type { GatewayKind, PortFootprint, PortRange } from './types.js';

/** Highest offset from the base port an OpenClaw gateway may bind (the end of its CDP range). */
export const OPENCLAW_FOOTPRINT_SPAN = 110;

/** A port that is not derived from the base: manifest or instance-config overrides. */
export interface ExplicitPort {
  readonly port: number;
  readonly label: string;
}

/** OpenClaw's derived ports: gateway, browser control, legacy CDP URL, canvas host, relay, CDP range. */
function openclawRanges(base: number): PortRange[] {
  return [
    { from: base, to: base, label: 'base port' },
    { from: base + 2, to: base + 2, label: 'browser control (base+2)' },
    { from: base + 3, to: base + 3, label: 'legacy CDP URL (base+3)' },
    { from: base + 4, to: base + 4, label: 'canvas host (base+4)' },
    { from: base + 10, to: base + 10, label: 'extension relay (base+10)' },
    { from: base + 11, to: base + OPENCLAW_FOOTPRINT_SPAN, label: 'browser CDP range (base+11..base+110)' },
  ];
}

const DERIVED_LABELS = new Set(openclawRanges(0).map((range) => range.label));

/** Whether a range is derived from the base port, not named explicitly in a manifest or config. */
export function isDerivedRange(range: PortRange): boolean {
  return DERIVED_LABELS.has(range.label);
}

/** The footprint of a gateway: derived ranges plus explicit ports outside them. */
export function portFootprint(kind: GatewayKind, base: number, explicit: readonly ExplicitPort[] = []): PortFootprint {
  const ranges: PortRange[] = kind === 'openclaw' ? openclawRanges(base) : [{ from: base, to: base, label: 'base port' }];
  if (explicit.length === 0) return { base, ranges };
  for (const extra of explicit) {
    const covered = ranges.some((r) => r.from <= extra.port && extra.port <= r.to);
    if (!covered) ranges.push({ from: extra.port, to: extra.port, label: extra.label });
  }
  ranges.sort((a, b) => a.from - b.from);
  return { base, ranges };
}

/** The highest port of a footprint. */
export function footprintEnd(footprint: PortFootprint): number {
  let end = footprint.base;
  for (const range of footprint.ranges) end = Math.max(end, range.to);
  return end;
}

/** Ranges merged where they touch, for compact display: [[18789, 18789], [18791, 18793], ...]. */
export function compactRanges(footprint: PortFootprint): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const range of footprint.ranges) {
    const last = out[out.length - 1];
    if (last && range.from <= last[1] + 1) last[1] = Math.max(last[1], range.to);
    else out.push([range.from, range.to]);
  }
  return out;
}

/** Number of ports a footprint holds. */
export function footprintSize(footprint: PortFootprint): number {
  return compactRanges(footprint).reduce((sum, [from, to]) => sum + to - from + 1, 0);
}
