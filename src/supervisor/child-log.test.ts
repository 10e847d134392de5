import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  appendSupervisorNote,
  childLogPath,
  followChildLog,
  openChildLog,
  readLastLines,
  rotateChildLog,
  type ChildLogOptions,
} from './child-log.js';

const WAIT_TIMEOUT_MS = 5000;
const POLL_INTERVAL_MS = 10;

// A child that writes a numbered line every 20 ms, alternating stdout and stderr, for at most 20 s.
const WRITER = `
let i = 0;
const timer = setInterval(() => {
  const line = 'line ' + String(i).padStart(5, '0') + '\\n';
  (i % 2 === 0 ? process.stdout : process.stderr).write(line);
  i += 1;
}, 20);
setTimeout(() => clearInterval(timer), 20000);
`;

const dirs: string[] = [];
const children: ChildProcess[] = [];
const stops: Array<() => void> = [];

afterEach(() => {
  for (const stop of stops.splice(0)) stop();
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function makeOptions(overrides: Partial<ChildLogOptions> = {}): ChildLogOptions {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'child-log-test-'));
  dirs.push(root);
  return { dir: path.join(root, 'logs'), name: 'main', maxBytes: 200, maxFiles: 3, ...overrides };
}

async function waitFor(condition: () => boolean, timeoutMs = WAIT_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs}ms`);
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

function startWriter(options: ChildLogOptions): ChildProcess {
  const fd = openChildLog(options);
  const child = spawn(process.execPath, ['-e', WRITER], { stdio: ['ignore', fd, fd] });
  children.push(child);
  // The child holds its own copy; the supervisor's must not keep the file open.
  fs.closeSync(fd);
  return child;
}

const live = (options: ChildLogOptions): string => childLogPath(options.dir, options.name);
const read = (file: string): string => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');
const numbers = (text: string): number[] => [...text.matchAll(/^line (\d+)$/gm)].map((match) => Number(match[1]));
const lineCount = (file: string): number => numbers(read(file)).length;

function writeLines(options: ChildLogOptions, from: number, to: number): void {
  let text = '';
  for (let i = from; i <= to; i += 1) text += `line ${i}\n`;
  fs.mkdirSync(options.dir, { recursive: true });
  fs.appendFileSync(live(options), text);
}

function rotatedFiles(options: ChildLogOptions): string[] {
  return fs.readdirSync(options.dir).filter((entry) => entry.startsWith(`${options.name}.log.`)).sort();
}

describe('openChildLog', () => {
  it('creates the dir 0700 and the file 0600, and appends to what is there', () => {
    const options = makeOptions();
    fs.closeSync(openChildLog(options));
    fs.appendFileSync(live(options), 'before\n');
    const fd = openChildLog(options);
    fs.writeSync(fd, 'after\n');
    fs.closeSync(fd);
    expect(fs.statSync(options.dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(live(options)).mode & 0o777).toBe(0o600);
    expect(read(live(options))).toBe('before\nafter\n');
  });
});

describe('rotateChildLog', () => {
  it('does nothing while the live file is small or missing', () => {
    const options = makeOptions();
    expect(rotateChildLog(options)).toBe(false);
    writeLines(options, 1, 3);
    expect(rotateChildLog(options)).toBe(false);
    expect(read(live(options))).toBe('line 1\nline 2\nline 3\n');
  });

  it('rotates under a real child: no NUL hole, older lines in .1, the child keeps writing', async () => {
    const options = makeOptions({ maxBytes: 300 });
    const child = startWriter(options);
    await waitFor(() => fs.statSync(live(options)).size > options.maxBytes);
    expect(rotateChildLog(options)).toBe(true);
    await waitFor(() => lineCount(live(options)) >= 5);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    const current = fs.readFileSync(live(options));
    expect(current.indexOf(0)).toBe(-1);
    expect(current.toString('utf8')).toMatch(/^line \d{5}\n/);
    const older = numbers(read(`${live(options)}.1`));
    const newer = numbers(current.toString('utf8'));
    expect(older[0]).toBe(0);
    expect(Math.max(...older)).toBeLessThan(Math.min(...newer));
    // Copy-truncate may lose a write in the instant between the copy and the truncate, never more.
    const all = [...older, ...newer];
    const gaps = all.slice(1).filter((value, index) => value !== (all[index] ?? 0) + 1).length;
    expect(gaps).toBeLessThanOrEqual(1);
  });

  it('keeps at most maxFiles rotations, newest in .1', () => {
    const options = makeOptions({ maxBytes: 10, maxFiles: 3 });
    for (let round = 1; round <= 6; round += 1) {
      writeLines(options, round * 100, round * 100 + 2);
      expect(rotateChildLog(options)).toBe(true);
    }
    expect(rotatedFiles(options)).toEqual(['main.log.1', 'main.log.2', 'main.log.3']);
    expect(numbers(read(`${live(options)}.1`))).toEqual([600, 601, 602]);
    expect(numbers(read(`${live(options)}.3`))).toEqual([400, 401, 402]);
    expect(read(live(options))).toBe('');
  });

  it('drops rotations beyond a lowered cap, and keeps none with maxFiles 0', () => {
    const options = makeOptions({ maxBytes: 10, maxFiles: 4 });
    for (let round = 1; round <= 4; round += 1) {
      writeLines(options, round, round + 5);
      rotateChildLog(options);
    }
    writeLines(options, 1, 5);
    expect(rotateChildLog({ ...options, maxFiles: 2 })).toBe(true);
    expect(rotatedFiles(options)).toEqual(['main.log.1', 'main.log.2']);
    writeLines(options, 1, 5);
    expect(rotateChildLog({ ...options, maxFiles: 0 })).toBe(true);
    expect(rotatedFiles(options)).toEqual([]);
    expect(read(live(options))).toBe('');
  });

  it('reports a failure instead of throwing', () => {
    const options = makeOptions({ maxBytes: 10, maxFiles: 1 });
    writeLines(options, 1, 5);
    // A directory where the oldest rotation should be cannot be removed as a file, even by root.
    fs.mkdirSync(`${live(options)}.1`);
    fs.writeFileSync(path.join(`${live(options)}.1`, 'blocker'), '');
    const errors: Error[] = [];
    expect(rotateChildLog(options, (error) => errors.push(error))).toBe(false);
    expect(errors).toHaveLength(1);
    expect(numbers(read(live(options)))).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('readLastLines', () => {
  it('reads across rotation boundaries, oldest first', () => {
    const options = makeOptions({ maxBytes: 10 });
    writeLines(options, 1, 5);
    rotateChildLog(options);
    writeLines(options, 6, 10);
    rotateChildLog(options);
    writeLines(options, 11, 13);
    fs.appendFileSync(live(options), 'partial');
    expect(readLastLines(options, 3)).toEqual(['line 12', 'line 13', 'partial']);
    expect(readLastLines(options, 8)).toEqual([...[7, 8, 9, 10, 11, 12, 13].map((i) => `line ${i}`), 'partial']);
    expect(readLastLines(options, 100)).toHaveLength(14);
    expect(readLastLines(options, 0)).toEqual([]);
  });

  it('reads the tail of a file larger than one chunk', () => {
    const options = makeOptions({ maxBytes: 10 });
    writeLines(options, 1, 20000);
    expect(readLastLines(options, 2)).toEqual(['line 19999', 'line 20000']);
    expect(readLastLines(options, 20000)).toHaveLength(20000);
  });

  it('returns nothing for a gateway that never logged', () => {
    expect(readLastLines(makeOptions(), 10)).toEqual([]);
  });
});

describe('followChildLog', () => {
  it('sees lines appended after it started, and lines after a truncation', async () => {
    const options = makeOptions({ maxBytes: 10 });
    writeLines(options, 1, 3);
    const seen: string[] = [];
    stops.push(followChildLog(options, (line) => seen.push(line)));
    writeLines(options, 4, 5);
    await waitFor(() => seen.length >= 2);
    expect(seen).toEqual(['line 4', 'line 5']);
    rotateChildLog(options);
    writeLines(options, 6, 6);
    await waitFor(() => seen.length >= 3);
    expect(seen).toEqual(['line 4', 'line 5', 'line 6']);
  });

  it('loses nothing when a rotation and new writes fall between two polls', async () => {
    const options = makeOptions({ maxBytes: 10 });
    writeLines(options, 1, 3);
    const seen: string[] = [];
    stops.push(followChildLog(options, (line) => seen.push(line)));
    // Unread lines go to .1 and the live file regrows past the old offset before any poll can notice.
    writeLines(options, 4, 6);
    rotateChildLog(options);
    writeLines(options, 7, 40);
    await waitFor(() => seen.length >= 37);
    expect(seen).toEqual(Array.from({ length: 37 }, (_, i) => `line ${i + 4}`));
  });

  it('follows a real child that outlives the parent copy of its fd', async () => {
    const options = makeOptions({ maxBytes: 1_000_000 });
    const seen: string[] = [];
    stops.push(followChildLog(options, (line) => seen.push(line)));
    startWriter(options);
    await waitFor(() => seen.length >= 10);
    expect(numbers(seen.join('\n')).slice(0, 10)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('stops when asked', async () => {
    const options = makeOptions();
    const seen: string[] = [];
    const stop = followChildLog(options, (line) => seen.push(line));
    stop();
    writeLines(options, 1, 1);
    const probe: string[] = [];
    stops.push(followChildLog(options, (line) => probe.push(line)));
    writeLines(options, 2, 2);
    // A second follower started later proves a poll has run since; the stopped one must have stayed silent.
    await waitFor(() => probe.length >= 1);
    expect(seen).toEqual([]);
  });
});

describe('appendSupervisorNote', () => {
  it('writes one stamped line, creating what is missing', () => {
    const options = makeOptions();
    appendSupervisorNote(options, 'started pid 42\nexit soon', new Date('2026-01-02T03:04:05.000Z'));
    expect(read(live(options))).toBe('[clawfleet 2026-01-02T03:04:05.000Z] started pid 42 exit soon\n');
    expect(fs.statSync(live(options)).mode & 0o777).toBe(0o600);
  });

  it('never throws', () => {
    const options = makeOptions();
    fs.mkdirSync(live(options), { recursive: true });
    expect(() => appendSupervisorNote(options, 'note')).not.toThrow();
  });
});
