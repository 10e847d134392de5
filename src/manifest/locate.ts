/** Maps key paths back to lines of the YAML source, so every problem names where to look. */
import { isMap, isScalar, isSeq, LineCounter, type Document, type Node } from 'yaml';
import type { KeyPath } from '../plan/types.js';

/** A 1-based line and column. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/**
 * The position of the deepest node on `path` that exists: the key itself when the last segment is a
 * map key (that is where a typo or a bad value is read), its nearest parent otherwise.
 */
export function locate(doc: Document, lines: LineCounter, path: KeyPath): SourcePosition | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined = (doc.contents as Node | null)?.range?.[0];
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => (isScalar(item.key) ? String(item.key.value) : String(item.key)) === String(segment));
      if (!pair) break;
      offset = (pair.key as Node | null)?.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else break;
  }
  if (offset === undefined) return undefined;
  const pos = lines.linePos(offset);
  return { line: pos.line, column: pos.col };
}

/** The map holding the key that starts at `offset` (where the parser reports a duplicate), and that key. */
export function duplicateKeyAt(doc: Document, offset: number): { parent: KeyPath; key: string } | undefined {
  const parent: Array<string | number> = [];
  let node: unknown = doc.contents;
  for (;;) {
    if (isMap(node)) {
      let next: unknown;
      for (const pair of node.items) {
        const key = pair.key as Node | null;
        const name = isScalar(key) ? String(key.value) : String(key);
        if (key?.range?.[0] === offset) return { parent, key: name };
        const range = (pair.value as Node | null)?.range;
        if (range && range[0] <= offset && offset < range[2]) {
          parent.push(name);
          next = pair.value;
          break;
        }
      }
      if (next === undefined) return undefined;
      node = next;
    } else if (isSeq(node)) {
      const index = node.items.findIndex((item) => {
        const range = (item as Node | null)?.range;
        return range != null && range[0] <= offset && offset < range[2];
      });
      if (index < 0) return undefined;
      parent.push(index);
      node = node.items[index];
    } else return undefined;
  }
}
