// Helpers shared by the benchmark scripts: statistics, logging to stderr, one probe-like GET, ports,
// /proc figures, child exits, and the environment a supervised gateway inherits.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { INHERITED_ENV } from '../../dist/plan/environment.js';

export const log = (...parts) => process.stderr.write(`${parts.join(' ')}\n`);

/** The q-quantile by the nearest-rank method (p90 = quantile(v, 0.9)). */
export function quantile(values, q) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export const median = (v) => {
  if (v.length === 0) return NaN;
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const round1 = (n) => Math.round(n * 10) / 10;
export const round3 = (n) => Math.round(n * 1000) / 1000;

/** Median, p90, min, max and the samples of a list of milliseconds, rounded to 0.1 ms. */
export const summary = (samples) => ({
  n: samples.length,
  medianMs: round1(median(samples)),
  p90Ms: round1(quantile(samples, 0.9)),
  minMs: round1(Math.min(...samples)),
  maxMs: round1(Math.max(...samples)),
  samplesMs: samples.map(round1),
});

/** One GET with a fresh connection; resolves with the status, or with the error code. */
export function get(port, pathname, timeoutMs) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (value) => {
      if (done) return;
      done = true;
      resolve(value);
    };
    const req = http.get({ host: '127.0.0.1', port, path: pathname, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      finish({ status: res.statusCode });
    });
    req.on('timeout', () => {
      req.destroy();
      finish({ error: 'timeout' });
    });
    req.on('error', (error) => finish({ error: error.code ?? error.message }));
  });
}

/** Whether a loopback port can be bound right now. */
export function canBind(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Waits until every port can be bound, checking 100 at a time and then only those still busy. */
export async function waitPortsFree(ports, { timeoutMs = 10_000, pollMs = 5 } = {}) {
  const deadline = performance.now() + timeoutMs;
  let pending = [...ports];
  for (;;) {
    const busy = [];
    for (let i = 0; i < pending.length; i += 100) {
      const batch = pending.slice(i, i + 100);
      const free = await Promise.all(batch.map(canBind));
      batch.forEach((port, j) => free[j] || busy.push(port));
    }
    if (busy.length === 0) return;
    if (performance.now() > deadline) throw new Error(`${busy.length} port(s) still busy after ${timeoutMs} ms: ${busy.slice(0, 10).join(', ')}${busy.length > 10 ? ', …' : ''}`);
    pending = busy;
    await sleep(pollMs);
  }
}

/** Resolves once the child has exited (at once if it already has). */
export function exitOf(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Clock ticks per second, the unit of /proc CPU times. */
export function clockTicks() {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** utime+stime in clock ticks, from /proc/<pid>/stat (fields 14 and 15, counted after the comm). */
export function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * What a supervised gateway inherits from this process (clawfleet's own allow-list, plus LC_*), so that
 * a bare gateway and every supervisor's gateways start with the same environment.
 */
export function inheritedEnv() {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && (INHERITED_ENV.includes(name) || name.startsWith('LC_'))) env[name] = value;
  }
  return env;
}

/** Calls fn with each JSON line of a supervisor's stdout (its event log), stamped with receivedAt. */
export function onEvents(stream, fn) {
  createInterface({ input: stream }).on('line', (line) => {
    let event;
    try {
      event = JSON.parse(line);
    } catch {
      return;
    }
    event.receivedAt = performance.now();
    fn(event);
  });
}
