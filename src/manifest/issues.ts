/** Turns zod's issues into sentences a user understands, with "did you mean" for unknown keys. */
import type { z } from 'zod';
import type { KeyPath } from '../plan/types.js';
import { didYouMean } from '../util/did-you-mean.js';
import { manifestSchema } from './schema.js';

/** A problem with its key path, before it is given a file and line. */
export interface LocatedMessage {
  readonly path: KeyPath;
  readonly message: string;
}

interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  in?: z.ZodType;
}

function defOf(schema: z.ZodType): SchemaDef {
  return (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
}

/** The object schemas reachable at a key path (several when a union allows several shapes). */
function objectsAt(schema: z.ZodType, path: KeyPath): SchemaDef[] {
  const def = defOf(schema);
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
      return objectsAt(def.innerType!, path);
    case 'pipe':
      return objectsAt(def.in!, path);
    case 'union':
      return (def.options ?? []).flatMap((option) => objectsAt(option, path));
    case 'object': {
      if (path.length === 0) return [def];
      const child = def.shape?.[String(path[0])];
      return child ? objectsAt(child, path.slice(1)) : [];
    }
    case 'record':
      return path.length === 0 ? [] : objectsAt(def.valueType!, path.slice(1));
    default:
      return [];
  }
}

/** The keys the schema allows at a key path. */
export function knownKeysAt(path: KeyPath): string[] {
  return [...new Set(objectsAt(manifestSchema, path).flatMap((def) => Object.keys(def.shape ?? {})))];
}

function valueAt(root: unknown, path: KeyPath): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `the string "${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  return `${typeof value} ${String(value)}`;
}

const DEFAULT_MESSAGE_RE = /^(Invalid input|Too (small|big)|Invalid (string|option|element|key)|Unrecognized key)/;

/** One or more located messages for a zod issue. */
export function translateIssue(issue: z.core.$ZodIssue, input: unknown): LocatedMessage[] {
  const path = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
  const custom = !DEFAULT_MESSAGE_RE.test(issue.message);
  const value = valueAt(input, path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => {
        const known = knownKeysAt(path);
        const hint = didYouMean(key, known);
        return {
          path: [...path, key],
          message: `unknown key "${key}"${hint ? ` (did you mean "${hint}"?)` : known.length ? `; allowed here: ${known.join(', ')}` : ''}`,
        };
      });
    case 'invalid_type': {
      if (value === undefined) {
        const key = path[path.length - 1];
        return [{ path, message: `missing required key "${String(key)}"${custom ? `: ${issue.message}` : ''}` }];
      }
      const noun: Record<string, string> = { object: 'a map', record: 'a map', array: 'a list', string: 'a string', number: 'a number', boolean: 'true or false' };
      const expected = custom ? issue.message : `expected ${noun[issue.expected] ?? issue.expected}`;
      return [{ path, message: `${expected}, got ${describe(value)}` }];
    }
    case 'too_small':
      return [{ path, message: custom ? issue.message : `must be at least ${String(issue.minimum)}${issue.origin === 'array' ? ' items' : issue.origin === 'string' ? ' characters' : ''}` }];
    case 'too_big':
      return [{ path, message: custom ? issue.message : `must be at most ${String(issue.maximum)}` }];
    case 'invalid_value':
      return [{ path, message: custom ? `${issue.message}, got ${describe(value)}` : `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(value)}` }];
    case 'invalid_format':
      return [{ path, message: custom ? `${issue.message}, got ${describe(value)}` : `has the wrong format (${issue.format}), got ${describe(value)}` }];
    case 'invalid_key': {
      const inner = issue.issues[0]?.message ?? 'is not allowed here';
      return [{ path, message: `the name "${String(path[path.length - 1])}" is not allowed: ${inner}` }];
    }
    case 'invalid_union':
      return [{ path, message: custom ? `${issue.message}, got ${describe(value)}` : `has an unexpected value: ${describe(value)}` }];
    default:
      return [{ path, message: issue.message }];
  }
}
