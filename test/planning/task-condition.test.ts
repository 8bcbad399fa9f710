import { describe, expect, it } from 'vitest';
import { conditionActivation, evaluateCondition, type ConditionActivation } from '../../operator/src/planning/task-condition.ts';

const activation: ConditionActivation = {
  variables: { RELEASE_ENV: 'prod', REPLICAS: '3', FEATURE_X: 'true' },
  results: {
    smoke: { status: 'succeeded', output: 'HTTP 200 OK' },
    backup: { status: 'failed' },
  },
  release: { namespace: 'shop', name: 'shop-1-1-0', uid: 'u-1', project: 'shop', version: '1.1.0' },
  environment: 'prod',
  target: { name: 'web-eu', labels: { region: 'eu-west', canary: 'true' } },
};

describe('evaluateCondition', () => {
  it.each([
    ["variables.RELEASE_ENV == 'prod'", true],
    ["variables.RELEASE_ENV == 'pre'", false],
    ["results['smoke'].status == 'succeeded'", true],
    ["results.smoke.output.contains('200')", true],
    ["results.backup.status == 'failed' && !has(results.backup.output)", true],
    ["'deploy' in results", false],
    ['int(variables.REPLICAS) > 2', true],
    ["variables.FEATURE_X == 'true'", true],
    ["release.version.startsWith('1.')", true],
    ["release.project == 'shop' && release.namespace == 'shop'", true],
    ["environment == 'prod'", true],
    ["target.name == 'web-eu' && target.labels.region == 'eu-west'", true],
    ["has(target.labels.zone) ? target.labels.zone == 'a' : true", true],
  ])('%s → %s', (expression, expected) => {
    expect(evaluateCondition(expression, activation)).toEqual({ value: expected });
  });

  it.each([
    ['a parse error', '(( variables', /^ParseError: /],
    ['an unknown variable', "vars.ENV == 'prod'", /^EvaluationError: Unknown variable: vars/],
    ['a missing result', "results.deploy.status == 'succeeded'", /No such key: deploy/],
    ['an int result', '1 + 2', /must evaluate to a boolean, got int 3: 1 \+ 2$/],
    ['a string result', 'variables.RELEASE_ENV', /must evaluate to a boolean, got string "prod"/],
    ['a list result', '[true]', /must evaluate to a boolean, got a list/],
  ])('reports %s as an error, never as false', (_name, expression, message) => {
    const result = evaluateCondition(expression, activation);
    expect(result).toEqual({ error: expect.stringMatching(message) });
  });

  it('gives the same answer when an expression is evaluated again over other data', () => {
    const expression = "environment == 'prod'";
    expect(evaluateCondition(expression, activation)).toEqual({ value: true });
    expect(evaluateCondition(expression, { ...activation, environment: 'pre' })).toEqual({ value: false });
  });
});

describe('conditionActivation', () => {
  it('exposes only the target name and labels, and results without absent outputs', () => {
    expect(conditionActivation(activation)).toEqual({
      variables: activation.variables,
      results: { smoke: { status: 'succeeded', output: 'HTTP 200 OK' }, backup: { status: 'failed' } },
      release: activation.release,
      environment: 'prod',
      target: { name: 'web-eu', labels: { region: 'eu-west', canary: 'true' } },
    });
  });

  it('drops an output key that is present but undefined', () => {
    const built = conditionActivation({ ...activation, results: { a: { status: 'skipped', output: undefined } } });
    expect(Object.keys((built.results as Record<string, object>).a!)).toEqual(['status']);
  });
});
