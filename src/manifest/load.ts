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
import { type InstanceConfig, planFleet } from '../plan/plan-fleet.js';
import type { FleetPlan, KeyPath, PlanProblem } from '../plan/types.js';
import { extractInstanceConfig } from './instance-config.js';
import { translateIssue } from './issues.js';
import { duplicateKeyAt, locate } from './locate.js';
import { formatKeyPath, type ManifestProblem } from './problems.js';
import { manifestSchema, type RawManifest } from './schema.js';

/** A manifest that planned cleanly, with what was read to plan it. */
export interface LoadedManifest {
  readonly plan: FleetPlan;
  readonly raw: RawManifest;
  /** Parsed envFile contents by absolute path. */
  readonly envFiles: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

export type LoadResult = { ok: true; manifest: LoadedManifest } | { ok: false; problems: ManifestProblem[] };

/**
 * What is left of a manifest that failed the schema once its invalid values are taken out: enough to
 * plan the fleet, so one run reports its port and path conflicts beside the schema errors.
 */
export interface RepairedManifest {
  readonly raw: RawManifest;
  /** Key paths taken out; what the planner finds there or below is a consequence, not news. */
  readonly removed: readonly KeyPath[];
}

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
  | { ok: false; problems: ManifestProblem[]; partial?: RepairedManifest; locateKey?: (path: KeyPath) => { line?: number; column?: number } } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) => {
        const pos = lines.linePos(error.pos[0]);
        const duplicate = error.code === 'DUPLICATE_KEY' ? duplicateKeyAt(doc, error.pos[0]) : undefined;
        if (duplicate !== undefined) return { file: display, line: pos.line, column: pos.col, ...duplicateKeyProblem(duplicate.parent, duplicate.key) };
        const message = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
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
    return { ok: false, problems, partial: withoutInvalidValues(input, parsed.error.issues), locateKey };
  }
  return { ok: true, raw: parsed.data, locateKey };
}

/** A key written twice, in words that fit where it is. */
function duplicateKeyProblem(parent: KeyPath, key: string): { path: KeyPath; message: string } {
  const path = [...parent, key];
  if (parent.length === 1 && parent[0] === 'gateways') return { path, message: `the gateway "${key}" is defined twice; gateway names must be unique` };
  const where = parent.length === 0 ? 'at the top level' : parent.length === 2 && parent[0] === 'gateways' ? `in gateway "${String(parent[1])}"` : `in ${formatKeyPath(parent)}`;
  return { path, message: `the key "${key}" appears twice ${where}; keep one` };
}

/** Keys that decide what a gateway runs and where: a gateway with an invalid one is not planned, not guessed at. */
const IDENTITY_KEYS = new Set(['kind', 'port', 'command']);
/** Each round of repairs can only uncover issues deeper in what was kept; a few rounds always suffice. */
const MAX_REPAIR_ROUNDS = 4;

type Tree = Record<string | number, unknown>;

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null;
}

/**
 * The manifest with every invalid value taken out, so each falls back to its default: unknown keys are
 * dropped, a bad leaf is removed, a bad list goes whole, and a gateway whose kind, port or command is
 * invalid is left out (from `defaults`: every gateway that inherits it). Undefined when nothing sound
 * is left to plan.
 */
function withoutInvalidValues(input: unknown, issues: readonly z.core.$ZodIssue[]): RepairedManifest | undefined {
  if (!isTree(input) || Array.isArray(input)) return undefined;
  const root = structuredClone(input) as Tree;
  const removed: KeyPath[] = [];
  let pending = issues;
  for (let round = 0; round < MAX_REPAIR_ROUNDS; round += 1) {
    for (const issue of pending) if (!repair(root, issue, removed)) return undefined;
    const retry = manifestSchema.safeParse(root);
    if (retry.success) return { raw: retry.data, removed };
    pending = retry.error.issues;
  }
  return undefined;
}

/** Takes the value an issue is about out of `root`; false when the manifest cannot be planned without it. */
function repair(root: Tree, issue: z.core.$ZodIssue, removed: KeyPath[]): boolean {
  const full = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    // Reported already; planning without the typo still finds the gateway's conflicts.
    const node = nodeAt(root, full);
    if (isTree(node)) for (const key of issue.keys) delete node[key];
    return true;
  }
  // An element of a list goes with its whole list: the setting falls back to its default.
  const firstIndex = full.findIndex((key) => typeof key === 'number');
  const keyPath = firstIndex >= 0 ? full.slice(0, firstIndex) : full;
  if (keyPath.length === 0) return false;
  if (keyPath.length === 1 && keyPath[0] === 'version') {
    root.version = 1;
    return true;
  }
  if (keyPath[0] === 'gateways' && keyPath.length === 1) return false;
  const key = String(keyPath[keyPath.length - 1]);
  if (IDENTITY_KEYS.has(key) && keyPath.length === 3 && keyPath[0] === 'gateways') return removeAt(root, keyPath.slice(0, 2), removed);
  if (IDENTITY_KEYS.has(key) && keyPath.length === 2 && keyPath[0] === 'defaults') {
    for (const [name, own] of Object.entries(isTree(root.gateways) ? root.gateways : {})) {
      if (!isTree(own) || own[key] === undefined) removeAt(root, ['gateways', name], removed);
    }
  }
  return removeAt(root, keyPath, removed);
}

