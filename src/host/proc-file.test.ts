import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readProcFile } from './proc-file.js';

const dir = mkdtempSync(path.join(tmpdir(), 'clawfleet-proc-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readProcFile', () => {
  it.runIf(process.platform === 'linux')('reads a /proc file whole, as readFileSync does', () => {
    const text = readProcFile(`/proc/${process.pid}/stat`);
    expect(text.startsWith(`${process.pid} (`)).toBe(true);
    expect(text.split(' ').length).toBeGreaterThan(40);
  });

  it('reads files larger than its buffer, and a shorter one after them', () => {
    const big = 'x'.repeat(10_000) + 'end';
    writeFileSync(path.join(dir, 'big'), big);
    writeFileSync(path.join(dir, 'small'), 'small');
    expect(readProcFile(path.join(dir, 'big'))).toBe(big);
    expect(readProcFile(path.join(dir, 'small'))).toBe('small');
    expect(readProcFile(path.join(dir, 'small'))).toBe(readFileSync(path.join(dir, 'small'), 'latin1'));
  });

  it('throws for a missing file, as readFileSync does', () => {
    expect(() => readProcFile(path.join(dir, 'missing'))).toThrow(/ENOENT/);
  });
});
