import { describe, expect, it } from 'vitest';
import { mutate, pipeline, REMOVE, valueAt } from '../fixtures/manifests.ts';
import { expectSingleIssue, validateChanged, validator, type InvalidCase } from './invalid-case.ts';

// The fixture's layout: stages[0] prepare: backup, stop; stages[1] rollout: deploy-app, migrate, smoke;
// stages[2] finish: notify-team, tidy, pause, sign-off, gate, run-report.
const SMOKE = 'spec.stages[1].tasks[2]';
const PAUSE = 'spec.stages[2].tasks[2]';
const SIGN_OFF = 'spec.stages[2].tasks[3]';
const GATE = 'spec.stages[2].tasks[4]';

describe('valid Pipeline manifests', () => {
  it('accepts three stages with every configurable task type', () => {
    const result = validator.validate(pipeline);
    expect(result.issues).toEqual([]);
    expect(result).toMatchObject({ foreign: false, kind: 'Pipeline', name: 'standard' });
  });

  it.each([
    ['spec.stages[0].onError', 'stop'],
    ['spec.stages[0].parallel', false],
    ['spec.stages[0].tasks[0].retry', 0],
    ['spec.stages[0].tasks[0].retryDelaySeconds', 10],
    ['spec.stages[0].tasks[0].backup.retention', 5],
    [`${SMOKE}.healthCheck.timeoutSeconds`, 10],
    [`${SMOKE}.healthCheck.retry`, 3],
    [`${SMOKE}.healthCheck.intervalSeconds`, 10],
    [`${SMOKE}.healthCheck.successThreshold`, 1],
    ['spec.stages[1].tasks[1].dbMigrate.rollbackOnFail', false],
    ['spec.stages[2].tasks[1].cleanup.cleanBackups', false],
    [`${GATE}.evaluate.onTrue`, 'continue'],
    [`${GATE}.evaluate.onFalse`, 'skip_remaining'],
    ['spec.stages[2].tasks[5].script.interpreter', '/bin/bash'],
  ])('defaults %s to %j', (path, expected) => {
    expect(valueAt(validator.validate(pipeline).object, path)).toEqual(expected);
  });

  it('keeps values that are set instead of the defaults', () => {
    const result = validator.validate(pipeline);
    expect(valueAt(result.object, 'spec.stages[1].onError')).toBe('rollback');
    expect(valueAt(result.object, 'spec.stages[2].parallel')).toBe(true);
  });

  it.each([
    ['a tcp health check', { [`${SMOKE}.healthCheck`]: { type: 'tcp', host: 'db', port: 5432 } }],
    ['a script health check', { [`${SMOKE}.healthCheck`]: { type: 'script', script: 'curl -f localhost' } }],
    ['a wait until approved', { [`${PAUSE}.wait`]: { untilApproved: true } }],
    ['an approval by groups', { [`${SIGN_OFF}.approval`]: { groups: ['ops'], timeoutSeconds: 3600 } }],
    ['a migration by path', { 'spec.stages[1].tasks[1].dbMigrate': { migrationPath: 'db/migrations' } }],
    ['a dependency on a task of the same stage', { 'spec.stages[2].tasks[1].dependsOn': ['notify-team'] }],
    ['a stop_service task with its block', { 'spec.stages[0].tasks[1].stopService': { command: 'systemctl stop shop', gracefulTimeoutSeconds: 0 } }],
    ['a stop_service task by pid file', { 'spec.stages[0].tasks[1].stopService': { pidFile: '/run/shop.pid' } }],
    ['a notify by webhook only', { 'spec.stages[2].tasks[0].notify': { webhook: { url: 'https://hooks.example/${HOOK_ID}', headers: { Authorization: 'Bearer ${HOOK_TOKEN}' } } } }],
  ])('accepts %s', (_name, changes) => {
    expect(validator.validate(mutate(pipeline, changes)).issues).toEqual([]);
  });
});

