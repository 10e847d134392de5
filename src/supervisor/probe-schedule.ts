/**
 * When the next liveness or readiness probe of a gateway runs. Probes run on a fixed period (a slow
 * answer does not push the next probe back, so a hang is noticed after failureThreshold × interval),
 * on a grid shared by the whole fleet: each interval is cut into a few evenly spaced slots, and every
 * gateway probes in the slot its name picks. Probes that share a slot share one wakeup of the
 * supervisor, and on a small VM a wakeup costs more CPU than the probes it carries (measured: 20
 * gateways probed at random moments cost 3× the CPU of the same probes in one slot). Large fleets get
 * more slots, so their probes never arrive as one burst that would hold up the control socket.
 */

/** Gateways per slot a fleet may have before it is given another slot. */
export const GATEWAYS_PER_SLOT = 100;
/** The most slots an interval is cut into. */
export const MAX_PROBE_SLOTS = 8;

/** How many slots a fleet of `gateways` probes in: one up to GATEWAYS_PER_SLOT gateways, up to MAX_PROBE_SLOTS. */
export function probeSlotCount(gateways: number): number {
  return Math.min(MAX_PROBE_SLOTS, Math.max(1, Math.ceil(gateways / GATEWAYS_PER_SLOT)));
}

/** The offset of a gateway's slot within an interval, from its name (stable across restarts). */
export function probePhaseMs(name: string, intervalMs: number, slots: number): number {
  let hash = 2166136261;
  for (let i = 0; i < name.length; i += 1) hash = Math.imul(hash ^ name.charCodeAt(i), 16777619) >>> 0;
  const count = Math.max(1, Math.floor(slots));
  return Math.floor(((hash % count) * intervalMs) / count);
}

/** Milliseconds from `now` to the next point of the grid (phase + k × interval), always > 0. */
export function nextProbeDelay(now: number, intervalMs: number, phaseMs: number): number {
  const interval = Math.max(1, intervalMs);
  const since = (((now - phaseMs) % interval) + interval) % interval;
  return interval - since;
}
