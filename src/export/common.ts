/**
 * What `clawfleet export` turns a fleet into: the target's own files, made by pure generators from the
 * resolved plan. No I/O happens here; the CLI writes the files or prints them.
 */
import path from 'node:path';
import { buildGatewayEnv } from '../plan/environment.js';
import type { FleetPlan, GatewayPlan } from '../plan/types.js';

/** The targets `clawfleet export` knows. */
export const EXPORT_TARGETS = ['systemd', 'compose', 'kubernetes'] as const;
export type ExportTarget = (typeof EXPORT_TARGETS)[number];

/** A planned fleet and the envFiles it read. */
export interface ExportInput {
  readonly plan: FleetPlan;
  /**
   * Parsed envFile contents by absolute path. Generators use only the names in them (for collision
   * notes and instructions): secret values are referenced by file, never copied into an export.
   */
  readonly envFiles: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

/** The files of one export, in output order, and what the operator should know about them. */
export interface ExportResult {
  /** File name (no directory) → file text. */
  readonly files: ReadonlyMap<string, string>;
  /** Things the target cannot express, or that need a hand before the files work. */
  readonly notes: readonly string[];
}

/** `fleet` from `/srv/fleet.yaml`: the same suffix `clawfleet install` gives the supervisor's unit. */
export function fleetName(manifestPath: string): string {
  return path.basename(manifestPath).replace(/\.(ya?ml|json)$/i, '').replace(/[^A-Za-z0-9_.-]/g, '-') || 'fleet';
}

/**
 * The variables a gateway's service sets itself: its `env`, then what clawfleet derives (which wins), by
 * the supervisor's own rules. The allow-list part comes from the target (systemd's manager, the image),
 * and the envFile is referenced, not inlined.
 */
export function exportEnv(gateway: GatewayPlan): Record<string, string> {
  return buildGatewayEnv(gateway, {}, {});
}

/** Whole seconds covering `ms`, at least `min`: the unit Kubernetes and compose timings are rounded to. */
export function ceilSeconds(ms: number, min = 1): number {
  return Math.max(min, Math.ceil(ms / 1000));
}

/** A duration in the `10s` / `500ms` form systemd and compose both read. */
export function durationText(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${Math.round(ms)}ms`;
}

/** The names an envFile defines (its values are never needed). */
export function envFileKeys(input: ExportInput, gateway: GatewayPlan): string[] {
  if (gateway.envFile === undefined) return [];
  return Object.keys(input.envFiles.get(gateway.envFile) ?? {});
}

/** Whether `inner` is `outer` or inside it. */
export function isWithin(inner: string, outer: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Directories holding a gateway's data that must outlive its process (or container): the state dir
 * (config and credentials live there by default) and the workspace when it is outside the state dir.
 */
export function dataDirs(gateway: GatewayPlan): Array<{ role: 'state' | 'workspace'; dir: string }> {
  const dirs: Array<{ role: 'state' | 'workspace'; dir: string }> = [];
  if (gateway.stateDir !== undefined) dirs.push({ role: 'state', dir: gateway.stateDir });
  if (gateway.workspace !== undefined && (gateway.stateDir === undefined || !isWithin(gateway.workspace, gateway.stateDir))) {
    dirs.push({ role: 'workspace', dir: gateway.workspace });
  }
  return dirs;
}

/**
 * OpenClaw's `--bind` mode for a container: `lan` listens on 0.0.0.0 with no fallback (`auto` does too, but
 * only where OpenClaw detects a container), so the pod IP and a published port reach it. IPv4 only.
 */
export const CONTAINER_BIND_MODE = 'lan';

/** A gateway's argv inside a container, and whether its `--bind loopback` had to be rewritten for that. */
export interface ContainerArgs {
  readonly args: readonly string[];
  readonly rebound: boolean;
}

/**
 * `--bind loopback` (or `--bind=loopback`) becomes `--bind lan`: loopback in a container is the container's
 * own, which neither the kubelet's probes (sent to the pod IP) nor a published port can reach. On one host
 * (`clawfleet up`, systemd) loopback stays right, so only the container targets call this.
 */
export function containerArgs(gateway: GatewayPlan): ContainerArgs {
  const args = [...gateway.args];
  let rebound = false;
  for (let i = 0; i < args.length; i += 1) {
    if (args[i] === '--') break;
    if (args[i] === '--bind=loopback') {
      args[i] = `--bind=${CONTAINER_BIND_MODE}`;
      rebound = true;
    } else if (args[i] === '--bind' && args[i + 1] === 'loopback') {
      args[i + 1] = CONTAINER_BIND_MODE;
      rebound = true;
      i += 1;
    }
  }
  return { args, rebound };
}

/** Where OpenClaw finds the shared secret it insists on before it listens beyond loopback. */
const GATEWAY_AUTH_ENV = ['OPENCLAW_GATEWAY_TOKEN', 'OPENCLAW_GATEWAY_PASSWORD'];
const GATEWAY_AUTH_FLAGS = ['--token', '--token-file', '--password', '--password-file'];

function hasGatewayAuth(input: ExportInput, gateway: GatewayPlan, args: readonly string[]): boolean {
  const names = new Set([...Object.keys(exportEnv(gateway)), ...envFileKeys(input, gateway)]);
  if (GATEWAY_AUTH_ENV.some((name) => names.has(name))) return true;
  return args.some((arg) => GATEWAY_AUTH_FLAGS.some((flag) => arg === flag || arg.startsWith(`${flag}=`)));
}

/** Why a loopback-only gateway is unreachable on each container target. */
const UNREACHABLE_ON_LOOPBACK: Record<'compose' | 'kubernetes', string> = {
  compose: "the published port forwards to the container's address, which a loopback-only server does not answer",
  kubernetes: "the kubelet's probes and the Service go to the pod IP, which a loopback-only server does not answer",
};

/** Notes shared by the container targets: what a container does differently from `clawfleet up`. */
export function containerNotes(input: ExportInput, gateway: GatewayPlan, target: 'compose' | 'kubernetes'): string[] {
  const notes: string[] = [];
  if (gateway.configPath !== undefined && gateway.stateDir !== undefined && !isWithin(gateway.configPath, gateway.stateDir)) {
    notes.push(`${gateway.name}: its config ${gateway.configPath} is outside its state dir and not on a volume; mount it yourself`);
  }
  const { args, rebound } = containerArgs(gateway);
  if (rebound) {
    notes.push(`${gateway.name}: \`--bind loopback\` is rewritten to \`--bind ${CONTAINER_BIND_MODE}\` (0.0.0.0) in the container: ${UNREACHABLE_ON_LOOPBACK[target]}; \`clawfleet up\` and systemd keep loopback`);
  }
  // `openclaw gateway` exits 78 on a non-loopback bind without a shared secret (and, with its Control UI on,
  // without allowed origins): say so before the container restarts forever.
  if (gateway.kind === 'openclaw' && gateway.args[0] === 'gateway' && !hasGatewayAuth(input, gateway, args)) {
    notes.push(`${gateway.name}: OpenClaw refuses to listen beyond loopback without auth (exit 78): put OPENCLAW_GATEWAY_TOKEN in its envFile (or set gateway.auth in its config); with its Control UI on (the default) it also needs gateway.controlUi.allowedOrigins in its config`);
  }
  if (gateway.kind === 'openclaw' && gateway.restart.policy === 'on-failure') {
    notes.push(`${gateway.name}: restart on-failure: OpenClaw may exit 0 to restart itself under a service manager, which on-failure leaves down; prefer always`);
  }
  return notes;
}
