/**
 * Gateways that would share state on disk: equal or nested directories, equal files. Linear in the
 * number of paths times their depth: each path looks up its own ancestors in a map of owned paths.
 */
import path from 'node:path';

/** A path owned by a gateway. */
export interface OwnedPath {
  readonly gateway: string;
  readonly path: string;
}

/** Two gateways whose paths are the same, or one inside the other (`inner` lies in `outer`). */
export interface PathConflict {
  readonly outer: OwnedPath;
  readonly inner: OwnedPath;
  readonly same: boolean;
}

/**
 * Each path is checked against the first owner of the same path and against every ancestor directory
 * that some gateway owns. With `nesting` false only equal paths conflict (files).
 */
export function findPathConflicts(owned: readonly OwnedPath[], nesting: boolean): PathConflict[] {
  const firstOwner = new Map<string, OwnedPath>();
  for (const item of owned) if (!firstOwner.has(item.path)) firstOwner.set(item.path, item);
  const conflicts: PathConflict[] = [];
  for (const item of owned) {
    const first = firstOwner.get(item.path)!;
    if (first !== item && first.gateway !== item.gateway) {
      conflicts.push({ outer: first, inner: item, same: true });
      continue;
    }
    if (!nesting) continue;
    // Paths are absolute and normalised, so each ancestor is a prefix ending before a separator.
    for (let cut = item.path.lastIndexOf(path.sep); cut >= 0; cut = item.path.lastIndexOf(path.sep, cut - 1)) {
      const outer = firstOwner.get(cut === 0 ? path.sep : item.path.slice(0, cut));
      if (outer !== undefined && outer.gateway !== item.gateway) {
        conflicts.push({ outer, inner: item, same: false });
        break;
      }
      if (cut === 0) break;
    }
  }
  return conflicts;
}
