/** Per-gateway log files that children write to directly, rotated by copy-truncate; decides nothing. */
import fs from 'node:fs';
import path from 'node:path';
import { isoTime } from '../util/iso-time.js';

/** Where one gateway's log lives and how much of it is kept. */
export interface ChildLogOptions {
  dir: string;
  name: string;
  /** The live file is rotated once it is larger than this. */
  maxBytes: number;
  /** How many rotated files (<name>.log.1 … .N) are kept. */
  maxFiles: number;
}

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
const CHUNK_BYTES = 64 * 1024;
const FOLLOW_POLL_MS = 250;
const NEWLINE = 0x0a;

/** Path of the live log file of a gateway: <dir>/<name>.log */
export function childLogPath(dir: string, name: string): string {
  return path.join(dir, `${name}.log`);
}

function rotatedPath(options: ChildLogOptions, index: number): string {
  return `${childLogPath(options.dir, options.name)}.${index}`;
}

/** Opens the live file for appending (creating it 0o600, its dir 0o700) and returns an fd for spawn's stdio. */
export function openChildLog(options: ChildLogOptions): number {
  fs.mkdirSync(options.dir, { recursive: true, mode: DIR_MODE });
  // O_APPEND makes copy-truncate safe: after a truncate the child writes at the new end, not past a hole of NULs.
  return fs.openSync(childLogPath(options.dir, options.name), 'a', FILE_MODE);
}

/** Rotates the live file by copy-truncate once it is over maxBytes; true when it did. Never throws. */
export function rotateChildLog(options: ChildLogOptions, onError?: (error: Error) => void): boolean {
  try {
    const live = childLogPath(options.dir, options.name);
    const stat = fs.statSync(live, { throwIfNoEntry: false });
    if (stat === undefined || stat.size <= options.maxBytes) return false;
    shiftRotations(options);
    copyThenTruncate(live, options.maxFiles >= 1 ? rotatedPath(options, 1) : undefined);
    return true;
  } catch (error) {
    onError?.(error instanceof Error ? error : new Error(String(error)));
    return false;
  }
}

/** Indexes of the existing rotated files, newest (1) first. */
function rotationIndexes(options: ChildLogOptions): number[] {
  const prefix = `${options.name}.log.`;
  const indexes: number[] = [];
  const entries = fs.existsSync(options.dir) ? fs.readdirSync(options.dir) : [];
  for (const entry of entries) {
    const suffix = entry.startsWith(prefix) ? entry.slice(prefix.length) : '';
    if (/^[1-9]\d*$/.test(suffix)) indexes.push(Number(suffix));
  }
  return indexes.sort((a, b) => a - b);
}

// Oldest first, so each rename lands on a name already vacated; files at or past the cap make room instead.
function shiftRotations(options: ChildLogOptions): void {
  for (const index of rotationIndexes(options).reverse()) {
    const from = rotatedPath(options, index);
    if (index >= options.maxFiles) fs.rmSync(from, { force: true });
    else fs.renameSync(from, rotatedPath(options, index + 1));
  }
}

// Reads to EOF rather than to a size taken up front, so only writes in the instant before the truncate can be lost.
function copyThenTruncate(live: string, target: string | undefined): void {
  const source = fs.openSync(live, 'r+');
  try {
    if (target !== undefined) copyToEnd(source, target);
    fs.ftruncateSync(source, 0);
  } finally {
    fs.closeSync(source);
  }
}

function copyToEnd(source: number, target: string): void {
  const out = fs.openSync(target, 'w', FILE_MODE);
  try {
    forEachChunk(source, 0, (bytes) => fs.writeSync(out, bytes));
  } finally {
    fs.closeSync(out);
  }
}

/** Hands fd's bytes from `from` to its current end to `use`, a chunk at a time; returns where it stopped. */
function forEachChunk(fd: number, from: number, use: (bytes: Buffer) => void): number {
  const buffer = Buffer.alloc(CHUNK_BYTES);
  let position = from;
  for (let read = fs.readSync(fd, buffer, 0, CHUNK_BYTES, position); read > 0; ) {
    use(buffer.subarray(0, read));
    position += read;
    read = fs.readSync(fd, buffer, 0, CHUNK_BYTES, position);
  }
  return position;
}

