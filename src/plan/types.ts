/** The resolved fleet: what each gateway is, where it lives and which ports it owns, before anything runs. */

/** A key path into the manifest, e.g. ['gateways', 'main', 'port']. */
export type KeyPath = readonly (string | number)[];

/** A problem found while planning, located by key path; the loader adds file and line. */
export interface PlanProblem {
  readonly path: KeyPath;
  readonly message: string;
}

/** An inclusive range of TCP ports, labelled with why the gateway reserves it. */
export interface PortRange {
  readonly from: number;
  readonly to: number;
  readonly label: string;
}

/** Every TCP port a gateway owns: its base port and the ranges OpenClaw derives from it, plus explicit extras. */
export interface PortFootprint {
  readonly base: number;
  readonly ranges: readonly PortRange[];
}

/** How one probe reaches the gateway. */
export type ProbeAction =
  | { readonly type: 'http'; readonly path: string }
  | { readonly type: 'tcp' }
  | { readonly type: 'exec'; readonly argv: readonly string[] };

/** One probe with its timing, all durations in milliseconds. */
export interface ProbePlan {
  readonly action: ProbeAction;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly failureThreshold: number;
  readonly successThreshold: number;
}

/** The three probes; an absent probe is off. */
export interface HealthPlan {
  readonly startPeriodMs: number;
  readonly startup?: ProbePlan;
  readonly liveness?: ProbePlan;
  readonly readiness?: ProbePlan;
}

/** Whether and how fast a gateway is restarted after it fails. */
export interface RestartPolicy {
  readonly policy: 'always' | 'on-failure' | 'never';
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly jitter: number;
  readonly resetAfterMs: number;
}

/** How a gateway is stopped. */
export interface StopPolicy {
  readonly signal: NodeJS.Signals;
  readonly timeoutMs: number;
}

export type GatewayKind = 'openclaw' | 'command';
export type GatewayRole = 'main' | 'rescue';

/** Everything the supervisor needs to start, probe, stop and restart one gateway. */
export interface GatewayPlan {
  readonly name: string;
  readonly kind: GatewayKind;
  readonly role: GatewayRole;
  readonly enabled: boolean;
  /** OpenClaw profile; `default` is the unsuffixed one. Undefined for `command` gateways. */
  readonly profile: string | undefined;
  readonly command: string;
  readonly args: readonly string[];
  readonly port: number;
  readonly stateDir: string | undefined;
  readonly configPath: string | undefined;
  readonly workspace: string | undefined;
  readonly cwd: string;
  readonly footprint: PortFootprint;
  /** The gateway's own variables from the manifest, stringified. */
  readonly env: Readonly<Record<string, string>>;
  readonly envFile: string | undefined;
  /** Extra names copied from the supervisor's environment on top of the allow-list. */
  readonly inheritEnv: readonly string[];
  readonly health: HealthPlan;
  readonly restart: RestartPolicy;
  readonly stop: StopPolicy;
  readonly memoryLimitBytes: number | undefined;
  readonly restartSchedule: string | undefined;
  /** cdpUrls this gateway's browser uses; two gateways must never share one. */
  readonly cdpUrls: readonly string[];
}

/** Settings of the supervisor itself. */
export interface SupervisorPlan {
  readonly runtimeDir: string;
  readonly logDir: string;
  readonly logMaxBytes: number;
  readonly logMaxFiles: number;
  readonly metrics: string | undefined;
  /** How often each gateway's process tree is sampled (CPU, memory, memory limit). */
  readonly sampleIntervalMs: number;
  readonly onStateChange: readonly string[] | undefined;
}

/** The whole fleet, resolved. */
export interface FleetPlan {
  readonly manifestPath: string;
  readonly supervisor: SupervisorPlan;
  readonly gateways: readonly GatewayPlan[];
}
