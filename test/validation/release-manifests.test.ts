import { describe, expect, it } from 'vitest';
import { clusterOrderRelease, mutate, release, REMOVE, valueAt } from '../fixtures/manifests.ts';
import { expectSingleIssue, validateChanged, validator, type InvalidCase } from './invalid-case.ts';

// `release`: environments[0] pre (named targets, canary by percent), [1] prod (selector, rolling, approval,
// window); variables plain, secret, env_specific, template, external; schedule by cron.
// `clusterOrderRelease`: environments[0] prod (clusterOrder of three steps), [1] dr (matchExpressions,
// blueGreen); version auto; schedule at.
const PRE = 'spec.environments[0]';
const PROD = 'spec.environments[1]';
const CANARY = `${PRE}.strategy.canary`;
const ORDER = 'spec.environments[0].strategy.canary.clusterOrder';
const DR_EXPRESSION = 'spec.environments[1].targets.selector.matchExpressions[0]';

describe('valid Release manifests', () => {
  it.each([
    ['two environments with canary, rolling, approval, window, variables and a cron schedule', release],
    ['a multi-cluster ordered canary, blue-green and version auto', clusterOrderRelease],
  ])('accepts %s', (_name, manifest) => {
    const result = validator.validate(manifest);
    expect(result.issues).toEqual([]);
    expect(result).toMatchObject({ foreign: false, kind: 'Release', name: manifest.metadata.name });
  });

  it.each([
    ['spec.operation', 'deploy'],
    ['spec.paused', false],
    [`${PRE}.strategy.canary.autoPromote`, false],
    [`${PRE}.strategy.canary.autoRollback`, true],
    [`${PROD}.strategy.type`, 'rolling'],
    [`${PROD}.strategy.rolling.batchIntervalSeconds`, 0],
    [`${PROD}.promotion`, 'manual'],
    ['spec.variables[0].type', 'plain'],
    ['spec.rollback.conditions[0].windowSeconds', 60],
  ])('defaults %s to %j', (path, expected) => {
    expect(valueAt(validator.validate(release).object, path)).toEqual(expected);
  });

  it.each([
    [`${ORDER}[1].verifySeconds`, 0],
    [`${ORDER}[0].approvalRequired`, false],
    [`${ORDER}[0].fullRollout`, false],
    ['spec.environments[0].strategy.canary.verifySeconds', 300],
    ['spec.environments[1].strategy.blueGreen.keepOldVersion', true],
  ])('defaults %s to %j in a cluster-ordered release', (path, expected) => {
    expect(valueAt(validator.validate(clusterOrderRelease).object, path)).toEqual(expected);
  });

  it('keeps values that are set instead of the defaults', () => {
    const object = validator.validate(release).object;
    expect(valueAt(object, `${PRE}.promotion`)).toBe('auto');
    expect(valueAt(object, `${PRE}.strategy.canary.verifySeconds`)).toBe(60);
    expect(valueAt(object, 'spec.rollback.granularity')).toBe('single');
  });

  it.each([
    ['canary targets among the named targets', { [CANARY]: { targets: ['web-pre-2'] } }],
    ['a canary label selector', { [CANARY]: { selector: { matchLabels: { canary: 'true' } } } }],
    ['a window that crosses midnight', { [`${PROD}.window.allowed[0]`]: { days: ['Sat'], start: '22:00', end: '02:00' } }],
    ['an environment without targets or strategy', { 'spec.environments[1]': { name: 'prod' } }],
    ['an Exists expression without values', { [`${PROD}.targets.selector`]: { matchExpressions: [{ key: 'canary', operator: 'Exists' }] } }],
    ['every operation other than deploy', { 'spec.operation': 'uninstall' }],
    ['a version with a v prefix and a pre-release', { 'spec.version': 'v2.0.0-rc.1+build.7' }],
    ['an external variable from a Secret', { 'spec.variables[4].external': { source: 'secret', key: 'token', secretName: 'ci' } }],
  ])('accepts %s', (_name, changes) => {
    expect(validator.validate(mutate(release, changes)).issues).toEqual([]);
  });
});

