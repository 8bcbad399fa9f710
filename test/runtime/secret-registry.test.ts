import { describe, expect, it } from 'vitest';
import { createMasker, MASK } from '../../operator/src/planning/masking.ts';
import { SecretRegistry } from '../../operator/src/runtime/secret-registry.ts';

const LINE = 'connect with pass-one, then token-two';

describe('SecretRegistry', () => {
  it.each<[string, (r: SecretRegistry) => void, string, string[]]>([
    ['masks nothing while empty', () => {}, LINE, []],
    ['masks the values of one owner', (r) => r.set('release-a', ['pass-one']), `connect with ${MASK}, then token-two`, ['pass-one']],
    ['masks the values of every owner', (r) => (r.set('release-a', ['pass-one']), r.set('release-b', ['token-two'])), `connect with ${MASK}, then ${MASK}`, ['pass-one', 'token-two']],
    ['replaces what an owner set before', (r) => (r.set('release-a', ['pass-one']), r.set('release-a', ['token-two'])), `connect with pass-one, then ${MASK}`, ['token-two']],
    ['stops masking the values of a forgotten owner', (r) => (r.set('release-a', ['pass-one']), r.set('release-b', ['token-two']), r.forget('release-a')), `connect with pass-one, then ${MASK}`, ['token-two']],
    ['keeps a value another owner still holds', (r) => (r.set('release-a', ['pass-one']), r.set('release-b', ['pass-one']), r.forget('release-a')), `connect with ${MASK}, then token-two`, ['pass-one']],
    ['treats an empty set as forgetting', (r) => (r.set('release-a', ['pass-one']), r.set('release-a', [])), LINE, []],
    ['ignores forgetting an unknown owner', (r) => (r.set('release-a', ['pass-one']), r.forget('release-z')), `connect with ${MASK}, then token-two`, ['pass-one']],
  ])('%s', (_name, act, expected, inPlay) => {
    const registry = new SecretRegistry();
    act(registry);
    const mask = registry.masker();
    expect(mask(LINE)).toBe(expected);
    expect(mask.size).toBe(createMasker(inPlay).size);
  });

  it('hands out one masker that follows later changes', () => {
    const registry = new SecretRegistry();
    const mask = registry.masker();
    expect(mask(LINE)).toBe(LINE);

    registry.set('release-a', ['pass-one']);
    expect(mask(LINE)).toBe(`connect with ${MASK}, then token-two`);
    registry.set('release-a', ['pass-one']);
    expect(mask(LINE)).toBe(`connect with ${MASK}, then token-two`);
    registry.forget('release-a');
    expect(mask(LINE)).toBe(LINE);
    expect(registry.masker()).toBe(mask);
  });

  it('masks a value that ends in a newline (a Secret made from a file) also where the newline is gone', () => {
    const registry = new SecretRegistry();
    const mask = registry.masker();
    registry.set('release-a', ['license-key\n']);
    // A log tail is trimmed at its end; the value stands alone there, without its newline.
    expect(mask('echo license-key\n\nlicense=license-key')).toBe(`echo ${MASK}\nlicense=${MASK}`);
    expect(mask.size).toBe(createMasker(['license-key\n', 'license-key']).size);
  });

  it('keeps a held owner masked past forget until the last hold is released', () => {
    const registry = new SecretRegistry();
    const mask = registry.masker();
    registry.set('release-a', ['pass-one']);
    const first = registry.hold('release-a');
    const second = registry.hold('release-a');
    registry.forget('release-a');
    expect(mask(LINE)).toBe(`connect with ${MASK}, then token-two`);
    first();
    first();
    expect(mask(LINE)).toBe(`connect with ${MASK}, then token-two`);
    second();
    expect(mask(LINE)).toBe(LINE);
    // Released without a forget: the owner stays.
    registry.set('release-b', ['token-two']);
    registry.hold('release-b')();
    expect(mask(LINE)).toBe(`connect with pass-one, then ${MASK}`);
  });

  it('masks inside objects with the current values', () => {
    const registry = new SecretRegistry();
    const mask = registry.masker();
    registry.set('release-a', ['pass-one']);
    expect(mask.deep({ message: 'pass-one failed', steps: ['ok', 'echo pass-one'] })).toEqual({ message: `${MASK} failed`, steps: ['ok', `echo ${MASK}`] });
  });
});