const cases: InvalidCase[] = [
  // Enums
  { name: 'an unknown stage phase', base: pipeline, changes: { 'spec.stages[0].phase': 'deploy' }, path: 'spec.stages[0].phase', reason: 'Unsupported value: "deploy": supported values: "pre_release", "release", "post_release"' },
  { name: 'an unknown onError', base: pipeline, changes: { 'spec.stages[1].onError': 'retry' }, path: 'spec.stages[1].onError', reason: 'Unsupported value: "retry": supported values: "continue", "stop", "rollback"' },
  { name: 'an unknown task type', base: pipeline, changes: { 'spec.stages[1].tasks[0].type': 'restart' }, path: 'spec.stages[1].tasks[0].type', reason: 'Unsupported value: "restart"' },
  { name: 'an unknown health check type', base: pipeline, changes: { [`${SMOKE}.healthCheck.type`]: 'grpc' }, path: `${SMOKE}.healthCheck.type`, reason: 'Unsupported value: "grpc"' },
  { name: 'an unknown condition branch action', base: pipeline, changes: { [`${GATE}.evaluate.onTrue`]: 'stop' }, path: `${GATE}.evaluate.onTrue`, reason: 'Unsupported value: "stop": supported values: "continue", "skip_remaining", "fail"' },
  { name: 'an unknown backup type', base: pipeline, changes: { 'spec.stages[0].tasks[0].backup.type': 'snapshot' }, path: 'spec.stages[0].tasks[0].backup.type', reason: 'Unsupported value: "snapshot"' },
  // Required fields and list sizes
  { name: 'a task without a type', base: pipeline, changes: { 'spec.stages[1].tasks[0].type': REMOVE }, path: 'spec.stages[1].tasks[0].type', reason: 'Required value' },
  { name: 'a task without an id', base: pipeline, changes: { 'spec.stages[1].tasks[0].id': REMOVE }, path: 'spec.stages[1].tasks[0].id', reason: 'Required value' },
  { name: 'a stage without a phase', base: pipeline, changes: { 'spec.stages[2].phase': REMOVE }, path: 'spec.stages[2].phase', reason: 'Required value' },
  { name: 'no stages', base: pipeline, changes: { 'spec.stages': [] }, path: 'spec.stages', reason: 'must have at least 1 item(s)' },
  { name: 'a stage without tasks', base: pipeline, changes: { 'spec.stages[2].tasks': [] }, path: 'spec.stages[2].tasks', reason: 'must have at least 1 item(s)' },
  { name: 'a notify task without channels', base: pipeline, changes: { 'spec.stages[2].tasks[0].notify.channels': [] }, path: 'spec.stages[2].tasks[0].notify.channels', reason: 'must have at least 1 item(s)' },
  { name: 'a script task with an empty script', base: pipeline, changes: { 'spec.stages[2].tasks[5].script.script': '' }, path: 'spec.stages[2].tasks[5].script.script', reason: 'must be at least 1 characters long' },
  // Types
  { name: 'parallel given as a string', base: pipeline, changes: { 'spec.stages[2].parallel': 'yes' }, path: 'spec.stages[2].parallel', reason: 'Invalid value: "yes": must be of type boolean' },
  { name: 'dependsOn given as a string', base: pipeline, changes: { 'spec.stages[0].tasks[1].dependsOn': 'backup' }, path: 'spec.stages[0].tasks[1].dependsOn', reason: 'must be of type array' },
  { name: 'a retry given as a string', base: pipeline, changes: { 'spec.stages[1].tasks[0].retry': 'twice' }, path: 'spec.stages[1].tasks[0].retry', reason: 'must be an integer' },
  // Patterns
  { name: 'a task id with capitals and underscores', base: pipeline, changes: { 'spec.stages[0].tasks[0].id': 'Backup_DB', 'spec.stages[0].tasks[1].dependsOn': REMOVE, 'spec.stages[1].tasks[0].dependsOn': REMOVE }, path: 'spec.stages[0].tasks[0].id', reason: 'Invalid value: "Backup_DB": must be a lowercase RFC 1123 label' },
  { name: 'a stage name ending with a dash', base: pipeline, changes: { 'spec.stages[0].name': 'prepare-' }, path: 'spec.stages[0].name', reason: 'must be a lowercase RFC 1123 label' },
  { name: 'a health check URL without a scheme', base: pipeline, changes: { [`${SMOKE}.healthCheck.url`]: 'localhost:8080/healthz' }, path: `${SMOKE}.healthCheck.url`, reason: 'must be an http:// or https:// URL' },
  // Minimum and maximum
  { name: 'a retry above 20', base: pipeline, changes: { 'spec.stages[1].tasks[0].retry': 21 }, path: 'spec.stages[1].tasks[0].retry', reason: 'Invalid value: 21: must be <= 20' },
  { name: 'a zero timeout', base: pipeline, changes: { 'spec.stages[1].tasks[0].timeoutSeconds': 0 }, path: 'spec.stages[1].tasks[0].timeoutSeconds', reason: 'Invalid value: 0: must be >= 1' },
  { name: 'an expected status above 599', base: pipeline, changes: { [`${SMOKE}.healthCheck.expectStatus`]: 600 }, path: `${SMOKE}.healthCheck.expectStatus`, reason: 'must be <= 599' },
  { name: 'keeping zero versions', base: pipeline, changes: { 'spec.stages[2].tasks[1].cleanup.keepVersions': 0 }, path: 'spec.stages[2].tasks[1].cleanup.keepVersions', reason: 'must be >= 1' },
  { name: 'an approval timeout under a minute', base: pipeline, changes: { [`${SIGN_OFF}.approval.timeoutSeconds`]: 59 }, path: `${SIGN_OFF}.approval.timeoutSeconds`, reason: 'must be >= 60' },
  // Unknown fields
  { name: 'an unknown task field', base: pipeline, changes: { 'spec.stages[1].tasks[0].command': 'deploy.sh' }, path: 'spec.stages[1].tasks[0].command', reason: 'unknown field "spec.stages[1].tasks[0].command"' },
  { name: 'an unknown stage field', base: pipeline, changes: { 'spec.stages[0].when': 'always' }, path: 'spec.stages[0].when', reason: 'unknown field "spec.stages[0].when"' },
  // CEL rules: task blocks follow the task type
  { name: 'a health_check task without its healthCheck block', base: pipeline, changes: { [`${SMOKE}.healthCheck`]: REMOVE }, path: `${SMOKE}.healthCheck`, reason: 'healthCheck is required when type is health_check', source: 'rule' },
  { name: 'a script block on a backup task', base: pipeline, changes: { 'spec.stages[0].tasks[0].script': { script: 'tar czf /tmp/b.tgz .' } }, path: 'spec.stages[0].tasks[0].script', reason: 'script is only allowed when type is script', source: 'rule' },
  { name: 'a condition task without its evaluate block', base: pipeline, changes: { [`${GATE}.evaluate`]: REMOVE }, path: `${GATE}.evaluate`, reason: 'evaluate is required when type is condition', source: 'rule' },
  { name: 'a db_migrate task without its dbMigrate block', base: pipeline, changes: { 'spec.stages[1].tasks[1].dbMigrate': REMOVE }, path: 'spec.stages[1].tasks[1].dbMigrate', reason: 'dbMigrate is required when type is db_migrate', source: 'rule' },
  { name: 'a cleanup block on a deploy task', base: pipeline, changes: { 'spec.stages[1].tasks[0].cleanup': {} }, path: 'spec.stages[1].tasks[0].cleanup', reason: 'cleanup is only allowed when type is cleanup', source: 'rule' },
  // CEL rules: task contents
  { name: 'a stop_service task with neither command nor pid file', base: pipeline, changes: { 'spec.stages[0].tasks[1].stopService': { gracefulTimeoutSeconds: 5 } }, path: 'spec.stages[0].tasks[1].stopService.command', reason: 'stop_service needs a command or a pidFile', source: 'rule' },
  { name: 'a task depending on itself', base: pipeline, changes: { 'spec.stages[0].tasks[1].dependsOn': ['backup', 'stop'] }, path: 'spec.stages[0].tasks[1].dependsOn', reason: 'a task cannot depend on itself', source: 'rule' },
  { name: 'a wait with neither duration nor approval', base: pipeline, changes: { [`${PAUSE}.wait`]: {} }, path: `${PAUSE}.wait`, reason: 'exactly one of durationSeconds, untilApproved: true must be set', source: 'rule' },
  { name: 'a wait with both duration and approval', base: pipeline, changes: { [`${PAUSE}.wait.untilApproved`]: true }, path: `${PAUSE}.wait`, reason: 'exactly one of durationSeconds, untilApproved: true must be set', source: 'rule' },
  { name: 'a wait with untilApproved false only', base: pipeline, changes: { [`${PAUSE}.wait`]: { untilApproved: false } }, path: `${PAUSE}.wait`, reason: 'exactly one of durationSeconds, untilApproved: true must be set', source: 'rule' },
  { name: 'an approval with nobody to approve', base: pipeline, changes: { [`${SIGN_OFF}.approval`]: { approvers: [] } }, path: `${SIGN_OFF}.approval`, reason: 'an approval needs approvers or groups', source: 'rule' },
  { name: 'a notify with neither channels nor webhook', base: pipeline, changes: { 'spec.stages[2].tasks[0].notify': { template: 'released' } }, path: 'spec.stages[2].tasks[0].notify', reason: 'notify needs channels or webhook', source: 'rule' },
  { name: 'a webhook URL that is not http', base: pipeline, changes: { 'spec.stages[2].tasks[0].notify.webhook': { url: 'ftp://hooks.example/x' } }, path: 'spec.stages[2].tasks[0].notify.webhook.url', reason: 'must be an http:// or https:// URL' },
  { name: 'a migration with neither command nor path', base: pipeline, changes: { 'spec.stages[1].tasks[1].dbMigrate': { image: 'migrate:1' } }, path: 'spec.stages[1].tasks[1].dbMigrate', reason: 'db_migrate needs command or migrationPath', source: 'rule' },
  { name: 'an http health check without a URL', base: pipeline, changes: { [`${SMOKE}.healthCheck.url`]: REMOVE }, path: `${SMOKE}.healthCheck.url`, reason: 'url is required for an http health check', source: 'rule' },
  { name: 'a tcp health check without a port', base: pipeline, changes: { [`${SMOKE}.healthCheck`]: { type: 'tcp', host: 'db' } }, path: `${SMOKE}.healthCheck.host`, reason: 'host and port are required for a tcp health check', source: 'rule' },
  { name: 'a script health check without a script', base: pipeline, changes: { [`${SMOKE}.healthCheck`]: { type: 'script' } }, path: `${SMOKE}.healthCheck.script`, reason: 'script is required for a script health check', source: 'rule' },
  { name: 'a URL on a tcp health check', base: pipeline, changes: { [`${SMOKE}.healthCheck`]: { type: 'tcp', host: 'db', port: 5432, url: 'http://db' } }, path: `${SMOKE}.healthCheck.url`, reason: 'url is only allowed for an http health check', source: 'rule' },
  // List-map and set uniqueness
  { name: 'two stages with one name', base: pipeline, changes: { 'spec.stages[1].name': 'prepare' }, path: 'spec.stages[1].name', reason: 'Duplicate value: {"name":"prepare"}', source: 'schema' },
  { name: 'two tasks with one id in a stage', base: pipeline, changes: { 'spec.stages[1].tasks[1].id': 'deploy-app' }, path: 'spec.stages[1].tasks[1].id', reason: 'Duplicate value: {"id":"deploy-app"}', source: 'schema' },
  { name: 'a dependency listed twice', base: pipeline, changes: { [`${SMOKE}.dependsOn`]: ['migrate', 'migrate'] }, path: `${SMOKE}.dependsOn[1]`, reason: 'Duplicate value: "migrate"', source: 'schema' },
  // Semantic checks
  { name: 'a dependency on an unknown task', base: pipeline, changes: { 'spec.stages[0].tasks[1].dependsOn': ['backups'] }, path: 'spec.stages[0].tasks[1].dependsOn[0]', reason: 'task "stop" depends on unknown task "backups"', source: 'semantic' },
  { name: 'a dependency on a task of a later stage', base: pipeline, changes: { 'spec.stages[0].tasks[1].dependsOn': ['smoke'] }, path: 'spec.stages[0].tasks[1].dependsOn[0]', reason: 'task "stop" depends on "smoke" of a later stage ("rollout")', source: 'semantic' },
  { name: 'a task id used in two stages', base: pipeline, changes: { 'spec.stages[2].tasks[1].id': 'backup' }, path: 'spec.stages[2].tasks[1].id', reason: 'duplicate task id "backup" (also in stage "prepare")', source: 'semantic' },
  { name: 'a dependency cycle inside a stage', base: pipeline, changes: { 'spec.stages[1].tasks[0].dependsOn': ['backup', 'smoke'] }, path: 'spec.stages[1].tasks', reason: 'dependency cycle: deploy-app -> smoke -> deploy-app', source: 'semantic' },
];

describe('invalid Pipeline manifests', () => {
  it('covers at least 12 rules', () => {
    expect(cases.length).toBeGreaterThanOrEqual(12);
  });

  it.each(cases)('rejects $name at $path', (c) => {
    expectSingleIssue(validateChanged(c), c);
  });

  it('reports every independent problem of one manifest at once', () => {
    const result = validator.validate(mutate(pipeline, { 'spec.stages[0].phase': 'deploy', 'spec.stages[1].tasks[0].retry': 99, 'spec.extra': 1 }));
    expect(result.issues.map((i) => i.path).sort()).toEqual(['spec.extra', 'spec.stages[0].phase', 'spec.stages[1].tasks[0].retry']);
  });

  it('runs the semantic checks only once the schema passes', () => {
    const result = validator.validate(mutate(pipeline, { 'spec.stages[0].tasks[1].dependsOn': ['nowhere'], 'spec.stages[0].onError': 'explode' }));
    expect(result.issues.map((i) => i.source)).toEqual(['schema']);
  });
});
