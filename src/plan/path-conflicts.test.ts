import { describe, expect, it } from 'vitest';
import { findPathConflicts } from './path-conflicts.js';

describe('findPathConflicts', () => {
  it('finds equal and nested directories, not siblings with a common prefix', () => {
    const conflicts = findPathConflicts(
      [
        { gateway: 'a', path: '/home/u/.openclaw' },
        { gateway: 'b', path: '/home/u/.openclaw-b' },
        { gateway: 'c', path: '/home/u/.openclaw/sub' },
        { gateway: 'd', path: '/home/u/.openclaw-b' },
      ],
      true,
    );
    expect(conflicts.map((c) => [c.outer.gateway, c.inner.gateway, c.same])).toEqual([
      ['a', 'c', false],
      ['b', 'd', true],
    ]);
  });

  it('finds nesting even when a sibling sorts between parent and child', () => {
    // '-' sorts before '/', so a plain string sort would put /x-y between /x and /x/z.
    const conflicts = findPathConflicts(
      [
        { gateway: 'parent', path: '/x' },
        { gateway: 'sibling', path: '/x-y' },
        { gateway: 'child', path: '/x/z' },
      ],
      true,
    );
    expect(conflicts.map((c) => `${c.outer.gateway}>${c.inner.gateway}`)).toEqual(['parent>child']);
  });

  it('only reports equal paths when nesting does not matter (files)', () => {
    const owned = [
      { gateway: 'a', path: '/s/openclaw.json' },
      { gateway: 'b', path: '/s/openclaw.json' },
      { gateway: 'c', path: '/s/openclaw.json/x' },
    ];
    expect(findPathConflicts(owned, false).map((c) => c.inner.gateway)).toEqual(['b']);
  });
});
