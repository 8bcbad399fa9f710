/**
 * The pure pieces of `kubectl shipway`: output formats and tables, how the operator's answer to an action
 * is recognised, the annotations an action writes, the checks made before writing them, the live view's
 * redraw, the history report; and the command line's usage errors (exit 2, nothing asked of a cluster).
 */
import { describe, expect, it } from 'vitest';
import type { CoreV1Event } from '@kubernetes/client-node';
import { actionProgress, type Acknowledgement, type ActionObject } from '../../operator/src/cli/action-request.ts';
import { historyFromCluster, historyFromDatabase, renderHistory } from '../../operator/src/cli/history-command.ts';
import { UsageError } from '../../operator/src/cli/kube-access.ts';
import { main } from '../../operator/src/cli/main.ts';
import { duration, formatObject, outputFormat, table } from '../../operator/src/cli/output-format.ts';
import { actionAnnotations, checkActionOptions, environmentProblem, switchVersionProblem } from '../../operator/src/cli/release-commands.ts';
import { LiveView } from '../../operator/src/cli/status-command.ts';
import type { ReleaseHistory } from '../../operator/src/storage/index.ts';

describe('output formats', () => {
  it.each([
    [undefined, 'table'],
    ['table', 'table'],
    ['json', 'json'],
    ['yaml', 'yaml'],
  ])('-o %s is %s', (flag, format) => {
    expect(outputFormat(flag)).toBe(format);
  });

  it.each(['wide', 'JSON', ''])('-o "%s" is a usage error naming the formats', (flag) => {
    expect(() => outputFormat(flag)).toThrow(new UsageError(`-o "${flag}" is not one of table, json, yaml`));
  });

  it('prints an object as indented JSON or as YAML', () => {
    expect(formatObject({ phase: 'Succeeded', targets: [{ name: 'a' }] }, 'json')).toBe('{\n  "phase": "Succeeded",\n  "targets": [\n    {\n      "name": "a"\n    }\n  ]\n}');
    expect(formatObject({ phase: 'Succeeded', targets: [{ name: 'a' }] }, 'yaml')).toBe('phase: Succeeded\ntargets:\n  - name: a');
  });

  it('draws a borderless table with columns aligned and empty cells as "-"', () => {
    expect(table(['TARGET', 'VERSION'], [['web-pre', '1.1.0'], ['web-prod-2', undefined]]).split('\n')).toEqual([
      'TARGET      VERSION',
      'web-pre     1.1.0',
      'web-prod-2  -',
    ]);
  });

  it.each([
    [undefined, undefined],
    [0.4, '0s'],
    [42, '42s'],
    [60, '1m'],
    [185, '3m5s'],
    [7440, '2h4m'],
    [273600, '3d4h'],
  ])('a duration of %s s reads %s', (seconds, text) => {
    expect(duration(seconds)).toBe(text);
  });
});

describe("recognising the operator's answer to an action", () => {
  const earlier: Acknowledgement = { action: 'pause', actor: 'ops', result: 'Applied', message: 'paused by ops', at: '2026-01-01T10:00:00Z', acknowledged: true };
  const object = (lastAction: Acknowledgement | undefined, action?: string): ActionObject => ({
    apiVersion: 'shipway.dev/v1alpha1', kind: 'Release', metadata: { name: 'r', annotations: action ? { 'shipway.dev/action': action } : {} }, spec: {}, ...(lastAction ? { status: { lastAction } } : {}),
  });

  it.each<[string, Acknowledgement | undefined, ActionObject | undefined, string]>([
    ['no answer yet, annotation still there', earlier, object(earlier, 'resume'), 'pending'],
    ['the earlier answer only acknowledged since', { ...earlier, acknowledged: false }, object(earlier, 'pause'), 'pending'],
    ['an answer to this action at a new time', earlier, object({ ...earlier, at: '2026-01-01T10:00:05Z' }, 'pause'), 'taken'],
    ['a first answer', undefined, object({ action: 'resume', result: 'Rejected', message: 'the release is not paused', at: '2026-01-01T10:00:00Z' }, 'resume'), 'taken'],
    ['the same answer again within the second, annotation removed', earlier, object(earlier), 'taken'],
    ['an answer to another action', earlier, object({ ...earlier, action: 'cancel', at: '2026-01-01T10:00:05Z' }, 'resume'), 'pending'],
    ['the annotation removed by someone else', earlier, object(earlier), 'withdrawn'],
    ['the object deleted', earlier, undefined, 'withdrawn'],
  ])('%s', (_, before, current, state) => {
    const action = current?.metadata.annotations?.['shipway.dev/action'] ?? (state === 'withdrawn' ? 'resume' : 'pause');
    expect(actionProgress(action, before, current, 'release shop/r').state).toBe(state);
  });

  it('says what happened when the request was withdrawn', () => {
    expect(actionProgress('resume', undefined, object(undefined), 'release shop/r')).toEqual({ state: 'withdrawn', reason: 'the shipway.dev/action annotation of release shop/r was removed before the operator took the resume' });
  });
});

