import { describe, expect, it } from 'vitest';
import type { TargetRunPhase } from '../../operator/src/api/release.ts';
import {
  appGraphIssues,
  appGraphProblems,
  appStates,
  dependencyGate,
  deployLayers,
  targetGate,
  type AppDependencyNode,
  type AppState,
  type DependencyGate,
} from '../../operator/src/planning/app-dependencies.ts';

type Dep = AppDependencyNode['dependsOn'][number];

/** A dependency with the schema's defaults unless overridden. */
const dep = (app: string, overrides: Partial<Omit<Dep, 'app'>> = {}): Dep => ({ app, required: true, waitReady: true, timeoutSeconds: 300, ...overrides });

/** `{ web: ['api'] }` → web requires api (defaults); entries keep their order. */
const nodes = (edges: Record<string, (string | Dep)[]>): AppDependencyNode[] =>
  Object.entries(edges).map(([app, deps]) => ({ app, dependsOn: deps.map((d) => (typeof d === 'string' ? dep(d) : d)) }));

const states = (map: Record<string, AppState>) => (app: string): AppState => map[app] ?? 'absent';

const T0 = new Date('2025-03-01T10:00:00Z');
const after = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

describe('deployLayers', () => {
  it.each<[string, Record<string, string[]>, string[][]]>([
    ['no apps', {}, []],
    ['independent apps, in input order', { web: [], api: [], db: [] }, [['web', 'api', 'db']]],
    ['a chain, dependencies first', { web: ['api'], api: ['db'], db: [] }, [['db'], ['api'], ['web']]],
    ['a diamond', { web: ['api', 'auth'], api: ['db'], auth: ['db'], db: [] }, [['db'], ['api', 'auth'], ['web']]],
    ['an app one layer after its deepest dependency', { web: ['db', 'api'], api: ['db'], db: [] }, [['db'], ['api'], ['web']]],
    ['independent chains sharing layers', { web: ['api'], shop: ['cart'], api: [], cart: [] }, [['api', 'cart'], ['web', 'shop']]],
    ['dependencies outside the release ignored', { web: ['api', 'ghost'], api: ['phantom'] }, [['api'], ['web']]],
    ['a self-dependency ignored', { web: ['web', 'api'], api: [] }, [['api'], ['web']]],
  ])('orders %s', (_name, edges, layers) => {
    expect(deployLayers(nodes(edges))).toEqual(layers);
  });

  it('keeps the same order on every call and for any order of dependencies', () => {
    const apps = nodes({ web: ['cache', 'api'], worker: ['api'], api: ['db'], cache: [], db: [] });
    const swapped = nodes({ web: ['api', 'cache'], worker: ['api'], api: ['db'], cache: [], db: [] });
    expect(deployLayers(apps)).toEqual([['cache', 'db'], ['api'], ['web', 'worker']]);
    expect(deployLayers(apps)).toEqual(deployLayers(swapped));
  });

  it('merges the dependencies of an app listed twice', () => {
    const apps = [...nodes({ web: ['api'], api: [], db: [] }), { app: 'web', dependsOn: [dep('db')] }];
    expect(deployLayers(apps)).toEqual([['api', 'db'], ['web']]);
  });

  it('refuses a cycle, naming it', () => {
    expect(() => deployLayers(nodes({ web: ['api'], api: ['web'] }))).toThrow('ReleaseApp dependency cycle: web -> api -> web');
  });
});

