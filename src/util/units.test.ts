import { describe, expect, it } from 'vitest';
import { formatDuration, formatSize, parseDuration, parseSize } from './units.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['2s', 2000],
    ['1.5s', 1500],
    ['5m', 300_000],
    ['1m30s', 90_000],
    ['2h', 7_200_000],
    ['0', 0],
    [' 10s ', 10_000],
  ])('%s is %d ms', (text, expected) => {
    expect(parseDuration(text)).toBe(expected);
  });

  it.each(['10', 'ten seconds', '5 m', '-1s', '1x', '', 's'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('parseSize', () => {
  it.each([
    ['512MB', 512 * 1024 ** 2],
    ['1.5GB', 1.5 * 1024 ** 3],
    ['1Gi', 1024 ** 3],
    ['100KB', 102_400],
    ['64 MiB', 64 * 1024 ** 2],
    ['2048B', 2048],
    ['2g', 2 * 1024 ** 3],
  ])('%s is %d bytes', (text, expected) => {
    expect(parseSize(text)).toBe(expected);
  });

  it.each(['lots', '12', 'MB', '1.5 parsecs', '-1MB'])('rejects %j', (text) => {
    expect(parseSize(text)).toBeUndefined();
  });
});

describe('formatting', () => {
  it('prints durations and sizes people read', () => {
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(12_500)).toBe('12.5s');
    expect(formatDuration(200_000)).toBe('3m20s');
    expect(formatSize(1.5 * 1024 ** 3)).toBe('1.5GB');
    expect(formatSize(512 * 1024 ** 2)).toBe('512MB');
  });
});
