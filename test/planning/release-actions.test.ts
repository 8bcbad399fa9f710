import { describe, expect, it } from 'vitest';
import { alreadyApplied, parseAction } from '../../operator/src/planning/release-actions.ts';

describe('parseAction', () => {
  it.each<[string, Record<string, string> | undefined, ReturnType<typeof parseAction>]>([
    ['no annotation, no action', undefined, undefined],
    ['an action with target, actor and comment', { 'shipway.dev/action': 'rollback', 'shipway.dev/action-target': 'web', 'shipway.dev/actor': 'ops', 'shipway.dev/comment': 'bad' }, { action: { action: 'rollback', target: 'web', actor: 'ops', comment: 'bad' } }],
    ['several targets are trimmed, deduplicated and kept in order', { 'shipway.dev/action': 'rollback', 'shipway.dev/action-target': ' web-2, web-1,,web-2 ', 'shipway.dev/rollback-version': '1.2.0' }, { action: { action: 'rollback', target: 'web-2,web-1', rollbackVersion: '1.2.0' } }],
    ['several targets only go with rollback and retry', { 'shipway.dev/action': 'promote', 'shipway.dev/action-target': 'a,b' }, { invalid: 'shipway.dev/action-target names several targets; only rollback and retry take more than one', raw: { action: 'promote', target: 'a,b' } }],
    ['a rollback version that is no version is refused', { 'shipway.dev/action': 'rollback', 'shipway.dev/rollback-version': '1.0 beta' }, { invalid: 'shipway.dev/rollback-version "1.0 beta" is not an image tag, version or git ref (letters, digits, \'_\', \'.\', \'+\', \'-\', no spaces)', raw: { action: 'rollback', rollbackVersion: '1.0 beta' } }],
    ['an unknown action names the ones that exist', { 'shipway.dev/action': 'explode' }, { invalid: 'unknown action "explode"; expected one of start, promote, approve, reject, pause, resume, cancel, retry, rollback', raw: { action: 'explode' as never } }],
  ])('%s', (_, annotations, expected) => {
    expect(parseAction(annotations)).toEqual(expected);
  });
});

describe('alreadyApplied', () => {
  const last = { action: 'promote', actor: 'ops', result: 'Applied' as const, at: '2026-11-27T10:00:00Z' };
  it.each([
    ['the recorded, unacknowledged action', { ...last, acknowledged: false }, true],
    ['an acknowledged one is a new request', { ...last, acknowledged: true }, false],
    ['another actor is a new request', { ...last, actor: 'dev', acknowledged: false }, false],
  ])('%s', (_, recorded, expected) => {
    expect(alreadyApplied({ action: 'promote', actor: 'ops' }, recorded)).toBe(expected);
  });
});
