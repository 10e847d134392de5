import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance } from './did-you-mean.js';

describe('didYouMean', () => {
  it('counts a swap of neighbours as one edit', () => {
    expect(editDistance('prot', 'port')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it.each([
    ['prot', 'port'],
    ['livenes', 'liveness'],
    ['stateDIR', 'stateDir'],
    ['envfile', 'envFile'],
  ])('suggests %s -> %s', (typo, expected) => {
    expect(didYouMean(typo, ['port', 'liveness', 'stateDir', 'envFile', 'profile'])).toBe(expected);
  });

  it('stays silent when nothing is close', () => {
    expect(didYouMean('banana', ['port', 'profile'])).toBeUndefined();
  });
});
