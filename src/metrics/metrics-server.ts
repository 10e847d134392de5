/** Serves the fleet's figures as Prometheus text: the metrics adapter around prom-client, no supervision decisions here. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIPv4 } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';

/** One gateway's figures at scrape time. */
export interface GatewayMetrics {
  name: string;
  role: string;
  state: string;
  up: boolean;
  ready: boolean;
  restarts: number;
  /** Null when it could not be measured: the series is left out rather than shown as 0. */
  cpuPercent: number | null;
  memoryBytes: number | null;
  probeLatencyMs: Partial<Record<'startup' | 'liveness' | 'readiness', number>>;
}

/** The whole fleet's figures at scrape time. */
export interface FleetMetrics {
  gateways: GatewayMetrics[];
  /** Non-zero while the manifest on disk is invalid and the fleet runs on the last good one. */
  manifestErrors: number;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

// Every state of SPEC §4, so that a dashboard sees a 0 rather than a missing series for the states a gateway is not in.
const STATES = ['starting', 'running', 'ready', 'unhealthy', 'backoff', 'crashloop', 'conflict', 'stopping', 'stopped', 'disabled'];
const PROBES = ['startup', 'liveness', 'readiness'] as const;
const GATEWAY_LABELS = ['gateway', 'role'] as const;

/** Serves GET /metrics on host:port (loopback only: refuse to bind anything but 127.0.0.0/8, ::1 or localhost); metrics are filled from collect() at scrape time. */
export async function startMetricsServer(address: string, collect: () => FleetMetrics): Promise<MetricsServer> {
  const { host, port } = parseLoopbackAddress(address);
  const render = renderer(collect);
  const server = createServer((request, response) => void handle(request, response, render));
  await listen(server, host, port);
  // Accept errors (EMFILE...) are emitted on the server: without a listener they would crash the supervisor.
  server.on('error', () => {});
  const bound = server.address();
  // 'localhost' is whatever the resolver says: make sure it did not send us off the loopback interface.
  if (bound === null || typeof bound === 'string' || !isLoopbackHost(bound.address)) {
    await closeServer(server);
    throw new Error(`metrics address ${address} resolved to a non-loopback address; refusing to serve metrics there`);
  }
  return { port: bound.port, close: () => closeServer(server) };
}

/** Splits "host:port" (IPv6 as "[::1]:port") and refuses any host that is not loopback: the endpoint has no authentication. */
export function parseLoopbackAddress(address: string): { host: string; port: number } {
  // IPv6 in brackets, or else everything up to the last colon ("::1:9464" works too).
  const bracketed = /^\[([^\]]*)\]:(\d+)$/.exec(address);
  const colon = address.lastIndexOf(':');
  const host = bracketed ? bracketed[1] : colon > 0 ? address.slice(0, colon) : undefined;
  const portText = bracketed ? bracketed[2] : colon > 0 ? address.slice(colon + 1) : undefined;
  const port = Number(portText);
  if (!host || portText === undefined || !/^\d+$/.test(portText) || port > 65_535) {
    throw new Error(`metrics address "${address}" is not host:port (for example 127.0.0.1:9464)`);
  }
  if (!isLoopbackHost(host)) {
    throw new Error(
      `metrics address "${address}" is not loopback: the metrics endpoint has no authentication, so it only binds 127.0.0.0/8, ::1 or localhost`,
    );
  }
  return { host, port };
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIPv4(host) && host.startsWith('127.'));
}

type Render = () => Promise<{ contentType: string; body: string }>;