describe('appGraphProblems', () => {
  it.each<[string, Record<string, (string | Dep)[]>, string[]]>([
    ['a valid graph', { web: ['api'], api: ['db'], db: [] }, []],
    ['an optional dependency outside the release', { web: [dep('cache', { required: false })] }, []],
    ['a cycle of two', { web: ['api'], api: ['web'] }, ['ReleaseApp dependency cycle: web -> api -> web']],
    ['a cycle of three', { web: ['api'], api: ['db'], db: ['web'] }, ['ReleaseApp dependency cycle: web -> api -> db -> web']],
    ['a cycle behind an app outside it', { web: ['api'], api: ['db'], db: ['api'] }, ['ReleaseApp dependency cycle: api -> db -> api']],
    ['a cycle through optional dependencies', { web: [dep('api', { required: false })], api: [dep('web', { waitReady: false })] }, ['ReleaseApp dependency cycle: web -> api -> web']],
    ['a self-dependency', { web: ['web'] }, ['app web depends on itself']],
    ['a required dependency outside the release', { web: ['api'] }, ['app web requires api, which is not part of release shop-1.4']],
    [
      'every problem: self-dependencies and missing dependencies in input order, then the cycle',
      { web: ['api', 'ghost'], api: ['api', 'web'], db: ['phantom'] },
      [
        'app web requires ghost, which is not part of release shop-1.4',
        'app api depends on itself',
        'app db requires phantom, which is not part of release shop-1.4',
        'ReleaseApp dependency cycle: web -> api -> web',
      ],
    ],
  ])('reports %s', (_name, edges, problems) => {
    expect(appGraphProblems(nodes(edges), 'shop-1.4')).toEqual(problems);
  });

  it('says which dependency of which app each problem is about', () => {
    expect(appGraphIssues(nodes({ web: ['api', 'ghost'], api: ['db', 'web'], db: ['db'] }), 'shop-1.4')).toEqual([
      { kind: 'missing', app: 'web', dependency: 'ghost', message: 'app web requires ghost, which is not part of release shop-1.4' },
      { kind: 'self', app: 'db', dependency: 'db', message: 'app db depends on itself' },
      { kind: 'cycle', app: 'web', dependency: 'api', message: 'ReleaseApp dependency cycle: web -> api -> web' },
    ]);
  });
});

describe('appStates', () => {
  it.each<[string, (TargetRunPhase | undefined)[], AppState]>([
    ['no hosting target', [], 'absent'],
    ['targets not started', ['Pending', 'Pending'], 'pending'],
    ['targets without a phase yet', [undefined, undefined], 'pending'],
    ['one target running', ['Succeeded', 'Running', 'Pending'], 'deploying'],
    ['one target verifying', ['Verifying', 'Pending'], 'deploying'],
    ['a rollout between batches', ['Succeeded', 'Pending'], 'deploying'],
    ['skipped and pending targets', ['Skipped', 'Pending'], 'pending'],
    ['every target succeeded', ['Succeeded', 'Succeeded'], 'ready'],
    ['succeeded and skipped targets', ['Succeeded', 'Skipped'], 'ready'],
    ['every target skipped', ['Skipped'], 'ready'],
    ['a failed target among running ones', ['Running', 'Failed'], 'failed'],
    ['a rolled back target', ['Succeeded', 'RolledBack'], 'failed'],
    ['a target rolling back', ['RollingBack', 'Succeeded'], 'failed'],
    ['a cancelled target', ['Cancelled', 'Pending'], 'failed'],
  ])('%s → %s', (_name, phases, state) => {
    const targets = phases.map((_, i) => `t${i}`);
    const phase = (target: string) => phases[Number(target.slice(1))];
    expect(appStates(new Map([['api', targets]]), phase).get('api')).toBe(state);
  });

  it('reads the targets an app shares with others', () => {
    const phases: Record<string, TargetRunPhase> = { 'host-1': 'Succeeded', 'host-2': 'Running' };
    const hosting = new Map([
      ['api', ['host-1']],
      ['web', ['host-1', 'host-2']],
      ['cron', []],
    ]);
    expect(appStates(hosting, (t) => phases[t])).toEqual(
      new Map<string, AppState>([
        ['api', 'ready'],
        ['web', 'deploying'],
        ['cron', 'absent'],
      ]),
    );
  });
});