describe('the annotations of an action and the checks before writing them', () => {
  it.each<[string, Parameters<typeof actionAnnotations>[1], Record<string, string>]>([
    ['approve', { actor: 'alice', comment: 'looks good' }, { 'shipway.dev/action': 'approve', 'shipway.dev/actor': 'alice', 'shipway.dev/comment': 'looks good' }],
    ['retry', { actor: 'ops', target: 'a,b' }, { 'shipway.dev/action': 'retry', 'shipway.dev/actor': 'ops', 'shipway.dev/action-target': 'a,b' }],
    ['start', { actor: 'ops', emergency: true, comment: 'outage' }, { 'shipway.dev/action': 'start', 'shipway.dev/actor': 'ops', 'shipway.dev/comment': 'outage', 'shipway.dev/emergency': 'true' }],
    ['switch-version', { actor: 'dev', version: '1.2.0' }, { 'shipway.dev/action': 'switch-version', 'shipway.dev/actor': 'dev', 'shipway.dev/version': '1.2.0' }],
    ['switch-version', { actor: 'dev' }, { 'shipway.dev/action': 'switch-version', 'shipway.dev/actor': 'dev' }],
  ])('%s with %j writes %j', (action, request, annotations) => {
    expect(actionAnnotations(action, request)).toEqual(annotations);
  });

  it.each<[Parameters<typeof checkActionOptions>[0], Parameters<typeof checkActionOptions>[1], string | undefined]>([
    ['retry', { target: 'a,b' }, undefined],
    ['pause', { target: 'a' }, undefined],
    ['cancel', { target: 'a,b' }, 'cancel takes one --target; only retry (and rollback) take several'],
    ['pause', { target: ' , ' }, '--target is empty'],
    ['start', { emergency: true }, '--emergency needs a reason in --comment'],
    ['start', { emergency: true, comment: 'outage' }, undefined],
  ])('%s with %j: %s', (action, options, problem) => {
    if (problem) expect(() => checkActionOptions(action, options)).toThrow(new UsageError(problem));
    else expect(() => checkActionOptions(action, options)).not.toThrow();
  });

  const environments = [{ name: 'pre' }, { name: 'prod' }];
  it.each<[string | undefined, string | undefined, string | undefined]>([
    [undefined, 'prod', 'it is at environment pre, not prod'],
    ['pre', 'pre', undefined],
    ['pre', 'prod', 'it is at environment pre, not prod'],
    [undefined, 'pre', undefined],
    ['pre', 'staging', 'it has no environment staging (it has pre, prod)'],
  ])('a release at environment %s, asked to start %s: %s', (current, environment, problem) => {
    expect(environmentProblem(current ? { currentEnvironment: current } : undefined, environments, environment)).toBe(problem);
  });

  it.each<[string | undefined, string | undefined, string | undefined]>([
    ['1.2.0', undefined, undefined],
    [undefined, '1.3.0', undefined],
    ['1.2.0', '1.3.0', undefined],
    [undefined, undefined, 'it has no new tag (status.newTag); name the version with --version'],
  ])('switch-version with new tag %s and --version %s: %s', (tag, version, problem) => {
    expect(switchVersionProblem(tag ? { newTag: { tag, detectedAt: '2026-01-01T10:00:00Z' } } : {}, version)).toBe(problem);
  });
});

describe('the live view', () => {
  it('redraws in place on a terminal: back to the first line shown, clear, draw', () => {
    const written: string[] = [];
    const view = new LiveView((l) => written.push(l), { tty: true, rows: 40 });
    expect(view.show(['Release shop/r  ▶ Deploying', '  a'])).toBe(true);
    expect(view.show(['Release shop/r  ▶ Deploying', '  a'])).toBe(false);
    view.show(['Release shop/r  ✔ Succeeded']);
    expect(written).toEqual(['Release shop/r  ▶ Deploying\n  a', '\x1b[2F\x1b[0JRelease shop/r  ✔ Succeeded']);
  });

  it('keeps a view taller than the terminal to its height so it can be moved back over', () => {
    const written: string[] = [];
    new LiveView((l) => written.push(l), { tty: true, rows: 3 }).show(['1', '2', '3', '4']);
    expect(written).toEqual(['1\n2']);
  });

  it('prints each new view after a blank line when the output is not a terminal', () => {
    const written: string[] = [];
    const view = new LiveView((l) => written.push(l), { tty: false });
    view.show(['v1']);
    view.show(['v2']);
    expect(written).toEqual(['v1', '', 'v2']);
  });
});

