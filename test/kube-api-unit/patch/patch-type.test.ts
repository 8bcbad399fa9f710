import { describe, expect, it } from 'vitest';
import { parsePatchType } from '../../kube-api/patch/index.ts';
import { patchError } from './fixtures.ts';

const BUILT_IN_415 =
  'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml';
const CUSTOM_415 =
  'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml';

describe('parsePatchType', () => {
  it.each([
    ['application/json-patch+json', 'application/json-patch+json'],
    ['application/merge-patch+json', 'application/merge-patch+json'],
    ['application/strategic-merge-patch+json', 'application/strategic-merge-patch+json'],
    ['application/apply-patch+yaml', 'application/apply-patch+yaml'],
    ['application/merge-patch+json; charset=utf-8', 'application/merge-patch+json'],
    ['application/apply-patch+yaml;charset=UTF-8', 'application/apply-patch+yaml'],
    ['Application/JSON-Patch+JSON', 'application/json-patch+json'],
  ])('accepts %s as %s', (header, type) => {
    expect(parsePatchType(header)).toBe(type);
  });

  it.each([['application/json'], ['application/yaml'], ['text/plain'], [''], [undefined]])('refuses %s with 415 listing the accepted types', (header) => {
    const error = patchError(() => parsePatchType(header));
    expect(error).toMatchObject({ code: 415, reason: 'UnsupportedMediaType', message: BUILT_IN_415 });
  });

  it('refuses strategic merge patch for a custom resource, listing the three types a custom resource accepts', () => {
    const error = patchError(() => parsePatchType('application/strategic-merge-patch+json', { customResource: true }));
    expect(error).toMatchObject({ code: 415, reason: 'UnsupportedMediaType', message: CUSTOM_415 });
    expect(parsePatchType('application/apply-patch+yaml', { customResource: true })).toBe('application/apply-patch+yaml');
  });
});
