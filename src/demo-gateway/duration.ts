const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000 };
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m)$/;

// Reads the demo gateway's duration flags (`0`, `300ms`, `2s`, `1m`); undefined when malformed.
export function parseDurationMs(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  const match = DURATION_PATTERN.exec(trimmed);
  if (!match) return undefined;
  const [, amount = '', unit = ''] = match;
  const factor = UNIT_MS[unit];
  if (factor === undefined) return undefined;
  return Math.round(Number(amount) * factor);
}
