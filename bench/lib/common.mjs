// Helpers shared by the benchmark scripts: statistics, logging to stderr, one probe-like GET.
import http from 'node:http';

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
