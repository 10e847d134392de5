/**
 * `clawfleet export systemd|compose|kubernetes [-c FILE] [-o DIR]`: the manifest as the target's own
 * objects. Without `-o` the files go to stdout (as one stream the target reads: a compose file, a YAML
 * stream for `kubectl apply -f -`, units headed by their names); with `-o` each is written into DIR.
 * Notes on what the target cannot express go to stderr. Secret values are never printed: envFiles are
 * referenced by path (EnvironmentFile=, env_file:, a Secret made from the file).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type ExportInput, type ExportResult, EXPORT_TARGETS, type ExportTarget } from '../export/common.js';
import { exportCompose } from '../export/compose.js';
import { exportKubernetes } from '../export/kubernetes.js';
import { exportSystemd } from '../export/systemd.js';
import { loadManifest } from '../manifest/load.js';
import { type CliContext, EXIT, loadContext, manifestFile } from './context.js';
import { reportProblems } from './report.js';

const GENERATORS: Record<ExportTarget, (input: ExportInput) => ExportResult> = {
  systemd: exportSystemd,
  compose: exportCompose,
  kubernetes: exportKubernetes,
};

function isTarget(target: string): target is ExportTarget {
  return (EXPORT_TARGETS as readonly string[]).includes(target);
}

/** All files as one stream of the target's format. */
function joinFiles(target: ExportTarget, files: ReadonlyMap<string, string>): string {
  const entries = [...files];
  if (target === 'systemd') return entries.map(([name, text]) => `# ==> ${name} <==\n${text}`).join('\n');
  // Each Kubernetes file is comments then `---`-separated documents, so plain concatenation is one stream.
  return entries.map(([, text]) => text).join('');
}

function nextSteps(target: ExportTarget, dir: string, files: ReadonlyMap<string, string>): string[] {
  const names = [...files.keys()];
  if (target === 'systemd') {
    return [
      `cp ${names.map((n) => path.join(dir, n)).join(' ')} ~/.config/systemd/user/`,
      'systemctl --user daemon-reload',
      `systemctl --user enable --now ${names.join(' ')}`,
    ];
  }
  if (target === 'compose') return [`docker compose -f ${path.join(dir, names[0] ?? 'compose.yaml')} up -d`];
  return [`kubectl apply -f ${dir}`];
}

/** Runs `export`; returns the exit code. */
export async function runExport(target: string, options: { config?: string; output?: string }, ctx: CliContext): Promise<number> {
  if (!isTarget(target)) {
    ctx.stderr(`unknown export target "${target}": expected one of ${EXPORT_TARGETS.join(', ')}\n`);
    return EXIT.invalid;
  }
  const file = manifestFile(options.config, ctx);
  const loaded = loadManifest(file, loadContext(ctx));
  if (!loaded.ok) {
    reportProblems(loaded.problems, ctx);
    return EXIT.invalid;
  }
  const result = GENERATORS[target]({ plan: loaded.manifest.plan, envFiles: loaded.manifest.envFiles });
  for (const note of result.notes) ctx.stderr(`note: ${note}\n`);

  if (options.output === undefined) {
    ctx.stdout(joinFiles(target, result.files));
    return EXIT.ok;
  }
  const dir = path.resolve(ctx.cwd, options.output);
  const written: string[] = [];
  try {
    await mkdir(dir, { recursive: true });
    for (const [name, text] of result.files) {
      const out = path.join(dir, name);
      await writeFile(out, text);
      written.push(out);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    ctx.stderr(`cannot write into ${dir}: ${code}\n`);
    if (written.length > 0) ctx.stderr(`wrote only: ${written.join(', ')}\n`);
    return EXIT.failure;
  }
  const steps = nextSteps(target, dir, result.files);
  ctx.stdout(`${written.map((w) => `wrote ${w}`).join('\n')}\nthen:\n${steps.map((s) => `  ${s}`).join('\n')}\n`);
  return EXIT.ok;
}