/** Builds the private registry and a function that fills it from collect() and renders it. */
function renderer(collect: () => FleetMetrics): Render {
  // A private registry: the global one belongs to whoever embeds us, and default metrics would cost a timer each.
  const registry = new Registry();
  const registers = [registry];
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Gauge<L>({ name: `clawfleet_${name}`, help, labelNames, registers });
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name: `clawfleet_${name}`, help, labelNames, registers });

  const up = gauge('gateway_up', 'Whether the gateway process is alive (1) or not (0).', GATEWAY_LABELS);
  const ready = gauge('gateway_ready', 'Whether the gateway passes its readiness probe.', GATEWAY_LABELS);
  const restarts = counter('gateway_restarts_total', 'Restarts of the gateway, as clawfleet status counts them.', GATEWAY_LABELS);
  const state = gauge('gateway_state', 'The lifecycle state of the gateway: 1 for the current state.', [...GATEWAY_LABELS, 'state']);
  const cpu = gauge('gateway_cpu_percent', 'CPU of the gateway process tree, in percent of one core.', GATEWAY_LABELS);
  const memory = gauge('gateway_memory_bytes', 'Resident memory of the gateway process tree.', GATEWAY_LABELS);
  const latency = gauge('gateway_probe_latency_seconds', 'Duration of the last probe of each kind.', [...GATEWAY_LABELS, 'probe']);
  const manifestError = gauge('manifest_error', 'Whether the manifest on disk is invalid (the fleet runs on the last good one).');
  const residentMemory = gauge('supervisor_resident_memory_bytes', 'Resident memory of the supervisor process.');
  const cpuSeconds = counter('supervisor_cpu_seconds_total', 'User and system CPU time of the supervisor process.');
  const gatewayCount = gauge('supervisor_gateways', 'Gateways in the applied manifest.');

  const fill = (fleet: FleetMetrics): void => {
    // Start from nothing at each scrape, so that a removed gateway leaves no stale series behind.
    registry.resetMetrics();
    for (const gateway of fleet.gateways) {
      const labels = { gateway: gateway.name, role: gateway.role };
      up.set(labels, gateway.up ? 1 : 0);
      ready.set(labels, gateway.ready ? 1 : 0);
      restarts.inc(labels, Math.max(0, gateway.restarts));
      for (const name of new Set([...STATES, gateway.state])) {
        state.set({ ...labels, state: name }, name === gateway.state ? 1 : 0);
      }
      if (isMeasured(gateway.cpuPercent)) cpu.set(labels, gateway.cpuPercent);
      if (isMeasured(gateway.memoryBytes)) memory.set(labels, gateway.memoryBytes);
      for (const probe of PROBES) {
        const ms = gateway.probeLatencyMs[probe];
        if (isMeasured(ms)) latency.set({ ...labels, probe }, ms / 1000);
      }
    }
    manifestError.set(fleet.manifestErrors > 0 ? 1 : 0);
    gatewayCount.set(fleet.gateways.length);
    residentMemory.set(process.memoryUsage.rss());
    const usage = process.cpuUsage();
    cpuSeconds.inc((usage.user + usage.system) / 1e6);
  };

  // Scrapes are serialised: each one resets and refills the shared registry.
  let previous: Promise<unknown> = Promise.resolve();
  return () => {
    const next = previous.then(async () => {
      fill(collect());
      return { contentType: registry.contentType, body: await registry.metrics() };
    });
    previous = next.catch(() => {});
    return next;
  };
}

function isMeasured(value: number | null | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

async function handle(request: IncomingMessage, response: ServerResponse, render: Render): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  if (path !== '/metrics') return reply(response, 404, 'not found: metrics are at /metrics\n');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD');
    return reply(response, 405, 'method not allowed\n');
  }
  try {
    const { contentType, body } = await render();
    response.writeHead(200, { 'content-type': contentType });
    response.end(request.method === 'HEAD' ? undefined : body);
  } catch (error) {
    // A failing collect() is a bug elsewhere; the scrape fails, the supervisor does not.
    reply(response, 500, `collecting metrics failed: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}

function reply(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  response.end(text);
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(new Error(`cannot serve metrics on ${host}:${port}: ${error.message}`));
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Stops listening and drops idle keep-alive connections, so that close does not wait for Prometheus to hang up. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
