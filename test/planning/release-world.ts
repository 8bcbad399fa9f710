/** A small world for release-machine tests: the pure machine plus a runner whose targets finish as a test says. */
import { expect } from 'vitest';
import { SchemaValidator } from '../../operator/src/validation/schema-validator.ts';
import type { ReleaseSpec, ReleaseStatus } from '../../operator/src/api/release.ts';
import {
  advance,
  workKey,
  type ApprovalDecision,
  type Effect,
  type MachineInput,
  type MachineOutput,
  type ReleaseAction,
  type TargetWork,
} from '../../operator/src/planning/release-machine.ts';

export const T0 = Date.parse('2026-11-27T10:00:00Z');
const schemas = new SchemaValidator();

/** Every status the machine writes must pass the CRD schema, or the API server refuses the patch. */
export function expectValidStatus(spec: ReleaseSpec, status: ReleaseStatus) {
  const object = { apiVersion: 'shipway.dev/v1alpha1', kind: 'Release', metadata: { name: 'r', namespace: 'n' }, spec, status };
  const kind = SchemaValidator.identify(object).kind!;
  expect(schemas.validate(kind, object).issues).toEqual([]);
}

export const spec = (over: Partial<ReleaseSpec> = {}): ReleaseSpec => ({
  project: 'shop',
  version: '1.1.0',
  operation: 'deploy',
  paused: false,
  environments: [
    { name: 'pre', promotion: 'auto', targets: { names: ['a'] } },
    { name: 'prod', promotion: 'manual', targets: { names: ['b', 'c'] } },
  ],
  ...over,
});

/** A small world: the machine plus a runner whose targets finish as the test says. */
export class World {
  status: ReleaseStatus = {};
  now = T0;
  work = new Map<string, TargetWork>();
  approvals = new Map<string, ApprovalDecision>();
  last!: MachineOutput;
  /** More machine input (groups, app graph, creation time) for the policy tests. */
  extra: Partial<MachineInput> = {};
  constructor(
    public spec: ReleaseSpec,
    public targets: Record<string, string[]> = { pre: ['a'], prod: ['b', 'c'] },
  ) {}

  step(action?: ReleaseAction, problems: string[] = []): MachineOutput {
    const input: MachineInput = {
      now: new Date(this.now),
      spec: this.spec,
      status: this.status,
      problems,
      environments: this.spec.environments.map((e) => ({ name: e.name, targets: (this.targets[e.name] ?? []).map((name) => ({ name })) })),
      work: this.work,
      approvals: this.approvals,
      ...(action ? { action } : {}),
      ...this.extra,
    };
    this.last = advance(input);
    this.status = this.last.status;
    expectValidStatus(this.spec, this.status);
    for (const e of this.last.effects) {
      if (e.kind === 'requestApproval' && !this.approvals.has(e.key)) this.approvals.set(e.key, 'pending');
      if (e.kind === 'decideApproval') this.approvals.set(e.key, e.approved ? 'approved' : 'rejected');
    }
    return this.last;
  }

  effects(kind: Effect['kind']) {
    return this.last.effects.filter((e) => e.kind === kind);
  }

  deploys() {
    return this.effects('deploy').map((e) => (e as Extract<Effect, { kind: 'deploy' }>).target);
  }

  finish(env: string, target: string, state: 'succeeded' | 'failed' = 'succeeded', extra: Partial<NonNullable<TargetWork['deploy']>> = {}) {
    const attempt = this.status.environments!.find((e) => e.name === env)!.targets!.find((t) => t.name === target)!.attempt ?? 1;
    const w = this.work.get(workKey(env, target)) ?? {};
    w.deploy = { attempt, state, previousVersion: '1.0.0', version: state === 'succeeded' ? '1.1.0' : undefined, ...extra };
    this.work.set(workKey(env, target), w);
  }

  verified(env: string, target: string, state: 'succeeded' | 'failed', error?: string) {
    const w = this.work.get(workKey(env, target)) ?? {};
    w.verify = { attempt: 1, state, ...(error ? { error } : {}) };
    this.work.set(workKey(env, target), w);
  }

  rolledBack(env: string, target: string, state: 'succeeded' | 'failed' = 'succeeded') {
    const w = this.work.get(workKey(env, target)) ?? {};
    w.rollback = { round: 1, state };
    this.work.set(workKey(env, target), w);
  }

  env(name: string) {
    return this.status.environments!.find((e) => e.name === name)!;
  }

  target(env: string, name: string) {
    return this.env(env).targets!.find((t) => t.name === name)!;
  }
}

