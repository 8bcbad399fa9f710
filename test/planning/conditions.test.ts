import { describe, expect, it } from 'vitest';
import { isTrue, removeCondition, setCondition } from '../../operator/src/api/conditions.ts';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T00:05:00Z');

describe('setCondition', () => {
  it('adds a condition with the transition time', () => {
    expect(setCondition([], { type: 'Ready', status: 'False', reason: 'Deploying', message: 'pre', observedGeneration: 1 }, t0)).toEqual([
      { type: 'Ready', status: 'False', reason: 'Deploying', message: 'pre', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z' },
    ]);
  });

  it('keeps lastTransitionTime when only the reason or message changes', () => {
    const first = setCondition([], { type: 'Ready', status: 'False', reason: 'Deploying', message: 'pre' }, t0);
    const second = setCondition(first, { type: 'Ready', status: 'False', reason: 'Verifying', message: 'prod' }, t1);
    expect(second[0]).toMatchObject({ reason: 'Verifying', message: 'prod', lastTransitionTime: '2026-01-01T00:00:00Z' });
  });

  it('moves lastTransitionTime when the status changes', () => {
    const first = setCondition([], { type: 'Ready', status: 'False', reason: 'Deploying', message: '' }, t0);
    expect(setCondition(first, { type: 'Ready', status: 'True', reason: 'Succeeded', message: '' }, t1)[0]!.lastTransitionTime).toBe('2026-01-01T00:05:00Z');
  });

  it('returns an equal list when nothing changed, so status writes can be skipped', () => {
    const first = setCondition([], { type: 'Ready', status: 'True', reason: 'Succeeded', message: 'done' }, t0);
    expect(setCondition(first, { type: 'Ready', status: 'True', reason: 'Succeeded', message: 'done' }, t1)).toEqual(first);
  });

  it('keeps the other conditions in place', () => {
    let list = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: '' }, t0);
    list = setCondition(list, { type: 'Progressing', status: 'True', reason: 'B', message: '' }, t0);
    list = setCondition(list, { type: 'Ready', status: 'True', reason: 'C', message: '' }, t1);
    expect(list.map((c) => c.type)).toEqual(['Ready', 'Progressing']);
    expect(isTrue(list, 'Ready')).toBe(true);
    expect(removeCondition(list, 'Ready').map((c) => c.type)).toEqual(['Progressing']);
  });

  it('refuses a reason that is not CamelCase', () => {
    expect(() => setCondition([], { type: 'Ready', status: 'True', reason: 'not ok', message: '' }, t0)).toThrow('CamelCase');
  });
});