describe('the history report', () => {
  const release = {
    apiVersion: 'shipway.dev/v1alpha1', kind: 'Release', metadata: { name: 'r', namespace: 'shop', uid: 'u1' },
    spec: { project: 'shop', version: '1.1.0', environments: [{ name: 'pre', promotion: 'manual' as const }] },
    status: {
      phase: 'Succeeded' as const, version: '1.1.0',
      lastAction: { action: 'start', actor: 'alice', result: 'Applied' as const, message: 'start by alice: environment pre started', at: '2026-01-01T10:00:02Z', acknowledged: true },
      environments: [{
        name: 'pre', phase: 'Succeeded' as const,
        targets: [
          { name: 'a', phase: 'Succeeded' as const, version: '1.1.0', previousVersion: '1.0.0', startedAt: '2026-01-01T10:00:02Z', finishedAt: '2026-01-01T10:00:14Z' },
          { name: 'w', phase: 'Failed' as const, version: '1.1.0', attempt: 2, error: 'update script exited 1', startedAt: '2026-01-01T10:00:02Z' },
        ],
      }],
    },
  };
  const app = (name: string, appName: string, targets?: { names: string[] }) => ({
    apiVersion: 'shipway.dev/v1alpha1', kind: 'ReleaseApp', metadata: { name, namespace: 'shop' },
    spec: { release: 'r', app: appName, version: '1.1.0', artifact: { image: `registry.local/${appName}` }, ...(targets ? { targets } : {}) },
    status: { deployments: [{ id: 'd1', version: '1.1.0', environment: 'pre', status: 'succeeded' as const, superseded: false, startedAt: '2026-01-01T10:00:02Z' }] },
  });
  const event = (reason: string, message: string, at: string): CoreV1Event => ({ metadata: {}, involvedObject: { kind: 'Release', name: 'r' }, reason, message, lastTimestamp: at as unknown as Date });

  it('from the cluster: one row per environment, target and app, the apps’ recent deployments, and the actions from Events and status', () => {
    const report = historyFromCluster(
      release,
      [app('r-web', 'web', { names: ['a'] }), app('r-worker', 'worker', { names: ['w'] })],
      new Map([['a', { labels: {}, type: 'kubernetes' }], ['w', { labels: {}, type: 'script' }]]),
      [event('ActionApplied', 'paused by ops', '2026-01-01T10:00:00Z'), event('ActionRejected', 'retry: retry applies to a Failed release (it is Paused)', '2026-01-01T10:00:01Z'), event('EnvironmentWaiting', 'environment pre is waiting to start', '2026-01-01T09:59:59Z')],
    );
    expect(report.deployments).toEqual([
      { environment: 'pre', target: 'a', app: 'web', version: '1.1.0', previousVersion: '1.0.0', status: 'Succeeded', startedAt: '2026-01-01T10:00:02Z', finishedAt: '2026-01-01T10:00:14Z', durationSeconds: 12 },
      { environment: 'pre', target: 'w', app: 'worker', version: '1.1.0', status: 'Failed', attempt: 2, startedAt: '2026-01-01T10:00:02Z', error: 'update script exited 1' },
    ]);
    expect(report.appDeployments?.map((d) => `${d.app}:${d.environment}:${d.version}:${d.status}:${d.superseded}`)).toEqual(['web:pre:1.1.0:succeeded:false', 'worker:pre:1.1.0:succeeded:false']);
    expect(report.actions).toEqual([
      { at: '2026-01-01T10:00:00Z', result: 'Applied', message: 'paused by ops' },
      { at: '2026-01-01T10:00:01Z', action: 'retry', result: 'Rejected', message: 'retry applies to a Failed release (it is Paused)' },
      { at: '2026-01-01T10:00:02Z', action: 'start', actor: 'alice', result: 'Applied', message: 'start by alice: environment pre started' },
    ]);
    const text = renderHistory(report).join('\n');
    expect(text).toContain('Release shop/r  1.1.0  Succeeded  (from the cluster; --database-url for the full history)');
    expect(text).toMatch(/^pre\s+a\s+web\s+1\.0\.0 → 1\.1\.0\s+Succeeded\s+1\s+2026-01-01T10:00:02Z\s+2026-01-01T10:00:14Z\s+12s$/m);
    expect(text).toContain('  pre/w (worker): update script exited 1');
    expect(text).toMatch(/^2026-01-01T10:00:01Z\s+retry\s+release\s+-\s+-\s+Rejected\s+retry applies to a Failed release \(it is Paused\)$/m);
  });

  it('from the cluster: a target no app selects deploys the project, as the operator does', () => {
    const report = historyFromCluster(release, [], new Map(), []);
    expect(report.deployments.map((d) => `${d.target}:${d.app}`)).toEqual(['a:shop', 'w:shop']);
  });

  it("from the database: every deployment with its operation and superseded flag, and the audit log's actions", () => {
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 10, 0, s));
    const history = {
      release: { id: 'x', uid: 'u1', namespace: 'shop', name: 'r', version: '1.1.0', phase: 'Succeeded' },
      releaseApps: [],
      approvals: [],
      deployments: [
        { environment: 'pre', target: 'shop/a', app: 'web', operation: 'deploy', version: '1.1.0', previousVersion: '1.0.0', status: 'succeeded', superseded: true, startedAt: at(2), finishedAt: at(14), error: null, stageRuns: [] },
        { environment: 'pre', target: 'other/b', app: 'web', operation: 'rollback', version: '1.0.0', previousVersion: null, status: 'succeeded', superseded: false, startedAt: at(20), finishedAt: null, error: null, stageRuns: [] },
      ],
      auditEvents: [
        { kind: 'Release', name: 'r', action: 'pause', actor: 'ops', target: null, comment: 'lunch', details: { result: 'Applied', message: 'paused by ops' }, occurredAt: at(1) },
        { kind: 'ReleaseApp', name: 'r-web', action: 'switch-version', actor: 'dev', target: null, comment: null, details: { result: 'Rejected', message: 'the release is Deploying' }, occurredAt: at(3) },
      ],
    } as unknown as ReleaseHistory;
    const report = historyFromDatabase(history);
    expect(report.deployments).toEqual([
      { environment: 'pre', target: 'a', app: 'web', operation: 'deploy', version: '1.1.0', previousVersion: '1.0.0', status: 'succeeded', superseded: true, startedAt: '2026-01-01T10:00:02Z', finishedAt: '2026-01-01T10:00:14Z', durationSeconds: 12 },
      { environment: 'pre', target: 'other/b', app: 'web', operation: 'rollback', version: '1.0.0', status: 'succeeded', superseded: false, startedAt: '2026-01-01T10:00:20Z' },
    ]);
    expect(report.actions).toEqual([
      { at: '2026-01-01T10:00:01Z', action: 'pause', actor: 'ops', result: 'Applied', message: 'paused by ops', comment: 'lunch' },
      { at: '2026-01-01T10:00:03Z', object: 'releaseapp/r-web', action: 'switch-version', actor: 'dev', result: 'Rejected', message: 'the release is Deploying' },
    ]);
    const text = renderHistory(report).join('\n');
    expect(text).toMatch(/^ENVIRONMENT\s+TARGET\s+APP\s+OPERATION\s+VERSION\s+STATUS\s+SUPERSEDED\s+STARTED\s+FINISHED\s+DURATION$/m);
    expect(text).toMatch(/^pre\s+a\s+web\s+deploy\s+1\.0\.0 → 1\.1\.0\s+succeeded\s+yes\s/m);
    expect(text).toMatch(/paused by ops \(lunch\)$/m);
  });
});

