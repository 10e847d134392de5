/**
 * `Date#toISOString` without `Date#toISOString`: the built-in's first call costs a long-running process
 * ~0.9 MB of RSS (it pulls in V8's date formatting), while these parts come from plain arithmetic.
 * Same output for years 0–9999.
 */
export function isoTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}Z`;
}
