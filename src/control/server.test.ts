import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from './client.js';
import type { ControlResponse } from './protocol.js';
import { listenControl } from './server.js';

const dirs: string[] = [];
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function socketIn(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clawfleet-control-'));
  dirs.push(dir);
  return path.join(dir, 'control.sock');
}

const pong = (pid: number) => async (): Promise<ControlResponse> => ({ ok: true, pong: { pid, manifest: '/m/fleet.yaml' } });

describe('listenControl', () => {
  it('lets one supervisor per socket run, names it to the second, and lets the next one in once it closed', async () => {
    const socket = socketIn();
    const first = await listenControl(socket, pong(111));
    if (!first.ok) throw new Error('the first supervisor did not get the socket');
    expect(await listenControl(socket, pong(222))).toEqual({ ok: false, running: { pid: 111, manifest: '/m/fleet.yaml' } });
    await first.close();
    const next = await listenControl(socket, pong(333));
    expect(next.ok).toBe(true);
    if (next.ok) closers.push(next.close);
    const answer = await request(socket, { cmd: 'ping' }, 1000);
    expect(answer).toMatchObject({ ok: true, response: { pong: { pid: 333 } } });
  });

  it.runIf(process.platform === 'linux')('never takes the socket of a supervisor too busy to answer the ping', async () => {
    const socket = socketIn();
    const busy = await listenControl(socket, () => new Promise(() => {}));
    if (!busy.ok) throw new Error('the first supervisor did not get the socket');
    closers.push(busy.close);
    const second = await listenControl(socket, pong(222), { pingTimeoutMs: 100 });
    expect(second).toEqual({ ok: false, running: { pid: undefined, manifest: undefined } });
    // Its socket file is still the busy supervisor's.
    expect(existsSync(socket)).toBe(true);
  });

  it.runIf(process.platform === 'linux')('lets only one of two supervisors started at the same instant run', async () => {
    const socket = socketIn();
    const both = await Promise.all([listenControl(socket, pong(1)), listenControl(socket, pong(2))]);
    for (const result of both) if (result.ok) closers.push(result.close);
    expect(both.filter((result) => result.ok)).toHaveLength(1);
  });

  it('reclaims a socket file left by a supervisor that died', async () => {
    const socket = socketIn();
    writeFileSync(socket, '');
    const result = await listenControl(socket, pong(444), { pingTimeoutMs: 100 });
    expect(result.ok).toBe(true);
    if (result.ok) closers.push(result.close);
    expect(await request(socket, { cmd: 'ping' }, 1000)).toMatchObject({ ok: true, response: { pong: { pid: 444 } } });
  });
});
