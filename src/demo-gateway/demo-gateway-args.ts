import net from 'node:net';
import { parseDurationMs } from './duration.js';

/** Everything the demo gateway needs to run, resolved from argv and the environment. */
export interface DemoGatewayOptions {
  /** Base port: probes and the gateway's HTTP server; base+2 is the browser-control port. */
  port: number;
  /** Address the base port binds to (`--bind loopback` is 127.0.0.1). */
  bindHost: string;
  /** Time after listening during which /startupz and /readyz answer 503. */
  bootDelayMs: number;
  /** Exit 1 shortly after start, before listening. */
  crashOnBoot: boolean;
  /** Exit 1 this long after start; undefined runs until stopped. */
  exitAfterMs: number | undefined;
  /** Log SIGTERM/SIGINT and keep running, so a supervisor has to escalate. */
  ignoreSigterm: boolean;
  /** Spawn a never-ending grandchild in the gateway's process group at start. */
  forkGrandchild: boolean;
  /** /readyz stays 503 forever. */
  neverReady: boolean;
  /** Megabytes of touched memory added per second (0: none). */
  growMbPerS: number;
  /** OPENCLAW_STATE_DIR; undefined means no lock and no files. */
  stateDir: string | undefined;
  /** The OpenClaw variables the gateway was started with, recorded in demo-gateway.json. */
  recordedEnv: Readonly<Record<string, string | undefined>>;
}

type Env = Readonly<Record<string, string | undefined>>;

const RECORDED_ENV_KEYS = ['OPENCLAW_STATE_DIR', 'OPENCLAW_CONFIG_PATH', 'OPENCLAW_PROFILE', 'OPENCLAW_GATEWAY_PORT'];
const VALUE_FLAGS = new Set(['--port', '--bind', '--boot-delay', '--exit-after', '--grow-mb-per-s']);
// --allow-unconfigured is accepted and ignored so command lines written for `openclaw gateway` also work here.
const BOOLEAN_FLAGS = new Set(['--crash-on-boot', '--ignore-sigterm', '--fork-grandchild', '--never-ready', '--allow-unconfigured']);
const DEFAULT_BOOT_DELAY_MS = 200;
// base+2 must still be a valid port.
const MAX_BASE_PORT = 65_533;
const BIND_MODES: Readonly<Record<string, string>> = { loopback: '127.0.0.1', localhost: '127.0.0.1', lan: '0.0.0.0' };

interface RawArgs {
  values: Map<string, string>;
  switches: Set<string>;
}

// Turns `demo-gateway` argv (after the subcommand) into options; throws a one-line Error on bad input.
export function parseDemoGatewayArgs(argv: string[], env: Env = process.env): DemoGatewayOptions {
  const { values, switches } = splitArgs(argv);
  return {
    port: resolvePort(values.get('--port'), env),
    bindHost: resolveBindHost(values.get('--bind') ?? 'loopback'),
    bootDelayMs: resolveBootDelay(values.get('--boot-delay'), env.DEMO_BOOT_DELAY),
    crashOnBoot: switches.has('--crash-on-boot'),
    exitAfterMs: optionalDuration('--exit-after', values.get('--exit-after')),
    ignoreSigterm: switches.has('--ignore-sigterm'),
    forkGrandchild: switches.has('--fork-grandchild'),
    neverReady: switches.has('--never-ready'),
    growMbPerS: resolveGrowRate(values.get('--grow-mb-per-s')),
    stateDir: nonEmpty(env.OPENCLAW_STATE_DIR),
    recordedEnv: Object.fromEntries(RECORDED_ENV_KEYS.map((key) => [key, env[key]])),
  };
}

function splitArgs(argv: string[]): RawArgs {
  const values = new Map<string, string>();
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? '';
    const eq = token.indexOf('=');
    const flag = token.startsWith('--') && eq > 0 ? token.slice(0, eq) : token;
    if (BOOLEAN_FLAGS.has(flag)) {
      if (flag !== token) throw new Error(`${flag} takes no value`);
      switches.add(flag);
    } else if (VALUE_FLAGS.has(flag)) {
      const value = flag !== token ? token.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') throw new Error(`${flag} needs a value`);
      values.set(flag, value);
    } else if (token.startsWith('-')) {
      throw new Error(`unknown option: ${token}`);
    } else {
      throw new Error(`unexpected argument: ${token}`);
    }
  }
  return { values, switches };
}

function resolvePort(flag: string | undefined, env: Env): number {
  const sources: Array<[string, string | undefined]> = [
    ['--port', flag],
    ['OPENCLAW_GATEWAY_PORT', nonEmpty(env.OPENCLAW_GATEWAY_PORT)],
    ['PORT', nonEmpty(env.PORT)],
  ];
  const found = sources.find(([, value]) => value !== undefined);
  if (!found) throw new Error('--port is required (or set OPENCLAW_GATEWAY_PORT or PORT)');
  const [source, text = ''] = found;
  const port = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > MAX_BASE_PORT) {
    throw new Error(`${source}: "${text}" is not a port from 1 to ${MAX_BASE_PORT}`);
  }
  return port;
}

function resolveBindHost(bind: string): string {
  const host = BIND_MODES[bind] ?? (net.isIP(bind) !== 0 ? bind : undefined);
  if (host === undefined) throw new Error(`--bind: "${bind}" is not loopback, lan or an IP address`);
  return host;
}

function resolveBootDelay(flag: string | undefined, fromEnv: string | undefined): number {
  if (flag !== undefined) return requireDuration('--boot-delay', flag);
  const envValue = nonEmpty(fromEnv);
  if (envValue !== undefined) return requireDuration('DEMO_BOOT_DELAY', envValue);
  return DEFAULT_BOOT_DELAY_MS;
}

function optionalDuration(source: string, text: string | undefined): number | undefined {
  return text === undefined ? undefined : requireDuration(source, text);
}

function requireDuration(source: string, text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined) throw new Error(`${source}: "${text}" is not a duration (use 0, 300ms, 2s or 1m)`);
  return ms;
}

function resolveGrowRate(text: string | undefined): number {
  if (text === undefined) return 0;
  const rate = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(rate)) throw new Error(`--grow-mb-per-s: "${text}" is not a non-negative number`);
  return rate;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
