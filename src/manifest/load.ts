/**
 * Reads a manifest from disk and turns it into a fleet plan, or into every problem it has, each with
 * file, line and key path. The only module of the manifest layer that does I/O.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import JSON5 from 'json5';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { type InstanceConfigPorts, planFleet } from '../plan/plan-fleet.js';
import type { FleetPlan, KeyPath } from '../plan/types.js';
import { extractInstancePorts } from './instance-config.js';
import { translateIssue } from './issues.js';
import { locate } from './locate.js';
import type { ManifestProblem } from './problems.js';
import { manifestSchema, type RawManifest } from './schema.js';

/** A manifest that planned cleanly, with what was read to plan it. */
export interface LoadedManifest {
  readonly plan: FleetPlan;
  readonly raw: RawManifest;
  /** Parsed envFile contents by absolute path. */
  readonly envFiles: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

export type LoadResult = { ok: true; manifest: LoadedManifest } | { ok: false; problems: ManifestProblem[] };

/** The world the loader reads: the user's home and state dir, normally from the process environment. */
export interface LoadContext {
  readonly home: string;
  readonly stateHome: string;
  readonly cwd: string;
}

function errorText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory, not a file';
  return error instanceof Error ? error.message : String(error);
}

/** Parses and checks manifest text; `display` is the file name shown in messages. */
export function parseManifest(text: string, display: string):
  | { ok: true; raw: RawManifest; locateKey: (path: KeyPath) => { line?: number; column?: number } }
  | { ok: false; problems: ManifestProblem[]; partial?: RawManifest; locateKey?: (path: KeyPath) => { line?: number; column?: number } } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) => {
        const pos = lines.linePos(error.pos[0]);
        const message = error.code === 'DUPLICATE_KEY' ? 'a key appears twice in the same map (gateway names must be unique)' : error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        return { file: display, line: pos.line, column: pos.col, path: [], message: `YAML syntax: ${message}` };
      }),
    };
  }
  let input: unknown;
  try {
    input = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // An alias without its anchor, or an alias bomb: the parser only notices while building values.
    return { ok: false, problems: [{ file: display, line: 1, column: 1, path: [], message: `YAML: ${(error as Error).message}` }] };
  }
  const locateKey = (keyPath: KeyPath): { line?: number; column?: number } => locate(doc, lines, keyPath) ?? {};
  if (input === null || input === undefined) {
    return { ok: false, problems: [{ file: display, path: [], message: 'the manifest is empty; start from `clawfleet init`' }] };
  }
  const parsed = manifestSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .flatMap((issue) => translateIssue(issue, input))
      .map((m) => ({ file: display, ...locateKey(m.path), path: m.path, message: m.message }));
    return { ok: false, problems, partial: validPart(input, parsed.error.issues), locateKey };
  }
  return { ok: true, raw: parsed.data, locateKey };
}

/**
 * The gateways that passed the schema, when the rest of the manifest is sound enough to plan them:
 * planning them too lets one run of `validate` report port and path conflicts beside schema errors.
 */
function validPart(input: unknown, issues: readonly z.core.$ZodIssue[]): RawManifest | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  // A typo'd key is reported already; planning the gateway without it still finds its conflicts.
  const root = structuredClone(input) as Record<string, unknown>;
  const badGateways = new Set<string>();
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      let node: unknown = root;
      for (const key of issue.path) node = (node as Record<PropertyKey, unknown> | undefined)?.[key];
      if (typeof node === 'object' && node !== null) for (const key of issue.keys) delete (node as Record<string, unknown>)[key];
    } else if (issue.path[0] === 'gateways' && issue.path.length >= 2) badGateways.add(String(issue.path[1]));
    else if (issue.path[0] !== 'supervisor') return undefined;
  }
  const gateways = Object.fromEntries(
    Object.entries((root.gateways ?? {}) as Record<string, unknown>).filter(([name]) => !badGateways.has(name)),
  );
  const retry = manifestSchema.safeParse({ ...root, supervisor: undefined, gateways });
  return retry.success ? retry.data : undefined;
}

/** Reads, validates and plans the manifest at `file`; `display` is how messages name it (default: `file`). */
export function loadManifest(file: string, ctx: LoadContext, display: string = file): LoadResult {
  const manifestPath = path.resolve(ctx.cwd, file);
  const shown = display;
  let text: string;
  try {
    text = readFileSync(manifestPath, 'utf8');
  } catch (error) {
    return { ok: false, problems: [{ file: shown, path: [], message: `cannot read the manifest: ${errorText(error)}` }] };
  }
  const parsed = parseManifest(text, shown);
  if (!parsed.ok) {
    if (parsed.partial === undefined || parsed.locateKey === undefined) return { ok: false, problems: sortProblems(parsed.problems) };
    const locateKey = parsed.locateKey;
    const extra = planFleet(parsed.partial, { manifestPath, home: ctx.home, stateHome: ctx.stateHome }).problems;
    const located = extra.map((p) => ({ file: shown, ...locateKey(p.path), path: p.path, message: p.message }));
    return { ok: false, problems: sortProblems([...parsed.problems, ...located]) };
  }
  const at = (keyPath: KeyPath, message: string): ManifestProblem => ({ file: shown, ...parsed.locateKey(keyPath), path: keyPath, message });

  const planCtx = { manifestPath, home: ctx.home, stateHome: ctx.stateHome };
  const first = planFleet(parsed.raw, planCtx);
  const problems: ManifestProblem[] = [];

  const instancePorts = new Map<string, InstanceConfigPorts>();
  for (const gateway of first.plan.gateways) {
    if (gateway.kind !== 'openclaw' || gateway.configPath === undefined) continue;
    let configText: string;
    try {
      configText = readFileSync(gateway.configPath, 'utf8');
    } catch {
      continue; // no config yet: OpenClaw's own defaults, already in the derived footprint
    }
    try {
      instancePorts.set(gateway.configPath, extractInstancePorts(JSON5.parse(configText), gateway.configPath));
    } catch (error) {
      problems.push(at(['gateways', gateway.name], `its OpenClaw config ${gateway.configPath} is not valid JSON5: ${errorText(error).split('\n')[0]}`));
    }
  }
  const result = instancePorts.size > 0 ? planFleet(parsed.raw, { ...planCtx, instancePorts }) : first;

  const envFiles = new Map<string, Record<string, string>>();
  for (const gateway of result.plan.gateways) {
    if (gateway.envFile === undefined || envFiles.has(gateway.envFile)) continue;
    try {
      envFiles.set(gateway.envFile, parseEnv(readFileSync(gateway.envFile, 'utf8')) as Record<string, string>);
    } catch (error) {
      const keyPath = parsed.raw.gateways[gateway.name]?.envFile !== undefined ? ['gateways', gateway.name, 'envFile'] : ['defaults', 'envFile'];
      problems.push(at(keyPath, `cannot read envFile ${gateway.envFile}: ${errorText(error)}`));
    }
  }

  problems.push(...result.problems.map((p) => at(p.path, p.message)));
  if (problems.length > 0) return { ok: false, problems: sortProblems(problems) };
  return { ok: true, manifest: { plan: result.plan, raw: parsed.raw, envFiles } };
}

function sortProblems(problems: ManifestProblem[]): ManifestProblem[] {
  return problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}
