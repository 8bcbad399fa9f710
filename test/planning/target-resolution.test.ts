import { describe, expect, it } from 'vitest';
import type { Environment } from '../../operator/src/api/release.ts';
import { resolveEnvironment, type TargetObject } from '../../operator/src/planning/target-resolution.ts';

const k8s = (name: string, environment: string, labels: Record<string, string> = {}): TargetObject => ({
  name, labels, spec: { type: 'kubernetes', environment, priority: 0, kubernetes: { namespace: 'n', kind: 'Deployment', name } },
});
const all = [k8s('a', 'pre', { region: 'eu' }), k8s('b', 'prod', { region: 'eu' }), k8s('c', 'prod', { region: 'us' }), { ...k8s('h', 'prod'), spec: { type: 'script' as const, environment: 'prod', priority: 0, agent: 'x' } }];
const env = (over: Partial<Environment>): Environment => ({ name: 'prod', promotion: 'manual', ...over });

describe('resolveEnvironment', () => {
  it.each<[string, Environment, string[] | string]>([
    ['by name', env({ targets: { names: ['c', 'b'] } }), ['b', 'c']],
    ['by selector, only targets of the environment', env({ name: 'pre', targets: { selector: { matchLabels: { region: 'eu' } } } }), ['a']],
    ['by selector in prod', env({ targets: { selector: { matchLabels: { region: 'eu' } } } }), ['b']],
    ['an unknown name', env({ targets: { names: ['b', 'zz'] } }), 'environment prod: target not found: zz'],
    ['a name from another environment', env({ targets: { names: ['a'] } }), 'environment prod: a belongs to environment pre'],
    ['nothing matches', env({ targets: { selector: { matchLabels: { region: 'mars' } } } }), 'environment prod: no targets matched'],
    ['agent targets on an operator without agents', env({ targets: { names: ['h'] } }), 'environment prod: h is a script target; this operator serves no agents (start it with --agent-port)'],
  ])('%s', (_, environment, expected) => {
    const result = resolveEnvironment(environment, all);
    if (typeof expected === 'string') expect(result.error).toBe(expected);
    else expect(result.targets.map((t) => t.name)).toEqual(expected);
  });

  it('takes agent targets when the operator serves agents', () => {
    expect(resolveEnvironment(env({}), all, { agentsServed: true }).targets.map((t) => t.name)).toEqual(['b', 'c', 'h']);
  });
});
