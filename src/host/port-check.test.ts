import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { canBind, waitUntilBindable } from './port-check.js';

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

function listen(host: string, port = 0): Promise<number> {
  const server = net.createServer();
  servers.push(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, ipv6Only: host.includes(':') }, () => resolve((server.address() as net.AddressInfo).port));
  });
}

describe('canBind', () => {
  it('is true for a free port, and false for one held on 127.0.0.1', async () => {
    const port = await listen('127.0.0.1');
    expect(await canBind(port)).toBe(false);
    await new Promise((resolve) => servers.pop()!.close(resolve));
    expect(await canBind(port)).toBe(true);
  });

  it('is false for a port held only on ::1, which a loopback OpenClaw gateway also binds', async () => {
    const port = await listen('::1');
    expect(await canBind(port)).toBe(false);
  });

  it('is false for a port held on the wildcard address', async () => {
    const port = await listen('0.0.0.0');
    expect(await canBind(port)).toBe(false);
  });
});

describe('waitUntilBindable', () => {
  it('resolves once the holder lets go, and false when it never does', async () => {
    const port = await listen('::1');
    expect(await waitUntilBindable(port, 50)).toBe(false);
    const waiting = waitUntilBindable(port, 5_000);
    await new Promise((resolve) => servers.pop()!.close(resolve));
    expect(await waiting).toBe(true);
  });
});
