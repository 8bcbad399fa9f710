/**
 * The one conditions helper: Ready, Progressing, Degraded, Failed, Stalled with reason, message and
 * observedGeneration; lastTransitionTime moves only when the status changes. Pure.
 */
import type { Condition } from './common.ts';
import { kubeTime } from './kube-time.ts';

export type ConditionType = 'Ready' | 'Progressing' | 'Degraded' | 'Failed' | 'Stalled' | (string & {});

export interface ConditionInput {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
}

/** Reasons are CamelCase identifiers (metav1.Condition requires it). */
const REASON = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;

/** A new list with `input` set; other conditions keep their order. Returns the same array when nothing changed. */
export function setCondition(conditions: readonly Condition[] | undefined, input: ConditionInput, now: Date): Condition[] {
  if (!REASON.test(input.reason)) throw new Error(`condition reason must be CamelCase: ${JSON.stringify(input.reason)}`);
  const list = conditions ?? [];
  const existing = list.find((c) => c.type === input.type);
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message.slice(0, 32768),
    lastTransitionTime: existing && existing.status === input.status ? existing.lastTransitionTime : kubeTime(now),
    ...(input.observedGeneration !== undefined ? { observedGeneration: input.observedGeneration } : {}),
  };
  if (existing && sameCondition(existing, next)) return [...list];
  return existing ? list.map((c) => (c.type === input.type ? next : c)) : [...list, next];
}

export function getCondition(conditions: readonly Condition[] | undefined, type: ConditionType): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isTrue(conditions: readonly Condition[] | undefined, type: ConditionType): boolean {
  return getCondition(conditions, type)?.status === 'True';
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: ConditionType): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

function sameCondition(a: Condition, b: Condition): boolean {
  return a.status === b.status && a.reason === b.reason && a.message === b.message && a.observedGeneration === b.observedGeneration && a.lastTransitionTime === b.lastTransitionTime;
}