function nodeAt(root: Tree, keyPath: readonly PropertyKey[]): unknown {
  let node: unknown = root;
  for (const key of keyPath) node = isTree(node) ? node[key as string] : undefined;
  return node;
}

function removeAt(root: Tree, keyPath: KeyPath, removed: KeyPath[]): boolean {
  const parent = nodeAt(root, keyPath.slice(0, -1));
  if (isTree(parent)) delete parent[keyPath[keyPath.length - 1]!];
  removed.push(keyPath);
  return true;
}

/**
 * Whether a plan problem follows from a value taken out of the manifest: it lies at or below a removed
 * key, or below a gateway's key that inherits a removed one from `defaults`.
 */
function followsFromRemoval(problem: PlanProblem, removed: readonly KeyPath[], raw: RawManifest): boolean {
  const startsWith = (keyPath: KeyPath, prefix: KeyPath): boolean => prefix.length <= keyPath.length && prefix.every((key, i) => keyPath[i] === key);
  return removed.some((cut) => {
    if (startsWith(problem.path, cut)) return true;
    if (cut[0] !== 'defaults' || problem.path[0] !== 'gateways' || problem.path.length < 2) return false;
    const inherited = ['gateways', problem.path[1]!, ...cut.slice(1)];
    return startsWith(problem.path, inherited) && nodeAt(raw as unknown as Tree, inherited) === undefined;
  });
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
  // A manifest that failed the schema is planned without its invalid values, so its conflicts come out too.
  const repaired: RepairedManifest | undefined = parsed.ok ? { raw: parsed.raw, removed: [] } : parsed.partial;
  const locateKey = parsed.locateKey;
  if (repaired === undefined || locateKey === undefined) return { ok: false, problems: sortProblems(parsed.ok ? [] : parsed.problems) };
  const { raw, removed } = repaired;
  const at = (keyPath: KeyPath, message: string): ManifestProblem => ({ file: shown, ...locateKey(keyPath), path: keyPath, message });

  const planCtx = { manifestPath, home: ctx.home, stateHome: ctx.stateHome };
  const first = planFleet(raw, planCtx);
  const problems: ManifestProblem[] = parsed.ok ? [] : [...parsed.problems];

  const instanceConfigs = new Map<string, InstanceConfig>();
  for (const gateway of first.plan.gateways) {
    if (gateway.kind !== 'openclaw' || gateway.configPath === undefined) continue;
    let configText: string;
    try {
      configText = readFileSync(gateway.configPath, 'utf8');
    } catch {
      continue; // no config yet: OpenClaw's own defaults, already in the derived plan
    }
    try {
      instanceConfigs.set(gateway.configPath, extractInstanceConfig(JSON5.parse(configText), gateway.configPath));
    } catch (error) {
      problems.push(at(['gateways', gateway.name], `its OpenClaw config ${gateway.configPath} is not valid JSON5: ${errorText(error).split('\n')[0]}`));
    }
  }
  const result = instanceConfigs.size > 0 ? planFleet(raw, { ...planCtx, instanceConfigs }) : first;

  const envFiles = new Map<string, Record<string, string>>();
  for (const gateway of result.plan.gateways) {
    if (gateway.envFile === undefined || envFiles.has(gateway.envFile)) continue;
    try {
      envFiles.set(gateway.envFile, parseEnv(readFileSync(gateway.envFile, 'utf8')) as Record<string, string>);
    } catch (error) {
      const keyPath = raw.gateways[gateway.name]?.envFile !== undefined ? ['gateways', gateway.name, 'envFile'] : ['defaults', 'envFile'];
      problems.push(at(keyPath, `cannot read envFile ${gateway.envFile}: ${errorText(error)}`));
    }
  }

  const planProblems = removed.length === 0 ? result.problems : result.problems.filter((p) => !followsFromRemoval(p, removed, raw));
  problems.push(...planProblems.map((p) => at(p.path, p.message)));
  if (!parsed.ok || problems.length > 0) return { ok: false, problems: sortProblems(problems) };
  return { ok: true, manifest: { plan: result.plan, raw, envFiles } };
}

function sortProblems(problems: ManifestProblem[]): ManifestProblem[] {
  return problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}
