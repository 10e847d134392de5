import { describe, expect, it } from 'vitest';
import { findPathConflicts, findPathsInside } from './path-conflicts.js';

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

describe('findPathsInside', () => {
  const stateDirs = [
    { gateway: 'a', path: '/s/a' },
    { gateway: 'b', path: '/s/b' },
  ];

  it("finds paths equal to or inside another gateway's directory, not its own, nor siblings with a common prefix", () => {
    const workspaces = [
      { gateway: 'a', path: '/s/a/workspace' },
      { gateway: 'b', path: '/s/a/deep/ws' },
      { gateway: 'c', path: '/s/b' },
      { gateway: 'd', path: '/s/a-d/ws' },
    ];
    expect(findPathsInside(stateDirs, workspaces, true).map((c) => [c.outer.gateway, c.inner.gateway, c.same])).toEqual([
      ['a', 'b', false],
      ['b', 'c', true],
    ]);
  });

  it('leaves equal paths out when asked, so a check run both ways reports them once', () => {
    expect(findPathsInside(stateDirs, [{ gateway: 'c', path: '/s/b' }], false)).toEqual([]);
    expect(findPathsInside([{ gateway: 'c', path: '/s' }], stateDirs, false).map((c) => c.inner.gateway)).toEqual(['a', 'b']);
  });

  it('stops at the nearest owned directory: inside its own, a path is not blamed on a directory further up', () => {
    const outers = [
      { gateway: 'top', path: '/s' },
      { gateway: 'a', path: '/s/a' },
    ];
    expect(findPathsInside(outers, [{ gateway: 'a', path: '/s/a/workspace' }], true)).toEqual([]);
  });
});
