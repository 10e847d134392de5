/**
 * The environment a gateway starts with, built fresh at every start: an allow-list of the supervisor's
 * own variables, then the gateway's envFile and env, then the variables clawfleet derives. Nothing of
 * another gateway, no OpenClaw variable of the supervisor and no service-manager marker gets through.
 */
import type { GatewayPlan } from './types.js';

/** Variables a gateway may take from the supervisor's environment. */
export const INHERITED_ENV = [
  'PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'TEMP', 'TMP',
  'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR',
  'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'all_proxy',
  'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_CACHE_HOME', 'XDG_STATE_HOME', 'XDG_RUNTIME_DIR',
] as const;

/**
 * Markers that make OpenClaw believe systemd or launchd supervises it (it then turns self-restarts into
 * exit 0), and socket-activation variables meant for the supervisor alone. Never inherited, even when
 * named in `inheritEnv`.
 */
export const BLOCKED_ENV = [
  'INVOCATION_ID', 'SYSTEMD_EXEC_PID', 'JOURNAL_STREAM', 'NOTIFY_SOCKET', 'WATCHDOG_PID', 'WATCHDOG_USEC',
  'LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES', 'MANAGERPID', 'LAUNCH_JOB_LABEL', 'XPC_SERVICE_NAME',
] as const;

const BLOCKED = new Set<string>(BLOCKED_ENV);

/** Whether a supervisor variable may never reach a gateway. */
export function isBlockedEnv(name: string): boolean {
  return BLOCKED.has(name) || name.startsWith('OPENCLAW_') || name.startsWith('CLAWFLEET_');
}

function inherits(name: string, extra: ReadonlySet<string>): boolean {
  if (isBlockedEnv(name)) return false;
  return (INHERITED_ENV as readonly string[]).includes(name) || name.startsWith('LC_') || extra.has(name);
}

/** The variables clawfleet sets itself; they win over anything the manifest says. */
export function derivedEnv(plan: GatewayPlan): Record<string, string> {
  const env: Record<string, string> = {};
  if (plan.kind === 'openclaw') {
    if (plan.stateDir !== undefined) env.OPENCLAW_STATE_DIR = plan.stateDir;
    if (plan.configPath !== undefined) env.OPENCLAW_CONFIG_PATH = plan.configPath;
    // Without it OpenClaw derives one itself (from the state dir or profile); the planned one is checked for conflicts.
    if (plan.workspace !== undefined) env.OPENCLAW_WORKSPACE_DIR = plan.workspace;
    if (plan.profile !== undefined && plan.profile !== 'default') env.OPENCLAW_PROFILE = plan.profile;
    env.OPENCLAW_GATEWAY_PORT = String(plan.port);
  } else {
    env.PORT = String(plan.port);
  }
  return env;
}

/** The full environment of one start of a gateway. */
export function buildGatewayEnv(
  plan: GatewayPlan,
  supervisorEnv: Readonly<Record<string, string | undefined>>,
  envFileValues: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const extra = new Set(plan.inheritEnv);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(supervisorEnv)) {
    if (value !== undefined && inherits(name, extra)) env[name] = value;
  }
  Object.assign(env, envFileValues, plan.env, derivedEnv(plan));
  return env;
}

const SECRET_NAME_RE = /(TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|API_?KEY|PRIVATE|CREDENTIAL|AUTH|COOKIE|SESSION|_KEY$)/i;

/** Whether a variable's value should be hidden when shown to people. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME_RE.test(name);
}

/** A copy for display: values of secret-looking names, and everything from an envFile, masked. */
export function maskEnv(env: Readonly<Record<string, string>>, fromEnvFile: ReadonlySet<string> = new Set()): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    out[name] = isSecretName(name) || fromEnvFile.has(name) ? '***' : value;
  }
  return out;
}
