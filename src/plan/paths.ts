/** Path and placeholder handling shared by the planner: `~`, relative paths and `{name}`-style templates. */
import path from 'node:path';
import { didYouMean } from '../util/did-you-mean.js';

const PLACEHOLDER_RE = /\{([A-Za-z][A-Za-z0-9]*)\}/g;

/** Result of filling a template: the text, or the placeholders it named that do not exist. */
export type TemplateResult = { ok: true; value: string } | { ok: false; message: string };

/** Fills `{key}` placeholders; an unknown one is an error (a typo must not reach a gateway's argv). */
export function fillTemplate(template: string, values: Readonly<Record<string, string | undefined>>): TemplateResult {
  if (!template.includes('{')) return { ok: true, value: template };
  const parts = compiled(template);
  if (parts.every((part, i) => i % 2 === 0 || values[part] !== undefined)) {
    let value = '';
    for (let i = 0; i < parts.length; i += 1) value += i % 2 === 0 ? parts[i] : values[parts[i]!];
    return { ok: true, value };
  }
  return fillSlowly(template, values);
}

// Templates repeat across a fleet (`{port}` in every gateway's args): split each one once.
const templateCache = new Map<string, string[]>();

/** Literal text at even indexes, placeholder names at odd ones. */
function compiled(template: string): string[] {
  let parts = templateCache.get(template);
  if (parts === undefined) {
    parts = template.split(PLACEHOLDER_SPLIT_RE);
    if (templateCache.size < 1024) templateCache.set(template, parts);
  }
  return parts;
}

const PLACEHOLDER_SPLIT_RE = /\{([A-Za-z][A-Za-z0-9]*)\}/;

function fillSlowly(template: string, values: Readonly<Record<string, string | undefined>>): TemplateResult {
  const known = Object.keys(values).filter((k) => values[k] !== undefined);
  let problem: string | undefined;
  const value = template.replace(PLACEHOLDER_RE, (whole, key: string) => {
    const replacement = values[key];
    if (replacement !== undefined) return replacement;
    if (problem === undefined) {
      const hint = didYouMean(key, known);
      problem = `unknown placeholder ${whole}${hint ? ` (did you mean {${hint}}?)` : ''}; known here: ${known.map((k) => `{${k}}`).join(' ')}`;
    }
    return whole;
  });
  return problem === undefined ? { ok: true, value } : { ok: false, message: problem };
}

/** An absolute, normalised path: `~` is the home dir, relative paths are relative to the manifest's folder. */
export function resolvePath(input: string, home: string, baseDir: string): string {
  if (input === '~') return path.normalize(home);
  if (input.startsWith('~/')) return path.join(home, input.slice(2));
  return path.resolve(baseDir, input);
}

/** Whether `inner` is `outer` or lies inside it (both absolute and normalised). */
export function isSameOrInside(outer: string, inner: string): boolean {
  if (outer === inner) return true;
  const prefix = outer.endsWith(path.sep) ? outer : outer + path.sep;
  return inner.startsWith(prefix);
}