describe('dependencyGate', () => {
  const web = (...deps: Dep[]): AppDependencyNode => ({ app: 'web', dependsOn: deps });

  it.each<[string, Dep[], Record<string, AppState>, DependencyGate]>([
    ['no dependencies', [], {}, { kind: 'go' }],
    ['a ready dependency', [dep('api')], { api: 'ready' }, { kind: 'go' }],
    ['a required dependency no target hosts', [dep('api')], {}, { kind: 'fail', reason: 'dependency api is not hosted by any target' }],
    ['an optional dependency no target hosts', [dep('api', { required: false })], {}, { kind: 'go' }],
    ['a failed required dependency', [dep('api')], { api: 'failed' }, { kind: 'fail', reason: 'dependency api failed' }],
    [
      'a failed optional dependency',
      [dep('api', { required: false })],
      { api: 'failed' },
      { kind: 'go', note: 'optional dependency api failed; deploying without it' },
    ],
    ['a deploying dependency to wait for', [dep('api')], { api: 'deploying' }, { kind: 'wait', reason: 'waiting for api (deploying) to be ready', requeueAfterMs: 300_000 }],
    ['a pending dependency to wait for', [dep('api')], { api: 'pending' }, { kind: 'wait', reason: 'waiting for api (pending) to be ready', requeueAfterMs: 300_000 }],
    ['an order-only dependency that is deploying', [dep('api', { waitReady: false })], { api: 'deploying' }, { kind: 'go' }],
    ['an order-only dependency that is ready', [dep('api', { waitReady: false })], { api: 'ready' }, { kind: 'go' }],
    [
      'an order-only dependency not started',
      [dep('api', { waitReady: false })],
      { api: 'pending' },
      { kind: 'wait', reason: 'waiting for api (pending) to start', requeueAfterMs: 300_000 },
    ],
    [
      'an optional dependency still to wait for',
      [dep('api', { required: false })],
      { api: 'deploying' },
      { kind: 'wait', reason: 'waiting for api (deploying) to be ready', requeueAfterMs: 300_000 },
    ],
    [
      'several unmet dependencies, named in order with their states',
      [dep('api'), dep('cache'), dep('db', { timeoutSeconds: 60 }), dep('queue', { waitReady: false })],
      { api: 'deploying', cache: 'ready', db: 'pending', queue: 'pending' },
      { kind: 'wait', reason: 'waiting for api (deploying), db (pending) to be ready and for queue (pending) to start', requeueAfterMs: 60_000 },
    ],
    [
      'a failure, which wins over waiting',
      [dep('api'), dep('db'), dep('auth')],
      { api: 'deploying', db: 'failed' },
      { kind: 'fail', reason: 'dependency db failed; dependency auth is not hosted by any target' },
    ],
    ['a dependency on itself, ignored', [dep('web')], { web: 'pending' }, { kind: 'go' }],
  ])('%s', (_name, deps, current, gate) => {
    expect(dependencyGate(web(...deps), states(current), undefined, T0)).toEqual(gate);
  });

  it.each<[string, Dep[], Record<string, AppState>, number, DependencyGate]>([
    ['a required dependency before its timeout', [dep('api')], { api: 'deploying' }, 120, { kind: 'wait', reason: 'waiting for api (deploying) to be ready', requeueAfterMs: 180_000 }],
    ['a required dependency 1 ms before its timeout', [dep('api')], { api: 'deploying' }, 299.999, { kind: 'wait', reason: 'waiting for api (deploying) to be ready', requeueAfterMs: 1 }],
    ['a required dependency at its timeout', [dep('api')], { api: 'deploying' }, 300, { kind: 'fail', reason: 'dependency api is not ready after 300s' }],
    ['a required dependency past its timeout', [dep('api')], { api: 'pending' }, 301, { kind: 'fail', reason: 'dependency api is not ready after 300s' }],
    [
      'a required order-only dependency past its timeout',
      [dep('api', { waitReady: false, timeoutSeconds: 30 })],
      { api: 'pending' },
      30,
      { kind: 'fail', reason: 'dependency api has not started after 30s' },
    ],
    [
      'an optional dependency past its timeout',
      [dep('cache', { required: false, timeoutSeconds: 60 })],
      { cache: 'deploying' },
      61,
      { kind: 'go', note: 'optional dependency cache is not ready after 60s; deploying without it' },
    ],
    [
      'a timed-out optional dependency next to one still in time',
      [dep('cache', { required: false, timeoutSeconds: 60 }), dep('api', { timeoutSeconds: 600 })],
      { cache: 'pending', api: 'deploying' },
      90,
      { kind: 'wait', reason: 'waiting for api (deploying) to be ready', requeueAfterMs: 510_000 },
    ],
    [
      'the nearest of several timeouts',
      [dep('api', { timeoutSeconds: 600 }), dep('db', { timeoutSeconds: 120 }), dep('auth', { timeoutSeconds: 900 })],
      { api: 'deploying', db: 'pending', auth: 'pending' },
      100,
      { kind: 'wait', reason: 'waiting for api (deploying), db (pending), auth (pending) to be ready', requeueAfterMs: 20_000 },
    ],
    ['a ready dependency, however long the wait', [dep('api', { timeoutSeconds: 10 })], { api: 'ready' }, 3600, { kind: 'go' }],
  ])('%s', (_name, deps, current, waitedSeconds, gate) => {
    expect(dependencyGate(web(...deps), states(current), T0, after(waitedSeconds))).toEqual(gate);
  });

  it('counts a waitingSince in the future as no wait yet', () => {
    expect(dependencyGate(web(dep('api')), states({ api: 'pending' }), after(60), T0)).toEqual({
      kind: 'wait',
      reason: 'waiting for api (pending) to be ready',
      requeueAfterMs: 300_000,
    });
  });

  it('gives the same reason on every pass while nothing changes', () => {
    const node = web(dep('api'), dep('db', { timeoutSeconds: 600 }));
    const current = states({ api: 'deploying', db: 'pending' });
    const reasons = [0, 1, 59, 120, 299].map((s) => dependencyGate(node, current, T0, after(s)));
    expect(new Set(reasons.map((g) => (g.kind === 'wait' ? g.reason : g.kind)))).toEqual(new Set(['waiting for api (deploying), db (pending) to be ready']));
    expect(reasons.map((g) => (g.kind === 'wait' ? g.requeueAfterMs : undefined))).toEqual([300_000, 299_000, 241_000, 180_000, 1_000]);
  });
});

