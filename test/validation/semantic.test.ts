import { describe, expect, it } from 'vitest';
import type { PipelineSpec, Stage, Task } from '../../operator/src/api/pipeline.ts';
import type { Environment } from '../../operator/src/api/release.ts';
import type { ReleaseAppSpec } from '../../operator/src/api/release-app.ts';
import type { ClusterOrderStep } from '../../operator/src/api/strategy.ts';
import {
  canaryTargetsOutsideEnvironment,
  crossObjectIssues,
  duplicateEnvironmentNames,
  pipelineTaskGraphIssues,
  releaseAppGraphIssues,
  releaseAppIssues,
  semanticIssues,
} from '../../operator/src/validation/semantic.ts';

// Builders of specs as they look after defaulting, which is what the semantic checks receive.

const task = (id: string, dependsOn?: string[]): Task => ({
  id,
  type: 'deploy',
  retry: 0,
  retryDelaySeconds: 10,
  ...(dependsOn ? { dependsOn } : {}),
});

const stage = (name: string, tasks: Task[]): Stage => ({ name, phase: 'release', onError: 'stop', parallel: false, tasks });

const pipelineSpec = (...stages: Stage[]): PipelineSpec => ({ stages });

const step = (priority: number, targets: string[]): ClusterOrderStep => ({
  priority,
  targets,
  verifySeconds: 0,
  approvalRequired: false,
  fullRollout: false,
});

const env = (name: string, options: { names?: string[]; selector?: boolean; canaryTargets?: string[]; clusterOrder?: ClusterOrderStep[] } = {}): Environment => ({
  name,
  promotion: 'manual',
  ...(options.names ? { targets: { names: options.names } } : {}),
  ...(options.selector ? { targets: { selector: { matchLabels: { env: name } } } } : {}),
  ...(options.canaryTargets || options.clusterOrder
    ? {
        strategy: {
          type: 'canary',
          canary: {
            ...(options.canaryTargets ? { targets: options.canaryTargets } : {}),
            ...(options.clusterOrder ? { clusterOrder: options.clusterOrder } : {}),
            verifySeconds: 300,
            autoPromote: false,
            autoRollback: true,
          },
        },
      }
    : {}),
});

const app = (name: string, dependsOn: string[]): ReleaseAppSpec => ({
  release: 'shop-1',
  app: name,
  version: '1.0.0',
  artifact: { image: `shop/${name}` },
  dependsOn: dependsOn.map((dep) => ({ app: dep, required: true, waitReady: true, timeoutSeconds: 300 })),
});

const issue = (path: string, message: string) => ({ path, message, source: 'semantic' });

describe('duplicateEnvironmentNames', () => {
  it.each<[string, string[], ReturnType<typeof issue>[]]>([
    ['unique names', ['pre', 'prod'], []],
    ['a single environment', ['prod'], []],
    ['a repeated name', ['pre', 'prod', 'pre'], [issue('spec.environments[2].name', 'duplicate environment name "pre" (also spec.environments[0])')]],
    [
      'a name used three times, each repeat pointing at the first',
      ['prod', 'prod', 'prod'],
      [
        issue('spec.environments[1].name', 'duplicate environment name "prod" (also spec.environments[0])'),
        issue('spec.environments[2].name', 'duplicate environment name "prod" (also spec.environments[0])'),
      ],
    ],
    [
      'two different names repeated',
      ['a', 'b', 'b', 'a'],
      [
        issue('spec.environments[2].name', 'duplicate environment name "b" (also spec.environments[1])'),
        issue('spec.environments[3].name', 'duplicate environment name "a" (also spec.environments[0])'),
      ],
    ],
  ])('reports %s', (_name, names, expected) => {
    expect(duplicateEnvironmentNames({ environments: names.map((n) => env(n)) })).toEqual(expected);
  });
});