describe('the command line', () => {
  const run = async (...args: string[]) => {
    const out: string[] = [];
    const code = await main(args, { out: (l) => out.push(l), err: (l) => out.push(l) });
    return { code, out: out.join('\n') };
  };

  // None of these reach a cluster: the kubeconfig named does not even exist.
  it.each([
    [['approve'], "missing required argument 'release'"],
    [['status', 'r', '-o', 'wide'], '-o "wide" is not one of table, json, yaml'],
    [['history', 'r', '-o', 'xml'], '-o "xml" is not one of table, json, yaml'],
    [['approve', 'r', '--target', 'a'], "unknown option '--target'"],
    [['cancel', 'r', '--target', 'a,b'], 'cancel takes one --target; only retry (and rollback) take several'],
    [['promote', 'r', '--emergency'], '--emergency needs a reason in --comment'],
    [['pause', 'r', '--timeout', 'soon'], '--timeout "soon" is not a number of seconds'],
    [['switch-version', 'r-web', '--version', ' '], '--version is empty'],
    [['rollback', 'r', '--kind', 'slow'], '--kind "slow" is not quick or redeploy'],
  ])('%j is a usage error (exit 2): %s', async (args, message) => {
    const result = await run(...args, '--kubeconfig', '/nonexistent/kubeconfig');
    expect(result.out).toContain(message);
    expect(result.code).toBe(2);
  });

  it('names the plugin as kubectl calls it in its help', async () => {
    const out: string[] = [];
    const code = await main(['--help'], { out: (l) => out.push(l), err: (l) => out.push(l) }, 'kubectl shipway');
    expect(code).toBe(0);
    expect(out.join('\n')).toContain('Usage: kubectl shipway [options] [command]');
  });
});
