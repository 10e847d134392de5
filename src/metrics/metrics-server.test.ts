import { get } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { parseLoopbackAddress, startMetricsServer, type FleetMetrics, type GatewayMetrics, type MetricsServer } from './metrics-server.js';

const servers: MetricsServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

function gateway(overrides: Partial<GatewayMetrics> & { name: string }): GatewayMetrics {
  return {
    role: 'main',
    state: 'ready',
    up: true,
    ready: true,
    restarts: 0,
    cpuPercent: null,
    memoryBytes: null,
    probeLatencyMs: {},
    ...overrides,
  };
}

async function start(collect: () => FleetMetrics): Promise<MetricsServer> {
  const server = await startMetricsServer('127.0.0.1:0', collect);
  servers.push(server);
  return server;
}

function fetchText(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, type: response.headers['content-type'] ?? '', body }));
    }).on('error', reject);
  });
}

function lines(body: string): string[] {
  return body.split('\n');
}

describe('startMetricsServer', () => {
  it('serves the figures of every gateway', async () => {
    const fleet: FleetMetrics = {
      manifestErrors: 0,
      gateways: [
        gateway({
          name: 'main',
          restarts: 3,
          cpuPercent: 12.5,
          memoryBytes: 123456789,
          probeLatencyMs: { liveness: 15, readiness: 250 },
        }),
        gateway({ name: 'rescue', role: 'rescue', state: 'backoff', up: false, ready: false }),
      ],
    };
    const server = await start(() => fleet);
    const { status, type, body } = await fetchText(server.port, '/metrics');
    expect(status).toBe(200);
    expect(type).toContain('text/plain');
    expect(lines(body)).toEqual(
      expect.arrayContaining([
        'clawfleet_gateway_up{gateway="main",role="main"} 1',
        'clawfleet_gateway_up{gateway="rescue",role="rescue"} 0',
        'clawfleet_gateway_ready{gateway="main",role="main"} 1',
        'clawfleet_gateway_ready{gateway="rescue",role="rescue"} 0',
        '# TYPE clawfleet_gateway_restarts_total counter',
        'clawfleet_gateway_restarts_total{gateway="main",role="main"} 3',
        'clawfleet_gateway_restarts_total{gateway="rescue",role="rescue"} 0',
        'clawfleet_gateway_state{gateway="main",role="main",state="ready"} 1',
        'clawfleet_gateway_state{gateway="main",role="main",state="backoff"} 0',
        'clawfleet_gateway_state{gateway="rescue",role="rescue",state="backoff"} 1',
        'clawfleet_gateway_state{gateway="rescue",role="rescue",state="disabled"} 0',
        'clawfleet_gateway_cpu_percent{gateway="main",role="main"} 12.5',
        'clawfleet_gateway_memory_bytes{gateway="main",role="main"} 123456789',
        'clawfleet_gateway_probe_latency_seconds{gateway="main",role="main",probe="liveness"} 0.015',
        'clawfleet_gateway_probe_latency_seconds{gateway="main",role="main",probe="readiness"} 0.25',
        'clawfleet_manifest_error 0',
        'clawfleet_supervisor_gateways 2',
      ]),
    );
    // Ten states per gateway, exactly one of them current.
    expect(body.match(/^clawfleet_gateway_state\{gateway="main",.* [01]$/gm)).toHaveLength(10);
    expect(body.match(/^clawfleet_gateway_state\{gateway="main",.* 1$/gm)).toHaveLength(1);
    // Unmeasured figures are absent, not zero.
    expect(body).not.toMatch(/clawfleet_gateway_cpu_percent\{gateway="rescue"/);
    expect(body).not.toMatch(/clawfleet_gateway_memory_bytes\{gateway="rescue"/);
    expect(body).not.toMatch(/probe="startup"/);
    expect(Number(/^clawfleet_supervisor_resident_memory_bytes (\d+)$/m.exec(body)?.[1])).toBeGreaterThan(1_000_000);
    expect(Number(/^clawfleet_supervisor_cpu_seconds_total ([\d.e-]+)$/m.exec(body)?.[1])).toBeGreaterThan(0);
  });

  it('forgets a removed gateway at the next scrape', async () => {
    let fleet: FleetMetrics = { manifestErrors: 0, gateways: [gateway({ name: 'main' }), gateway({ name: 'old', memoryBytes: 1 })] };
    const server = await start(() => fleet);
    expect((await fetchText(server.port, '/metrics')).body).toContain('gateway="old"');
    fleet = { manifestErrors: 2, gateways: [gateway({ name: 'main' })] };
    const { body } = await fetchText(server.port, '/metrics');
    expect(body).not.toContain('gateway="old"');
    expect(lines(body)).toEqual(
      expect.arrayContaining(['clawfleet_gateway_up{gateway="main",role="main"} 1', 'clawfleet_manifest_error 1', 'clawfleet_supervisor_gateways 1']),
    );
  });

  it('answers 404 elsewhere and 500 when collecting fails', async () => {
    let fail = false;
    const server = await start(() => {
      if (fail) throw new Error('boom');
      return { manifestErrors: 0, gateways: [] };
    });
    expect((await fetchText(server.port, '/')).status).toBe(404);
    expect((await fetchText(server.port, '/metrics/x')).status).toBe(404);
    expect((await fetchText(server.port, '/metrics?debug=1')).status).toBe(200);
    fail = true;
    const failed = await fetchText(server.port, '/metrics');
    expect(failed.status).toBe(500);
    expect(failed.body).toContain('boom');
    fail = false;
    expect((await fetchText(server.port, '/metrics')).status).toBe(200);
  });

  it('refuses to bind anything but loopback', async () => {
    const collect = (): FleetMetrics => ({ manifestErrors: 0, gateways: [] });
    for (const address of ['0.0.0.0:9464', '192.168.1.10:9464', '[::]:9464', 'example.com:9464', ':9464']) {
      await expect(startMetricsServer(address, collect)).rejects.toThrow(/not loopback|not host:port/);
    }
    await expect(startMetricsServer('0.0.0.0:9464', collect)).rejects.toThrow(/only binds 127\.0\.0\.0\/8, ::1 or localhost/);
    await expect(startMetricsServer('127.0.0.1', collect)).rejects.toThrow(/not host:port/);
    await expect(startMetricsServer('127.0.0.1:99999', collect)).rejects.toThrow(/not host:port/);
  });

  it('accepts every loopback spelling', () => {
    expect(parseLoopbackAddress('127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseLoopbackAddress('127.1.2.3:80')).toEqual({ host: '127.1.2.3', port: 80 });
    expect(parseLoopbackAddress('[::1]:9464')).toEqual({ host: '::1', port: 9464 });
    expect(parseLoopbackAddress('::1:9464')).toEqual({ host: '::1', port: 9464 });
    expect(parseLoopbackAddress('localhost:9464')).toEqual({ host: 'localhost', port: 9464 });
  });

  it('reports a port that is taken', async () => {
    const first = await start(() => ({ manifestErrors: 0, gateways: [] }));
    await expect(startMetricsServer(`127.0.0.1:${first.port}`, () => ({ manifestErrors: 0, gateways: [] }))).rejects.toThrow(
      /cannot serve metrics on 127\.0\.0\.1:\d+: .*EADDRINUSE/,
    );
  });
});