describe('canaryTargetsOutsideEnvironment', () => {
  it.each<[string, Environment[], ReturnType<typeof issue>[]]>([
    ['canary targets among the named targets', [env('pre', { names: ['a', 'b'], canaryTargets: ['b'] })], []],
    ['an environment without a canary', [env('pre', { names: ['a'] })], []],
    ['a canary in an environment selecting by label', [env('pre', { selector: true, canaryTargets: ['anything'] })], []],
    ['a canary in an environment without targets', [env('pre', { canaryTargets: ['anything'] })], []],
    [
      'a canary target outside the environment',
      [env('pre', { names: ['a', 'b'], canaryTargets: ['a', 'z'] })],
      [issue('spec.environments[0].strategy.canary.targets[1]', 'canary target "z" is not among the environment\'s targets')],
    ],
    [
      'canary targets outside the second environment only',
      [env('pre', { names: ['a'], canaryTargets: ['a'] }), env('prod', { names: ['p1', 'p2'], canaryTargets: ['a', 'p1', 'p3'] })],
      [
        issue('spec.environments[1].strategy.canary.targets[0]', 'canary target "a" is not among the environment\'s targets'),
        issue('spec.environments[1].strategy.canary.targets[2]', 'canary target "p3" is not among the environment\'s targets'),
      ],
    ],
    ['cluster order steps among the named targets', [env('prod', { names: ['eu', 'us'], clusterOrder: [step(0, ['eu']), step(1, ['us'])] })], []],
    [
      'a cluster order target outside the environment',
      [env('prod', { names: ['eu', 'us'], clusterOrder: [step(0, ['eu']), step(1, ['us', 'ap'])] })],
      [issue('spec.environments[0].strategy.canary.clusterOrder[1].targets[1]', 'target "ap" is not among the environment\'s targets')],
    ],
  ])('reports %s', (_name, environments, expected) => {
    expect(canaryTargetsOutsideEnvironment({ environments })).toEqual(expected);
  });
});

describe('pipelineTaskGraphIssues', () => {
  it.each<[string, PipelineSpec]>([
    ['tasks without dependencies', pipelineSpec(stage('one', [task('a'), task('b')]))],
    ['a dependency on an earlier task of the same stage', pipelineSpec(stage('one', [task('a'), task('b', ['a'])]))],
    ['a dependency on a later-listed task of the same stage', pipelineSpec(stage('one', [task('b', ['a']), task('a')]))],
    ['a dependency on a task of an earlier stage', pipelineSpec(stage('one', [task('a')]), stage('two', [task('b', ['a'])]))],
    ['a diamond', pipelineSpec(stage('one', [task('d', ['b', 'c']), task('b', ['a']), task('c', ['a']), task('a')]))],
  ])('accepts %s', (_name, spec) => {
    expect(pipelineTaskGraphIssues(spec)).toEqual([]);
  });

  it.each<[string, PipelineSpec, ReturnType<typeof issue>[]]>([
    [
      'a dependency on an unknown task',
      pipelineSpec(stage('one', [task('a'), task('b', ['a', 'nope'])])),
      [issue('spec.stages[0].tasks[1].dependsOn[1]', 'task "b" depends on unknown task "nope"')],
    ],
    [
      'a dependency on a task of a later stage',
      pipelineSpec(stage('one', [task('a', ['b'])]), stage('two', [task('b')])),
      [issue('spec.stages[0].tasks[0].dependsOn[0]', 'task "a" depends on "b" of a later stage ("two")')],
    ],
    [
      'a 2-cycle',
      pipelineSpec(stage('one', [task('a', ['b']), task('b', ['a'])])),
      [issue('spec.stages[0].tasks', 'dependency cycle: a -> b -> a')],
    ],
    [
      'a 3-cycle in the second stage, named from its first task',
      pipelineSpec(stage('one', [task('x')]), stage('two', [task('c', ['x', 'a']), task('a', ['b']), task('b', ['c'])])),
      [issue('spec.stages[1].tasks', 'dependency cycle: c -> a -> b -> c')],
    ],
    [
      'a task depending on itself',
      pipelineSpec(stage('one', [task('a', ['a'])])),
      [issue('spec.stages[0].tasks', 'dependency cycle: a -> a')],
    ],
    [
      'a task id repeated in a later stage',
      pipelineSpec(stage('one', [task('a')]), stage('two', [task('b'), task('a')])),
      [issue('spec.stages[1].tasks[1].id', 'duplicate task id "a" (also in stage "one")')],
    ],
    [
      'a task id repeated within a stage',
      pipelineSpec(stage('one', [task('a'), task('a')])),
      [issue('spec.stages[0].tasks[1].id', 'duplicate task id "a" (also in stage "one")')],
    ],
    [
      'problems in several stages at once',
      pipelineSpec(stage('one', [task('a', ['ghost'])]), stage('two', [task('b', ['c']), task('c', ['b'])])),
      [
        issue('spec.stages[0].tasks[0].dependsOn[0]', 'task "a" depends on unknown task "ghost"'),
        issue('spec.stages[1].tasks', 'dependency cycle: b -> c -> b'),
      ],
    ],
  ])('reports %s', (_name, spec, expected) => {
    expect(pipelineTaskGraphIssues(spec)).toEqual(expected);
  });
});

describe('releaseAppIssues', () => {
  it.each<[string, ReleaseAppSpec, ReturnType<typeof issue>[]]>([
    ['distinct dependencies', app('web', ['api', 'db']), []],
    ['no dependencies', { ...app('web', []), dependsOn: undefined }, []],
    ['a repeated dependency', app('web', ['api', 'db', 'api']), [issue('spec.dependsOn[2].app', 'duplicate dependency on "api"')]],
  ])('reports %s', (_name, spec, expected) => {
    expect(releaseAppIssues(spec)).toEqual(expected);
  });
});

