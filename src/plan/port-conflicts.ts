/**
 * Overlaps between the port footprints of different gateways, found by sweeping sorted ranges:
 * O(r log r) in the number of ranges, so a fleet of 100 000 is checked in well under a second.
 */
import type { PortFootprint, PortRange } from './types.js';

/** A footprint tagged with its owner. */
export interface OwnedFootprint {
  readonly gateway: string;
  readonly footprint: PortFootprint;
}

/** Two gateways that both reserve `port`, with the range each reserves it for. */
export interface PortConflict {
  readonly first: string;
  readonly second: string;
  readonly port: number;
  readonly firstRange: PortRange;
  readonly secondRange: PortRange;
}


/** The lowest port two footprints share, with the ranges that share it; undefined when disjoint. */
export function firstSharedPort(a: PortFootprint, b: PortFootprint): { port: number; a: PortRange; b: PortRange } | undefined {
  let found: { port: number; a: PortRange; b: PortRange } | undefined;
  for (const ra of a.ranges) {
    for (const rb of b.ranges) {
      const from = Math.max(ra.from, rb.from);
      if (from <= Math.min(ra.to, rb.to) && (found === undefined || from < found.port)) found = { port: from, a: ra, b: rb };
    }
  }
  return found;
}

/**
 * The two ranges seen so far that reach furthest by some score, from distinct owners; ranges are
 * indexes into typed arrays, so the sweep allocates nothing per step.
 */
class TopTwo {
  private best = -1;
  private second = -1;
  constructor(
    private readonly owners: Int32Array,
    private readonly score: Float64Array,
  ) {}

  offer(i: number): void {
    const { owners, score } = this;
    if (this.best < 0 || score[i]! > score[this.best]!) {
      if (this.best >= 0 && owners[this.best] !== owners[i]) this.second = this.best;
      this.best = i;
    } else if (owners[i] !== owners[this.best] && (this.second < 0 || score[i]! > score[this.second]!)) {
      this.second = i;
    }
  }

  /** The best range not owned by `owner`, or -1. */
  other(owner: number): number {
    return this.best >= 0 && this.owners[this.best] !== owner ? this.best : this.second;
  }
}

/** Above any port a footprint can reach (base 65535 + 110). */
const MAX_PORT_KEY = 1 << 17;
/** Packing factor for (position, index) sort keys; also bounds the number of ranges. */
const INDEX_BITS = 2 ** 22;

/** Range indexes ordered by a numeric key, sorted as packed numbers: no comparator call per step. */
function orderBy(count: number, key: (i: number) => number): Float64Array {
  const keys = new Float64Array(count);
  for (let i = 0; i < count; i += 1) keys[i] = key(i) * INDEX_BITS + i;
  keys.sort();
  for (let i = 0; i < count; i += 1) keys[i] = keys[i]! % INDEX_BITS;
  return keys;
}

/**
 * Every gateway whose footprint touches another's is named in at least one conflict, with the first
 * port that pair shares. A forward sweep (by start) finds each range that starts inside an earlier one;
 * a backward sweep (by end) finds each range that ends inside a later one; together they name both sides.
 */
export function findPortConflicts(fleet: readonly OwnedFootprint[]): PortConflict[] {
  // Touching ranges of one owner are merged first (footprint ranges are sorted by start).
  const fromList: number[] = [];
  const toList: number[] = [];
  const ownerList: number[] = [];
  fleet.forEach((owned, owner) => {
    let open = -1;
    for (const range of owned.footprint.ranges) {
      if (open >= 0 && range.from <= toList[open]! + 1) toList[open] = Math.max(toList[open]!, range.to);
      else {
        open = fromList.length;
        fromList.push(range.from);
        toList.push(range.to);
        ownerList.push(owner);
      }
    }
  });
  const count = fromList.length;
  if (count >= INDEX_BITS) throw new RangeError('too many port ranges to check at once');
  const from = Int32Array.from(fromList);
  const to = Int32Array.from(toList);
  const owners = Int32Array.from(ownerList);

  const found: number[] = [];
  const note = (x: number, y: number): void => {
    found.push(x < y ? x * INDEX_BITS + y : y * INDEX_BITS + x);
  };

  const reachRight = new TopTwo(owners, Float64Array.from(to));
  for (const i of orderBy(count, (i) => from[i]!)) {
    const other = reachRight.other(owners[i]!);
    if (other >= 0 && to[other]! >= from[i]!) note(owners[i]!, owners[other]!);
    reachRight.offer(i);
  }
  const reachLeft = new TopTwo(owners, Float64Array.from(from, (f) => -f));
  for (const i of orderBy(count, (i) => MAX_PORT_KEY - to[i]!)) {
    const other = reachLeft.other(owners[i]!);
    if (other >= 0 && from[other]! <= to[i]!) note(owners[i]!, owners[other]!);
    reachLeft.offer(i);
  }

  const pairs = Float64Array.from(found).sort();
  const conflicts: PortConflict[] = [];
  for (let k = 0; k < pairs.length; k += 1) {
    if (k > 0 && pairs[k] === pairs[k - 1]) continue;
    const a = fleet[Math.floor(pairs[k]! / INDEX_BITS)]!;
    const b = fleet[pairs[k]! % INDEX_BITS]!;
    const shared = firstSharedPort(a.footprint, b.footprint);
    if (shared === undefined) continue;
    conflicts.push({ first: a.gateway, second: b.gateway, port: shared.port, firstRange: shared.a, secondRange: shared.b });
  }
  return conflicts.sort((x, y) => x.port - y.port);
}
