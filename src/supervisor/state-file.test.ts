import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { processCommand } from '../host/listeners.js';
import { readProcStat } from './spawner.js';
import { bootId, executable, isSameProcess, readStateFile, type RecordedFleet, type RecordedGateway, writeStateFile } from './state-file.js';

const self: RecordedGateway = {
  pid: process.pid,
  pgid: process.pid,
  startTicks: readProcStat(process.pid)!.startTicks,
  command: processCommand(process.pid),
  exe: executable(process.pid),
  specHash: 'abc',
  port: 18789,
  startedAt: 0,
};
const fleet = (gateway: RecordedGateway, boot = bootId()): RecordedFleet => ({ version: 1, supervisorPid: 1, bootId: boot, gateways: { main: gateway } });

describe('isSameProcess', () => {
  it('recognises the very process it recorded', () => {
    expect(isSameProcess(self, fleet(self))).toBe(true);
  });

  it('never takes a reused pid for the recorded process', () => {
    const reused = { ...self, startTicks: self.startTicks! + 1 };
    expect(isSameProcess(reused, fleet(reused))).toBe(false);
  });

  it('knows nothing survives a reboot', () => {
    expect(isSameProcess(self, fleet(self, 'another-boot'))).toBe(false);
  });

  it('follows a gateway that retitled itself by its executable', () => {
    const renamed = { ...self, command: 'openclaw-gateway' };
    expect(isSameProcess(renamed, fleet(renamed))).toBe(true);
    const other = { ...renamed, exe: '/usr/bin/something-else' };
    expect(isSameProcess(other, fleet(other))).toBe(false);
  });

  it('says no for a pid that is gone', () => {
    const gone = { ...self, pid: 2 ** 22 + 1 };
    expect(isSameProcess(gone, fleet(gone))).toBe(false);
  });
});

describe('state file', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips, and leaves no temp file behind', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'clawfleet-state-'));
    expect(readStateFile(dir)).toBeUndefined();
    writeStateFile(dir, fleet(self));
    expect(readStateFile(dir)).toEqual(fleet(self));
    expect(readdirSync(dir)).toEqual(['state.json']);
  });
});
