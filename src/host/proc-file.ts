/**
 * Reads small /proc files into one buffer kept for reuse. /proc files report a size of 0, so
 * `readFileSync` reads them through fresh 64 KiB buffers: the supervisor's periodic scan of every
 * process's `stat` made megabytes of short-lived memory a minute out of a few hundred bytes each.
 */
import { closeSync, openSync, readSync } from 'node:fs';

let buffer = Buffer.allocUnsafe(4096);

/** The whole text of a /proc file, as latin1 (its numbers and names are ASCII); throws as `readFileSync` would. */
export function readProcFile(file: string): string {
  const fd = openSync(file, 'r');
  try {
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        const bigger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(bigger, 0, 0, length);
        buffer = bigger;
      }
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    return buffer.toString('latin1', 0, length);
  } finally {
    closeSync(fd);
  }
}
