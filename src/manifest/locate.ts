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
