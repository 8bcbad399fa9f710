import { describe, expect, it } from 'vitest';
import { toPlainSchema } from '../../operator/src/api/crd.ts';
import { KINDS } from '../../operator/src/api/kinds.ts';
import { PATTERN_MEANINGS } from '../../operator/src/api/patterns.ts';
import { fieldPath, parseFieldPath } from '../../operator/src/validation/issue.ts';
import { clusterOrderRelease, dockerReleaseApp, mutate, release } from '../fixtures/manifests.ts';
import { validator } from './invalid-case.ts';

function* patternsIn(node: unknown): Generator<string> {
  if (Array.isArray(node)) for (const item of node) yield* patternsIn(item);
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'pattern' && typeof value === 'string') yield value;
      else yield* patternsIn(value);
    }
  }
}

describe('error messages', () => {
  it('describe every pattern the schemas use in words, never as a regular expression', () => {
    for (const def of KINDS) {
      for (const pattern of patternsIn(toPlainSchema(def.spec, { closed: true }))) {
        expect(PATTERN_MEANINGS.has(pattern), `${def.kind}: ${pattern}`).toBe(true);
      }
    }
  });

  it('say "Required value" for a missing kind', () => {
    const { kind: _kind, ...noKind } = release;
    expect(validator.validate(noKind).issues).toEqual([{ path: 'kind', message: 'Required value', source: 'schema' }]);
  });

  it('bracket map keys that are not plain names, as the API server does', () => {
    const result = validator.validate(mutate(dockerReleaseApp, { 'spec.docker.labels': { 'app.kubernetes.io/name': 5 } }));
    expect(result.issues.map((i) => i.path)).toEqual(['spec.docker.labels[app.kubernetes.io/name]']);
    expect(parseFieldPath('spec.docker.labels[app.kubernetes.io/name]')).toEqual(['spec', 'docker', 'labels', 'app.kubernetes.io/name']);
    expect(fieldPath(['spec', 'environments', 0, 'name'])).toBe('spec.environments[0].name');
  });

  it('reject an image repository that carries a tag', () => {
    const result = validator.validate(mutate(dockerReleaseApp, { 'spec.artifact.image': 'nginx:1' }));
    expect(result.issues).toEqual([expect.objectContaining({ path: 'spec.artifact.image', message: expect.stringContaining('without tag') })]);
    expect(validator.validate(mutate(dockerReleaseApp, { 'spec.artifact.image': 'registry.local:5000/shop/api' })).issues).toEqual([]);
  });

  it.each([
    ['a cron expression of the wrong shape', { 'spec.schedule': { cron: 'every monday' } }, 'spec.schedule.cron', 'cron expression of 5 fields'],
    ['a cron field out of range', { 'spec.schedule': { cron: '61 10 * * *' } }, 'spec.schedule.cron', 'invalid cron expression: Invalid value for minute: 61'],
    ['an unknown schedule time zone', { 'spec.schedule': { cron: '0 10 * * 1-5', timezone: 'Mars/Olympus' } }, 'spec.schedule.timezone', 'unknown time zone "Mars/Olympus"'],
    ['an unknown window time zone', { 'spec.environments[0].window': { timezone: 'Europe/Atlantis' } }, 'spec.environments[0].window.timezone', 'unknown time zone "Europe/Atlantis"'],
  ])('reject %s', (_name, changes, path, reason) => {
    const result = validator.validate(mutate(release, changes));
    expect(result.issues).toEqual([expect.objectContaining({ path, message: expect.stringContaining(reason) })]);
  });

  it('accept a valid cron schedule with its time zone', () => {
    expect(validator.validate(mutate(clusterOrderRelease, { 'spec.schedule': { cron: '0 10 * * 1-5', timezone: 'Asia/Shanghai' }, })).issues).toEqual([]);
  });
});
