/**
 * Gateways that would share state on disk: equal or nested directories, equal files, one kind of path
 * inside another gateway's path of another kind. Linear in the number of paths times their depth: each
 * path looks up its own ancestors in a map of owned paths.
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

function firstOwners(owned: readonly OwnedPath[]): Map<string, OwnedPath> {
  const firstOwner = new Map<string, OwnedPath>();
  for (const item of owned) if (!firstOwner.has(item.path)) firstOwner.set(item.path, item);
  return firstOwner;
}

/** The nearest proper ancestor of `inner` that some gateway other than `skip` owns. */
function ownedAncestor(firstOwner: ReadonlyMap<string, OwnedPath>, inner: string, skip?: string): OwnedPath | undefined {
  // Paths are absolute and normalised, so each ancestor is a prefix ending before a separator.
  for (let cut = inner.lastIndexOf(path.sep); cut >= 0; cut = inner.lastIndexOf(path.sep, cut - 1)) {
    const outer = firstOwner.get(cut === 0 ? path.sep : inner.slice(0, cut));
    if (outer !== undefined && outer.gateway !== skip) return outer;
    if (cut === 0) break;
  }
  return undefined;
}

/**
 * Each path is checked against the first owner of the same path and against every ancestor directory
 * that some gateway owns. With `nesting` false only equal paths conflict (files).
 */
export function findPathConflicts(owned: readonly OwnedPath[], nesting: boolean): PathConflict[] {
  const firstOwner = firstOwners(owned);
  const conflicts: PathConflict[] = [];
  for (const item of owned) {
    const first = firstOwner.get(item.path)!;
    if (first !== item && first.gateway !== item.gateway) {
      conflicts.push({ outer: first, inner: item, same: true });
      continue;
    }
    if (!nesting) continue;
    const outer = ownedAncestor(firstOwner, item.path, item.gateway);
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
export function findPathsInside(outers: readonly OwnedPath[], inners: readonly OwnedPath[], same: boolean): PathConflict[] {
  const firstOwner = firstOwners(outers);
  const conflicts: PathConflict[] = [];
  for (const item of inners) {
    const equal = same ? firstOwner.get(item.path) : undefined;
    const outer = equal ?? ownedAncestor(firstOwner, item.path);
    if (outer !== undefined && outer.gateway !== item.gateway) conflicts.push({ outer, inner: item, same: outer.path === item.path });
  }
  return conflicts;
}
