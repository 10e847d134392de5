/** How manifest problems are shown on a terminal: one line each, then a count. */
import { formatProblem, type ManifestProblem } from '../manifest/problems.js';
import type { CliContext } from './context.js';

/** Prints problems one per line on stderr, with a count. */
export function reportProblems(problems: readonly ManifestProblem[], ctx: CliContext): void {
  for (const problem of problems) ctx.stderr(`${formatProblem(problem)}\n`);
  ctx.stderr(`${problems.length} problem${problems.length === 1 ? '' : 's'} found; nothing was started or changed\n`);
}
