/** Parsing of the human units a manifest uses: durations (`500ms`, `2s`, `1m30s`) and sizes (`512MB`). */

const DURATION_UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Source of the duration pattern, shared with the JSON Schema so editors flag the same strings. */
export const DURATION_PATTERN = '^(0|(\\d+(\\.\\d+)?(ms|s|m|h|d))+)$';
const DURATION_RE = new RegExp(DURATION_PATTERN);
const DURATION_PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

// Binary multiples: memory is reported by the kernel in pages of 1 KiB multiples, and `512MB` in a
// memory limit means what `ps` and `top` print as 512M. Kubernetes-style `Mi`/`Gi` are accepted too.
const SIZE_UNIT_BYTES: Record<string, number> = {
  b: 1,
  k: 1024, kb: 1024, ki: 1024, kib: 1024,
  m: 1024 ** 2, mb: 1024 ** 2, mi: 1024 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1024 ** 3, gi: 1024 ** 3, gib: 1024 ** 3,
  t: 1024 ** 4, tb: 1024 ** 4, ti: 1024 ** 4, tib: 1024 ** 4,
};

/** Source of the size pattern, shared with the JSON Schema. */
export const SIZE_PATTERN = '^\\d+(\\.\\d+)?\\s*([kKmMgGtT]([iI]?[bB]?)?|[bB])$';
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i;

// A fleet repeats the same few durations thousands of times; parsing each once keeps planning linear and cheap.
const durationCache = new Map<string, number | undefined>();
const DURATION_CACHE_MAX = 1024;

/** Milliseconds for a duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (durationCache.has(text)) return durationCache.get(text);
  const value = parseDurationUncached(text);
  if (durationCache.size < DURATION_CACHE_MAX) durationCache.set(text, value);
  return value;
}

function parseDurationUncached(text: string): number | undefined {
  const trimmed = text.trim();
  if (!DURATION_RE.test(trimmed)) return undefined;
  if (trimmed === '0') return 0;
  let total = 0;
  for (const match of trimmed.matchAll(DURATION_PART_RE)) {
    total += Number(match[1]) * (DURATION_UNIT_MS[match[2] ?? ''] ?? Number.NaN);
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

/** Bytes for a size string, or undefined when it is not one. */
export function parseSize(text: string): number | undefined {
  const match = SIZE_RE.exec(text.trim());
  if (!match) return undefined;
  const unit = SIZE_UNIT_BYTES[(match[2] ?? '').toLowerCase()];
  if (unit === undefined) return undefined;
  return Math.round(Number(match[1]) * unit);
}

/** A duration for people: `850ms`, `12.5s`, `3m20s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  if (minutes < 60) return seconds ? `${minutes}m${seconds}s` : `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  return `${hours}h${minutes % 60}m`;
}

/** A size for people, in binary units: `512MB`, `1.5GB`. */
export function formatSize(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${Number(value.toFixed(value < 10 && unit > 0 ? 1 : 0))}${units[unit]}`;
}
