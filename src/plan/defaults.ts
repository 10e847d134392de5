/** Built-in settings by gateway kind, and the merge of a manifest's `defaults` under each gateway. */
import type { GatewaySettings } from '../manifest/schema.js';

type Plain = Record<string, unknown>;

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep merge of plain objects; arrays and scalars of `over` replace those of `under`. */
export function mergeSettings<T extends Plain>(under: T | undefined, over: T | undefined): T {
  if (under === undefined) return (over ?? {}) as T;
  if (over === undefined) return under;
  const merged: Plain = { ...under };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const base = merged[key];
    merged[key] = isPlain(base) && isPlain(value) ? mergeSettings(base, value) : value;
  }
  return merged as T;
}

/**
 * OpenClaw boots in 14-30 s on a small machine, so failures only count after a generous start period;
 * the probes are OpenClaw's own unauthenticated endpoints.
 */
export const OPENCLAW_DEFAULTS: GatewaySettings = {
  command: 'openclaw',
  args: ['gateway', '--port', '{port}'],
  role: 'main',
  health: {
    startPeriod: '120s',
    startup: { http: '/startupz', interval: '1s', timeout: '1s' },
    liveness: { http: '/healthz', interval: '2s', timeout: '1s', failureThreshold: 3 },
    readiness: { http: '/readyz', interval: '2s', timeout: '2s', failureThreshold: 1 },
  },
  restart: { policy: 'always', backoff: { initial: '100ms', max: '30s', factor: 2, jitter: 0.2 }, resetAfter: '60s' },
  stop: { signal: 'SIGTERM', timeout: '10s' },
  enabled: true,
};

/** A plain command is probed by connecting to its base port; it has no readiness signal of its own. */
export const COMMAND_DEFAULTS: GatewaySettings = {
  args: [],
  role: 'main',
  health: {
    startPeriod: '60s',
    startup: { tcp: true, interval: '500ms', timeout: '1s' },
    liveness: { tcp: true, interval: '2s', timeout: '1s', failureThreshold: 3 },
    readiness: false,
  },
  restart: { policy: 'always', backoff: { initial: '100ms', max: '30s', factor: 2, jitter: 0.2 }, resetAfter: '60s' },
  stop: { signal: 'SIGTERM', timeout: '10s' },
  enabled: true,
};

/** Probe settings left out of a probe that is given. */
export const PROBE_DEFAULTS = { interval: '2s', timeout: '1s', failureThreshold: 3, successThreshold: 1 } as const;
