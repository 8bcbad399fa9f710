import { describe, expect, it } from 'vitest';
import { createMasker, MASK } from '../../operator/src/planning/masking.ts';

describe('createMasker', () => {
  const mask = createMasker(['s3cr3t-pass', 'tok"en\nline', 'ab', '']);

  it.each([
    ['a plain occurrence', 'password=s3cr3t-pass;', `password=${MASK};`],
    ['several occurrences', 's3cr3t-pass and s3cr3t-pass', `${MASK} and ${MASK}`],
    ['the JSON-escaped form', JSON.stringify({ token: 'tok"en\nline' }), `{"token":"${MASK}"}`],
    ['the base64 form', `data: ${Buffer.from('s3cr3t-pass').toString('base64')}`, `data: ${MASK}`],
    ['a too-short value, left alone', 'ab cd', 'ab cd'],
    ['text without secrets, unchanged', 'release started in pre', 'release started in pre'],
  ])('masks %s', (_name, input, expected) => {
    expect(mask(input)).toBe(expected);
  });

  it('masks a secret that contains another one as a whole', () => {
    const m = createMasker(['abc', 'abcdef']);
    expect(m('x abcdef y abc')).toBe(`x ${MASK} y ${MASK}`);
  });

  it('treats regular-expression characters in secrets literally', () => {
    const m = createMasker(['a.b*c']);
    expect(m('a.b*c axbbc')).toBe(`${MASK} axbbc`);
  });

  it('masks every string inside objects and arrays, returning a copy', () => {
    const status = { message: 'login with s3cr3t-pass failed', steps: [{ output: 'ok' }, { output: 'echo s3cr3t-pass' }], count: 2 };
    expect(mask.deep(status)).toEqual({ message: `login with ${MASK} failed`, steps: [{ output: 'ok' }, { output: `echo ${MASK}` }], count: 2 });
    expect(status.message).toContain('s3cr3t-pass');
  });

  it('does nothing without secrets', () => {
    const none = createMasker([]);
    expect(none('anything')).toBe('anything');
    expect(none.size).toBe(0);
  });
});