/** The last n lines across rotations (oldest file first, then live), for `clawfleet logs -n`. */
export function readLastLines(options: ChildLogOptions, n: number): string[] {
  const rotated = rotationIndexes(options).map((index) => rotatedPath(options, index));
  let lines: string[] = [];
  for (const file of [childLogPath(options.dir, options.name), ...rotated]) {
    if (lines.length >= n) break;
    lines = [...tailLines(file, n - lines.length), ...lines];
  }
  return lines.slice(Math.max(0, lines.length - n));
}

// Reads backwards in chunks, so `logs -n 20` of a large file costs a read or two, not the whole file.
function tailLines(file: string, n: number): string[] {
  if (n <= 0) return [];
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const chunks: Buffer[] = [];
    let position = fs.fstatSync(fd).size;
    let newlines = 0;
    while (position > 0 && newlines <= n) {
      const length = Math.min(CHUNK_BYTES, position);
      position -= length;
      const chunk = Buffer.alloc(length);
      fs.readSync(fd, chunk, 0, length, position);
      chunks.unshift(chunk);
      for (const byte of chunk) if (byte === NEWLINE) newlines += 1;
    }
    const lines = Buffer.concat(chunks).toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    if (position > 0) lines.shift();
    return lines.slice(Math.max(0, lines.length - n));
  } finally {
    fs.closeSync(fd);
  }
}

/** Follows the live file like `tail -F`, from its current end, across rotations; returns a stop function. */
export function followChildLog(options: ChildLogOptions, onLine: (line: string) => void): () => void {
  const live = childLogPath(options.dir, options.name);
  const rotated = rotatedPath(options, 1);
  let position = fs.statSync(live, { throwIfNoEntry: false })?.size ?? 0;
  let rotation = signature(rotated);
  let pending = Buffer.alloc(0);
  const split = (bytes: Buffer, lines: string[]): void => {
    pending = Buffer.concat([pending, bytes]);
    for (let end = pending.indexOf(NEWLINE); end >= 0; end = pending.indexOf(NEWLINE)) {
      lines.push(pending.subarray(0, end).toString('utf8'));
      pending = pending.subarray(end + 1);
    }
  };
  const poll = (lines: string[]): void => {
    const nextRotation = signature(rotated);
    // A new .1 means a rotation since the last poll, and what we had not read yet was copied there.
    if (nextRotation !== rotation && nextRotation !== undefined) {
      readFrom(rotated, position, (bytes) => split(bytes, lines));
      position = 0;
    }
    rotation = nextRotation;
    const size = fs.statSync(live, { throwIfNoEntry: false })?.size;
    if (size === undefined) return;
    if (size < position) position = 0;
    position = readFrom(live, position, (bytes) => split(bytes, lines));
  };
  const timer = setInterval(() => {
    const lines: string[] = [];
    try {
      poll(lines);
    } catch {
      // A file caught mid-rotation or removed by hand: the next poll sees a settled state.
    }
    // Outside the try, so a throwing onLine is the caller's bug to see, not a reason to re-read.
    for (const line of lines) onLine(line);
  }, FOLLOW_POLL_MS);
  // Not unref'd: following is what keeps `clawfleet logs -f` alive until it is interrupted.
  return () => clearInterval(timer);
}

// Identity of the newest rotated file: it changes whenever rotateChildLog writes one, even on a reused inode.
function signature(file: string): string | undefined {
  const stat = fs.statSync(file, { throwIfNoEntry: false, bigint: true });
  return stat === undefined ? undefined : `${stat.ino}:${stat.size}:${stat.mtimeNs}`;
}

function readFrom(file: string, from: number, use: (bytes: Buffer) => void): number {
  const fd = fs.openSync(file, 'r');
  try {
    return forEachChunk(fd, from, use);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes one line "[clawfleet <ISO time>] <text>\n" into the live file, to mark starts and exits. Never throws. */
export function appendSupervisorNote(options: ChildLogOptions, text: string, now: Date = new Date()): void {
  try {
    fs.mkdirSync(options.dir, { recursive: true, mode: DIR_MODE });
    const line = `[clawfleet ${isoTime(now.getTime())}] ${text.replace(/[\r\n]+/g, ' ')}\n`;
    fs.appendFileSync(childLogPath(options.dir, options.name), line, { mode: FILE_MODE });
  } catch {
    // A note is a courtesy; a full disk must not stop supervision.
  }
}
