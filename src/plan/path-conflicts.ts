/**
 * Gateways that would share state on disk: equal or nested directories, equal files, one kind of path
 * inside another gateway's path of another kind. Linear in the number of paths times their depth: each
 * path looks up those of its ancestors whose length some owned path has in a map of owned paths.
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
 * The first owner of each path, and the lengths owned paths have: an ancestor of another length cannot
 * be owned, so most ancestors are ruled out without building their string. Built once per kind of path
 * and shared by every check against that kind.
 */
export class PathIndex {
  readonly owned: readonly OwnedPath[];
  private readonly firstOwner = new Map<string, OwnedPath>();
  private readonly lengths = new Set<number>();

  constructor(owned: readonly OwnedPath[]) {
    this.owned = owned;
    for (const item of owned) {
      if (this.firstOwner.has(item.path)) continue;
      this.firstOwner.set(item.path, item);
      this.lengths.add(item.path.length);
    }
  }

  first(p: string): OwnedPath | undefined {
    return this.firstOwner.get(p);
  }

  /** The nearest proper ancestor of `inner` that some gateway other than `skip` owns. */
  ownedAncestor(inner: string, skip?: string): OwnedPath | undefined {
    // Paths are absolute and normalised, so each ancestor is a prefix ending before a separator.
    for (let cut = inner.lastIndexOf(path.sep); cut >= 0; cut = inner.lastIndexOf(path.sep, cut - 1)) {
      const length = cut === 0 ? 1 : cut;
      if (this.lengths.has(length)) {
        const outer = this.firstOwner.get(cut === 0 ? path.sep : inner.slice(0, cut));
        if (outer !== undefined && outer.gateway !== skip) return outer;
      }
      if (cut === 0) break;
    }
    return undefined;
  }
}

const indexOf = (owned: readonly OwnedPath[] | PathIndex): PathIndex => (owned instanceof PathIndex ? owned : new PathIndex(owned));

/**
 * Each path is checked against the first owner of the same path and against every ancestor directory
 * that some gateway owns. With `nesting` false only equal paths conflict (files).
 */
export function findPathConflicts(paths: readonly OwnedPath[] | PathIndex, nesting: boolean): PathConflict[] {
  const index = indexOf(paths);
  const conflicts: PathConflict[] = [];
  for (const item of index.owned) {
    const first = index.first(item.path)!;
    if (first !== item && first.gateway !== item.gateway) {
      conflicts.push({ outer: first, inner: item, same: true });
      continue;
    }
    if (!nesting) continue;
    const outer = index.ownedAncestor(item.path, item.gateway);
    if (outer !== undefined) conflicts.push({ outer, inner: item, same: false });
  }
  return conflicts;
}

/**
 * Paths of one kind (`inners`) that are, or lie inside, another gateway's path of a second kind
 * (`outers`): a workspace in another gateway's state dir, say. The nearest owned ancestor decides, so a
 * path inside its own gateway's directory is not reported again for an ancestor further up (nested
 * outers are a conflict of their own). With `same` false only strict nesting counts, so a check run
 * both ways reports an equal pair once.
 */
export function findPathsInside(outers: readonly OwnedPath[] | PathIndex, inners: readonly OwnedPath[] | PathIndex, same: boolean): PathConflict[] {
  const index = indexOf(outers);
  const conflicts: PathConflict[] = [];
  for (const item of inners instanceof PathIndex ? inners.owned : inners) {
    const equal = same ? index.first(item.path) : undefined;
    const outer = equal ?? index.ownedAncestor(item.path);
    if (outer !== undefined && outer.gateway !== item.gateway) conflicts.push({ outer, inner: item, same: outer.path === item.path });
  }
  return conflicts;
}