// Objects as ManifestValidator returns them: whole manifests, defaults applied.
const releaseObject = (name: string, namespace = 'shop') => ({ kind: 'Release', metadata: { name, namespace }, spec: { project: 'shop' } });
const appObject = (spec: ReleaseAppSpec, namespace: string | undefined = 'shop') => ({
  kind: 'ReleaseApp',
  metadata: { name: `${spec.release}-${spec.app}`, ...(namespace === undefined ? {} : { namespace }) },
  spec,
});
const inRelease = (release: string, spec: ReleaseAppSpec): ReleaseAppSpec => ({ ...spec, release });
const optional = (spec: ReleaseAppSpec): ReleaseAppSpec => ({ ...spec, dependsOn: spec.dependsOn?.map((d) => ({ ...d, required: false })) });
const at = (object: number, path: string, message: string) => ({ object, issue: issue(path, message) });

describe('releaseAppGraphIssues', () => {
  it.each<[string, Record<string, unknown>[], ReturnType<typeof at>[]]>([
    ['a valid release', [releaseObject('shop-1'), appObject(app('web', ['api'])), appObject(app('api', []))], []],
    ['no ReleaseApps', [releaseObject('shop-1')], []],
    [
      'a cycle of two, on the first app of it',
      [appObject(app('db', [])), appObject(app('web', ['db', 'api'])), appObject(app('api', ['web']))],
      [at(1, 'spec.dependsOn[1]', 'ReleaseApp dependency cycle: web -> api -> web')],
    ],
    [
      'a cycle of three among objects without a namespace',
      [appObject(app('web', ['api']), undefined), appObject(app('api', ['db']), undefined), appObject(app('db', ['web']), undefined)],
      [at(0, 'spec.dependsOn[0]', 'ReleaseApp dependency cycle: web -> api -> db -> web')],
    ],
    [
      'a missing required dependency when the Release is among the objects',
      [appObject(app('web', ['db', 'api'])), appObject(app('db', [])), releaseObject('shop-1')],
      [at(0, 'spec.dependsOn[1]', 'app web requires api, which is not part of release shop-1')],
    ],
    ['a missing required dependency without the Release (its apps may be in other files)', [appObject(app('web', ['api']))], []],
    ['a missing optional dependency', [releaseObject('shop-1'), appObject(optional(app('web', ['api'])))], []],
    ['apps of another release, which are not part of this one', [releaseObject('shop-1'), appObject(app('web', ['api'])), appObject(inRelease('shop-2', app('api', [])))], [
      at(1, 'spec.dependsOn[0]', 'app web requires api, which is not part of release shop-1'),
    ]],
    ['apps of the same release name in another namespace', [releaseObject('shop-1'), appObject(app('web', ['api'])), appObject(app('api', []), 'other')], [
      at(1, 'spec.dependsOn[0]', 'app web requires api, which is not part of release shop-1'),
    ]],
    ['apps of two releases depending on each other, which is no cycle', [appObject(app('web', ['api'])), appObject(inRelease('shop-2', app('api', ['web'])))], []],
    ['other kinds, ignored', [{ kind: 'Pipeline', metadata: { name: 'shop-1' }, spec: { stages: [] } }, { kind: 'Target', metadata: { name: 't' }, spec: {} }], []],
  ])('reports %s', (_name, objects, expected) => {
    expect(releaseAppGraphIssues(objects)).toEqual(expected);
    expect(crossObjectIssues(objects)).toEqual(expected);
  });
});

describe('semanticIssues', () => {
  it('runs the Release checks for a Release', () => {
    const spec = { environments: [env('pre', { names: ['a'], canaryTargets: ['b'] }), env('pre')] };
    expect(semanticIssues('Release', spec).map((i) => i.path)).toEqual(['spec.environments[1].name', 'spec.environments[0].strategy.canary.targets[0]']);
  });

  it('runs the Pipeline checks for a Pipeline', () => {
    expect(semanticIssues('Pipeline', pipelineSpec(stage('one', [task('a', ['b'])])))).toEqual([issue('spec.stages[0].tasks[0].dependsOn[0]', 'task "a" depends on unknown task "b"')]);
  });

  it('runs the ReleaseApp checks for a ReleaseApp', () => {
    expect(semanticIssues('ReleaseApp', app('web', ['api', 'api']))).toHaveLength(1);
  });

  it('has nothing to check for a Target', () => {
    expect(semanticIssues('Target', { type: 'kubernetes', environment: 'pre' })).toEqual([]);
  });
});