describe('targetGate', () => {
  const apps = nodes({
    web: ['api', dep('cache', { required: false })],
    api: ['db'],
    db: [],
    worker: [dep('db', { timeoutSeconds: 60 })],
  });

  it.each<[string, string[], Record<string, AppState>, DependencyGate]>([
    ['one app, waiting', ['web'], { api: 'deploying', cache: 'ready' }, { kind: 'wait', reason: 'waiting for api (deploying) to be ready', requeueAfterMs: 300_000 }],
    ['one app without dependencies', ['db'], {}, { kind: 'go' }],
    ['an app no node describes', ['docs'], {}, { kind: 'go' }],
    ['apps depending on each other on the same target', ['web', 'api', 'db'], { cache: 'pending' }, { kind: 'wait', reason: 'web: waiting for cache (pending) to be ready', requeueAfterMs: 300_000 }],
    ['a dependency on the same target and one elsewhere', ['api', 'worker'], { db: 'deploying' }, {
      kind: 'wait',
      reason: 'api: waiting for db (deploying) to be ready; worker: waiting for db (deploying) to be ready',
      requeueAfterMs: 60_000,
    }],
    ['the same app listed twice', ['web', 'web'], { api: 'ready', cache: 'ready' }, { kind: 'go' }],
    ['a failure of one app, which wins over the wait of another', ['web', 'worker'], { api: 'failed', db: 'pending' }, { kind: 'fail', reason: 'web: dependency api failed' }],
    ['notes of each app', ['web', 'db'], { api: 'ready', cache: 'failed' }, { kind: 'go', note: 'web: optional dependency cache failed; deploying without it' }],
  ])('%s', (_name, targetApps, current, gate) => {
    expect(targetGate(targetApps, apps, states(current), undefined, T0)).toEqual(gate);
  });

  it('fails a target once a required dependency times out', () => {
    expect(targetGate(['worker'], apps, states({ db: 'deploying' }), T0, after(60))).toEqual({ kind: 'fail', reason: 'dependency db is not ready after 60s' });
  });
});