const cases: InvalidCase[] = [
  // Enums
  { name: 'an unknown operation', base: release, changes: { 'spec.operation': 'redeploy' }, path: 'spec.operation', reason: 'Unsupported value: "redeploy": supported values: "deploy", "install", "update", "rollback", "uninstall"' },
  { name: 'an unknown strategy type', base: clusterOrderRelease, changes: { 'spec.environments[1].strategy.type': 'shadow' }, path: 'spec.environments[1].strategy.type', reason: 'Unsupported value: "shadow": supported values: "rolling", "canary", "blueGreen"' },
  { name: 'an unknown promotion', base: release, changes: { [`${PRE}.promotion`]: 'automatic' }, path: `${PRE}.promotion`, reason: 'Unsupported value: "automatic": supported values: "manual", "auto"' },
  { name: 'an unknown bump', base: clusterOrderRelease, changes: { 'spec.bump': 'build' }, path: 'spec.bump', reason: 'Unsupported value: "build": supported values: "major", "minor", "patch"' },
  { name: 'an unknown weekday', base: release, changes: { [`${PROD}.window.allowed[0].days`]: ['Monday'] }, path: `${PROD}.window.allowed[0].days[0]`, reason: 'Unsupported value: "Monday"' },
  { name: 'an unknown rollback granularity', base: release, changes: { 'spec.rollback.granularity': 'some' }, path: 'spec.rollback.granularity', reason: 'Unsupported value: "some": supported values: "all", "single"' },
  { name: 'an unknown variable type', base: release, changes: { 'spec.variables[0].type': 'number' }, path: 'spec.variables[0].type', reason: 'Unsupported value: "number"' },
  { name: 'an unknown selector operator', base: clusterOrderRelease, changes: { [`${DR_EXPRESSION}.operator`]: 'Equals' }, path: `${DR_EXPRESSION}.operator`, reason: 'Unsupported value: "Equals": supported values: "In", "NotIn", "Exists", "DoesNotExist"' },
  // Required fields and list sizes
  { name: 'no project', base: release, changes: { 'spec.project': REMOVE }, path: 'spec.project', reason: 'Required value' },
  { name: 'no version', base: release, changes: { 'spec.version': REMOVE }, path: 'spec.version', reason: 'Required value' },
  { name: 'an environment without a name', base: release, changes: { [`${PRE}.name`]: REMOVE }, path: `${PRE}.name`, reason: 'Required value' },
  { name: 'no environments', base: release, changes: { 'spec.environments': [] }, path: 'spec.environments', reason: 'Invalid value: must have at least 1 item(s)' },
  { name: 'more than ten environments', base: release, changes: { 'spec.environments': Array.from({ length: 11 }, (_, i) => ({ name: `env-${i}` })) }, path: 'spec.environments', reason: 'Too many: must have at most 10 items' },
  { name: 'a cluster order step without targets', base: clusterOrderRelease, changes: { [`${ORDER}[1].targets`]: REMOVE }, path: `${ORDER}[1].targets`, reason: 'Required value' },
  // Types
  { name: 'paused given as a string', base: release, changes: { 'spec.paused': 'true' }, path: 'spec.paused', reason: 'Invalid value: "true": must be of type boolean' },
  { name: 'a version given as a number', base: release, changes: { 'spec.version': 2 }, path: 'spec.version', reason: 'Invalid value: 2: must be of type string' },
  { name: 'environments given as a map', base: release, changes: { 'spec.environments': { pre: {} } }, path: 'spec.environments', reason: 'must be of type array' },
  // Patterns and formats
  { name: 'a version that is not semantic', base: release, changes: { 'spec.version': '1.4' }, path: 'spec.version', reason: 'Invalid value: "1.4": must be a semantic version such as 1.4.2 (optionally with a v prefix), or auto' },
  { name: 'a project with capitals', base: release, changes: { 'spec.project': 'Shop' }, path: 'spec.project', reason: 'must be a lowercase RFC 1123 label' },
  { name: 'a window start that is not HH:MM', base: release, changes: { [`${PROD}.window.allowed[0].start`]: '9:00' }, path: `${PROD}.window.allowed[0].start`, reason: 'Invalid value: "9:00": must be a time of day as HH:MM (24-hour)' },
  { name: 'a window end at 24:00', base: release, changes: { [`${PROD}.window.allowed[0].end`]: '24:00' }, path: `${PROD}.window.allowed[0].end`, reason: 'must be a time of day as HH:MM (24-hour)' },
  { name: 'a time zone with spaces', base: release, changes: { [`${PROD}.window.timezone`]: 'Central European Time' }, path: `${PROD}.window.timezone`, reason: 'must be an IANA time zone such as Europe/Berlin' },
  { name: 'a blackout date in another format', base: release, changes: { [`${PROD}.window.blackoutDates`]: ['24.12.2026'] }, path: `${PROD}.window.blackoutDates[0]`, reason: 'Invalid value: "24.12.2026": must be a date as YYYY-MM-DD' },
  { name: 'a schedule time without a zone', base: clusterOrderRelease, changes: { 'spec.schedule.at': '2026-03-01 22:00' }, path: 'spec.schedule.at', reason: 'must be an RFC 3339 date-time such as 2026-01-31T10:00:00Z' },
  { name: 'a variable name starting with a digit', base: release, changes: { 'spec.variables[0].name': '1LOG' }, path: 'spec.variables[0].name', reason: 'must be a variable name (letters, digits and _, not starting with a digit)' },
  { name: 'a target name with an underscore', base: release, changes: { [`${PRE}.targets.names[1]`]: 'web_pre_2' }, path: `${PRE}.targets.names[1]`, reason: 'must be a lowercase RFC 1123 subdomain' },
  // Minimum and maximum
  { name: 'a canary of 101 percent', base: release, changes: { [`${CANARY}.percent`]: 101 }, path: `${CANARY}.percent`, reason: 'Invalid value: 101: must be <= 100' },
  { name: 'a canary of 0 percent', base: release, changes: { [`${CANARY}.percent`]: 0 }, path: `${CANARY}.percent`, reason: 'Invalid value: 0: must be >= 1' },
  { name: 'a batch size of 0', base: release, changes: { [`${PROD}.strategy.rolling.batchSize`]: 0 }, path: `${PROD}.strategy.rolling.batchSize`, reason: 'must be >= 1' },
  { name: 'an approval expiring within a minute', base: release, changes: { [`${PROD}.approval.expirySeconds`]: 30 }, path: `${PROD}.approval.expirySeconds`, reason: 'Invalid value: 30: must be >= 60' },
  { name: 'a negative rollback threshold', base: release, changes: { 'spec.rollback.conditions[1].threshold': -1 }, path: 'spec.rollback.conditions[1].threshold', reason: 'Invalid value: -1: must be >= 0' },
  { name: 'a cluster order step canary of 0 percent', base: clusterOrderRelease, changes: { [`${ORDER}[0].canaryPercent`]: 0 }, path: `${ORDER}[0].canaryPercent`, reason: 'must be >= 1' },
  // Unknown fields
  { name: 'an unknown canary field', base: release, changes: { [`${CANARY}.steps`]: [10, 50] }, path: `${CANARY}.steps`, reason: 'unknown field "spec.environments[0].strategy.canary.steps"' },
  { name: 'an unknown environment field', base: release, changes: { [`${PROD}.namespace`]: 'shop' }, path: `${PROD}.namespace`, reason: 'unknown field "spec.environments[1].namespace"' },
  // CEL rules: strategy
  { name: 'a canary with both percent and targets', base: release, changes: { [`${CANARY}.targets`]: ['web-pre-1'] }, path: CANARY, reason: 'Invalid value: exactly one of percent, targets, selector, clusterOrder must be set', source: 'rule' },
  { name: 'a canary with selector and clusterOrder', base: clusterOrderRelease, changes: { 'spec.environments[0].strategy.canary.selector': { matchLabels: { canary: 'true' } } }, path: 'spec.environments[0].strategy.canary', reason: 'exactly one of percent, targets, selector, clusterOrder must be set', source: 'rule' },
  { name: 'a canary choosing no canary targets', base: release, changes: { [`${CANARY}.percent`]: REMOVE }, path: CANARY, reason: 'exactly one of percent, targets, selector, clusterOrder must be set', source: 'rule' },
  { name: 'a canary strategy without its canary block', base: release, changes: { [CANARY]: REMOVE }, path: CANARY, reason: 'canary is required when type is canary', source: 'rule' },
  { name: 'a canary block on a rolling strategy', base: release, changes: { [`${PRE}.strategy.type`]: 'rolling' }, path: CANARY, reason: 'canary is only allowed when type is canary', source: 'rule' },
  { name: 'a rolling block on a blue-green strategy', base: clusterOrderRelease, changes: { 'spec.environments[1].strategy.rolling': {} }, path: 'spec.environments[1].strategy.rolling', reason: 'rolling is only allowed when type is rolling', source: 'rule' },
  { name: 'a blue-green block on the default (rolling) strategy', base: release, changes: { [`${PROD}.strategy.blueGreen`]: {} }, path: `${PROD}.strategy.blueGreen`, reason: 'blueGreen is only allowed when type is blueGreen', source: 'rule' },
  { name: 'cluster order steps with one priority', base: clusterOrderRelease, changes: { [`${ORDER}[2].priority`]: 1 }, path: ORDER, reason: 'Invalid value: clusterOrder priorities must be unique', source: 'rule' },
  { name: 'a cluster order step with canaryPercent and fullRollout', base: clusterOrderRelease, changes: { [`${ORDER}[0].fullRollout`]: true }, path: `${ORDER}[0].canaryPercent`, reason: 'canaryPercent and fullRollout exclude each other', source: 'rule' },
  // CEL rules: target selection
  { name: 'targets by both names and selector', base: release, changes: { [`${PRE}.targets.selector`]: { matchLabels: { env: 'pre' } } }, path: `${PRE}.targets`, reason: 'Invalid value: exactly one of names, selector must be set', source: 'rule' },
  { name: 'targets by neither names nor selector', base: release, changes: { [`${PROD}.targets`]: {} }, path: `${PROD}.targets`, reason: 'exactly one of names, selector must be set', source: 'rule' },
  { name: 'an empty label selector', base: release, changes: { [`${PROD}.targets.selector`]: {} }, path: `${PROD}.targets.selector`, reason: 'a selector needs matchLabels or matchExpressions', source: 'rule' },
  { name: 'an In expression without values', base: clusterOrderRelease, changes: { [`${DR_EXPRESSION}.values`]: [] }, path: `${DR_EXPRESSION}.values`, reason: 'values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist', source: 'rule' },
  { name: 'an Exists expression with values', base: clusterOrderRelease, changes: { [`${DR_EXPRESSION}.operator`]: 'Exists' }, path: `${DR_EXPRESSION}.values`, reason: 'values must be non-empty for In and NotIn', source: 'rule' },
  // CEL rules: version and schedule
  { name: 'bump with a fixed version', base: release, changes: { 'spec.bump': 'patch' }, path: 'spec.bump', reason: 'Invalid value: bump is only allowed when version is auto', source: 'rule' },
  { name: 'version auto without bump', base: clusterOrderRelease, changes: { 'spec.bump': REMOVE }, path: 'spec.bump', reason: 'bump is required when version is auto', source: 'rule' },
  { name: 'a schedule with both at and cron', base: release, changes: { 'spec.schedule.at': '2026-03-01T22:00:00Z' }, path: 'spec.schedule', reason: 'exactly one of at, cron must be set', source: 'rule' },
  { name: 'a schedule with neither at nor cron', base: release, changes: { 'spec.schedule': {} }, path: 'spec.schedule', reason: 'exactly one of at, cron must be set', source: 'rule' },
  { name: 'a time zone with a schedule at', base: clusterOrderRelease, changes: { 'spec.schedule.timezone': 'Europe/Berlin' }, path: 'spec.schedule.timezone', reason: 'timezone is only used with cron (at carries its own offset)', source: 'rule' },
  // CEL rules: approval and window
  { name: 'a required approval without approvers or groups', base: release, changes: { [`${PROD}.approval.approvers`]: REMOVE }, path: `${PROD}.approval.approvers`, reason: 'a required approval needs approvers or groups', source: 'rule' },
  { name: 'a required approval with an empty approver list', base: release, changes: { [`${PROD}.approval.approvers`]: [] }, path: `${PROD}.approval.approvers`, reason: 'a required approval needs approvers or groups', source: 'rule' },
  { name: 'a window that starts when it ends', base: release, changes: { [`${PROD}.window.allowed[0].end`]: '09:00' }, path: `${PROD}.window.allowed[0].end`, reason: 'Invalid value: start and end must differ', source: 'rule' },
  // CEL rules: variables
  { name: 'a secret variable with an inline value', base: release, changes: { 'spec.variables[1].value': 'hunter2' }, path: 'spec.variables[1].secretKeyRef', reason: 'a secret variable takes secretKeyRef, never an inline value', source: 'rule' },
  { name: 'a secret variable without a secretKeyRef', base: release, changes: { 'spec.variables[1].secretKeyRef': REMOVE }, path: 'spec.variables[1].secretKeyRef', reason: 'a secret variable takes secretKeyRef, never an inline value', source: 'rule' },
  { name: 'an env_specific variable without values', base: release, changes: { 'spec.variables[2].values': REMOVE }, path: 'spec.variables[2].values', reason: 'values is required for an env_specific variable', source: 'rule' },
  { name: 'a plain variable without a value', base: release, changes: { 'spec.variables[0].value': REMOVE }, path: 'spec.variables[0].value', reason: 'value is required for plain and template variables', source: 'rule' },
  { name: 'a template variable without a value', base: release, changes: { 'spec.variables[3].value': REMOVE }, path: 'spec.variables[3].value', reason: 'value is required for plain and template variables', source: 'rule' },
  { name: 'an external variable without its source', base: release, changes: { 'spec.variables[4].external': REMOVE }, path: 'spec.variables[4].external', reason: 'external is required for an external variable', source: 'rule' },
  { name: 'a secretKeyRef on a plain variable', base: release, changes: { 'spec.variables[0].secretKeyRef': { name: 'db', key: 'password' } }, path: 'spec.variables[0].secretKeyRef', reason: 'secretKeyRef is only allowed for a secret variable', source: 'rule' },
  { name: 'per-environment values on a plain variable', base: release, changes: { 'spec.variables[0].values': { pre: 'debug' } }, path: 'spec.variables[0].values', reason: 'values is only allowed for an env_specific variable', source: 'rule' },
  { name: 'an external source on a template variable', base: release, changes: { 'spec.variables[3].external': { source: 'env', key: 'X' } }, path: 'spec.variables[3].external', reason: 'external is only allowed for an external variable', source: 'rule' },
  { name: 'an external Secret source without the Secret name', base: release, changes: { 'spec.variables[4].external.source': 'secret' }, path: 'spec.variables[4].external.secretName', reason: 'secretName is required for source secret', source: 'rule' },
  // CEL rules: rollback
  { name: 'an error-rate rollback without a threshold', base: release, changes: { 'spec.rollback.conditions[1].threshold': REMOVE }, path: 'spec.rollback.conditions[1].threshold', reason: 'threshold is required for error_rate and response_time', source: 'rule' },
  { name: 'a response-time rollback without a threshold', base: release, changes: { 'spec.rollback.conditions[0].type': 'response_time' }, path: 'spec.rollback.conditions[0].threshold', reason: 'threshold is required for error_rate and response_time', source: 'rule' },
  // List-map and set uniqueness
  { name: 'two environments with one name', base: release, changes: { [`${PROD}.name`]: 'pre' }, path: `${PROD}.name`, reason: 'Duplicate value: {"name":"pre"}', source: 'schema' },
  { name: 'two variables with one name', base: release, changes: { 'spec.variables[3].name': 'LOG_LEVEL' }, path: 'spec.variables[3].name', reason: 'Duplicate value: {"name":"LOG_LEVEL"}', source: 'schema' },
  { name: 'a target named twice', base: release, changes: { [`${PRE}.targets.names[1]`]: 'web-pre-1' }, path: `${PRE}.targets.names[1]`, reason: 'Duplicate value: "web-pre-1"', source: 'schema' },
  { name: 'a weekday listed twice', base: release, changes: { [`${PROD}.window.allowed[0].days`]: ['Tue', 'Tue'] }, path: `${PROD}.window.allowed[0].days[1]`, reason: 'Duplicate value: "Tue"', source: 'schema' },
  // Semantic checks
  { name: 'a canary target outside the environment', base: release, changes: { [CANARY]: { targets: ['web-pre-2', 'web-prod-1'] } }, path: `${CANARY}.targets[1]`, reason: 'canary target "web-prod-1" is not among the environment\'s targets', source: 'semantic' },
  { name: 'a cluster order target outside the environment', base: clusterOrderRelease, changes: { [`${ORDER}[2].targets`]: ['us-2'] }, path: `${ORDER}[2].targets[0]`, reason: 'target "us-2" is not among the environment\'s targets', source: 'semantic' },
];

describe('invalid Release manifests', () => {
  it('covers at least 12 rules', () => {
    expect(cases.length).toBeGreaterThanOrEqual(12);
  });

  it.each(cases)('rejects $name at $path', (c) => {
    expectSingleIssue(validateChanged(c), c);
  });

  it('does not check canary targets against an environment that selects by label', () => {
    const changed = mutate(release, { [`${PROD}.strategy`]: { type: 'canary', canary: { targets: ['anything'] } } });
    expect(validator.validate(changed).issues).toEqual([]);
  });
});
