/** Manifest problems as users see them: file, line, key path and a sentence. */
import type { KeyPath } from '../plan/types.js';

/** One thing wrong with a manifest, located as precisely as the source allows. */
export interface ManifestProblem {
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
  readonly path: KeyPath;
  readonly message: string;
}

/** `gateways.main.health.liveness` — the way keys are named in messages. */
export function formatKeyPath(path: KeyPath): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? key : `.${key}`)).join('');
}

/** `config/fleet.yaml:12:5: gateways.main.prot: unknown key ...` */
export function formatProblem(problem: ManifestProblem): string {
  const where = problem.line !== undefined ? `${problem.file}:${problem.line}:${problem.column ?? 1}` : problem.file;
  const key = problem.path.length > 0 ? ` ${formatKeyPath(problem.path)}:` : '';
  return `${where}:${key} ${problem.message}`;
}
