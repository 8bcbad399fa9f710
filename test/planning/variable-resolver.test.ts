import { describe, expect, it } from 'vitest';
import type { TargetSpec } from '../../operator/src/api/target.ts';
import type { Variable } from '../../operator/src/api/variables.ts';
import {
  builtInVariables,
  plainVariables,
  refKey,
  resolveVariables,
  SYSTEM_VARIABLES,
  valueRefs,
  type BuiltInContext,
  type FetchedValue,
  type ValueRef,
  type VariableLayer,
  type VariableLayerInput,
} from '../../operator/src/planning/variable-resolver.ts';

const plain = (name: string, value: string): Variable => ({ name, type: 'plain', value });
const template = (name: string, value: string): Variable => ({ name, type: 'template', value });
const perEnv = (name: string, values: Record<string, string>): Variable => ({ name, type: 'env_specific', values });
const secret = (name: string, secretName: string, key: string): Variable => ({ name, type: 'secret', secretKeyRef: { name: secretName, key } });
const external = (name: string, ext: NonNullable<Variable['external']>): Variable => ({ name, type: 'external', external: ext });
const layer = (l: VariableLayer, ...variables: Variable[]): VariableLayerInput => ({ layer: l, variables });
const fetched = (entries: [ValueRef, FetchedValue][] = []) => new Map(entries.map(([ref, v]) => [refKey(ref), v]));
const resolve = (layers: VariableLayerInput[], environment = 'prod', f = fetched()) => resolveVariables({ layers, environment, fetched: f });

describe('resolveVariables precedence', () => {
  const all: VariableLayer[] = ['system', 'project', 'environment', 'release', 'runtime'];

  it.each(all.map((winner, i) => [winner, all.slice(0, i + 1)] as const))('the %s layer wins over every lower layer', (winner, defining) => {
    // Given in reverse order, so the answer cannot come from the order of the input.
    const layers = [...defining].reverse().map((l) => layer(l, plain('X', `from ${l}`)));
    const result = resolve(layers);
    expect(result.values.X).toBe(`from ${winner}`);
    expect(result.origins.X).toBe(winner);
    expect(result.problems).toEqual([]);
  });

  it.each<[string, VariableLayerInput[], Record<string, string>]>([
    ['an entry for the environment overrides', [layer('project', plain('API', 'p')), layer('release', perEnv('API', { prod: 'https://api', pre: 'http://pre' }))], { API: 'https://api' }],
    ['no entry for the environment leaves the lower value', [layer('project', plain('API', 'p')), layer('release', perEnv('API', { pre: 'http://pre' }))], { API: 'p' }],
    ['no entry and no lower layer defines nothing', [layer('release', perEnv('API', { pre: 'http://pre' }))], {}],
    ['an empty value is still a value', [layer('project', plain('API', 'p')), layer('release', perEnv('API', { prod: '' }))], { API: '' }],
  ])('env_specific: %s', (_name, layers, expected) => {
    const result = resolve(layers);
    expect(result.values).toEqual(expected);
    expect(result.problems).toEqual([]);
  });

  it('turns a plain map into plain variables', () => {
    expect(plainVariables({ A: '1', B: '${A}' })).toEqual([plain('A', '1'), plain('B', '${A}')]);
  });
});

describe('resolveVariables templates', () => {
  it.each<[string, Variable[], Record<string, string>]>([
    ['a reference', [plain('A', 'x'), template('T', '${A}/y')], { T: 'x/y' }],
    ['nested templates', [plain('A', 'a'), template('B', '${A}-b'), template('C', '[${B}|${A}]')], { B: 'a-b', C: '[a-b|a]' }],
    ['an escaped reference stays literal', [plain('A', 'x'), template('T', 'cost $${A} is ${A}')], { T: 'cost ${A} is x' }],
    ['text that is not a reference stays', [template('T', 'a $ b ${ c ${1X} $$')], { T: 'a $ b ${ c ${1X} $$' }],
    ['a plain value is never expanded', [plain('A', 'x'), plain('P', '${A} and $${A}')], { P: '${A} and $${A}' }],
    ['a template value is not expanded twice', [plain('A', '${B}'), plain('B', 'no'), template('T', '${A}')], { T: '${B}' }],
  ])('expands %s', (_name, variables, expected) => {
    const result = resolve([layer('release', ...variables)]);
    expect(result.values).toMatchObject(expected);
    expect(result.problems).toEqual([]);
  });

  it('keeps names that are Object properties as ordinary variables', () => {
    const result = resolve([layer('release', plain('__proto__', 'p'), template('constructor', '${__proto__}${toString}'), plain('toString', 's'))]);
    expect(Object.entries(result.values)).toEqual([['__proto__', 'p'], ['constructor', 'ps'], ['toString', 's']]);
    expect(result.problems).toEqual([]);
  });

  it('resolves against the final values of every layer, system and runtime included', () => {
    const result = resolve([
      layer('system', plain('RELEASE_TIMESTAMP', '1700000000'), plain('APP_NAME', 'from system')),
      layer('project', template('BACKUP_PATH', '${BACKUP_DIR}/${APP_NAME}/${RELEASE_TIMESTAMP}')),
      layer('runtime', plain('BACKUP_DIR', '/srv/backups'), plain('APP_NAME', 'web')),
    ]);
    expect(result.values.BACKUP_PATH).toBe('/srv/backups/web/1700000000');
    expect(result.origins.BACKUP_PATH).toBe('project');
  });

  it('reports a reference to an unknown variable and leaves the variable out', () => {
    const result = resolve([layer('system', plain('APP_DIR', '/srv')), layer('release', template('BACKUP_PATH', '${APP_DIRR}/backup'), plain('OK', 'y'))]);
    expect(result.problems).toEqual(['variable BACKUP_PATH (release): template refers to unknown variable APP_DIRR']);
    expect(result.values).toEqual({ APP_DIR: '/srv', OK: 'y' });
  });

  it.each<[string, Variable[], string]>([
    ['of one', [template('A', 'x${A}')], 'template cycle: A -> A'],
    ['of two', [template('A', '${B}'), template('B', '${A}')], 'template cycle: A -> B -> A'],
    ['of three', [template('A', '${B}'), template('B', '${C}'), template('C', '${A}')], 'template cycle: A -> B -> C -> A'],
  ])('names a cycle %s and leaves its members out', (_name, variables, problem) => {
    const result = resolve([layer('release', plain('KEEP', 'k'), ...variables)]);
    expect(result.problems).toEqual([problem]);
    expect(result.values).toEqual({ KEEP: 'k' });
  });

  it('names every cycle and leaves out a template that depends on one', () => {
    const result = resolve([layer('release', template('A', '${B}'), template('B', '${A}'), template('C', '${C}'), template('D', 'd ${A}'), plain('E', 'e'))]);
    expect(result.problems).toEqual(['template cycle: A -> B -> A', 'template cycle: C -> C', 'variable D (release): template refers to variable A, which could not be resolved']);
    expect(result.values).toEqual({ E: 'e' });
  });
});

describe('resolveVariables secrets', () => {
  const dbPassword = { kind: 'secret', name: 'db', key: 'password' } as const;
  const layers = [
    layer('project', plain('DB_HOST', 'db.internal')),
    layer('release', secret('DB_PASSWORD', 'db', 'password'), template('DSN', 'postgres://app:${DB_PASSWORD}@${DB_HOST}/shop'), template('DSN_NOTE', 'using ${DSN}'), template('HOST_NOTE', 'host ${DB_HOST}')),
  ];

  it('marks a secret, and every template that reaches it, as secret', () => {
    const result = resolve(layers, 'prod', fetched([[dbPassword, { value: 'hunter2-pass' }]]));
    expect(result.problems).toEqual([]);
    expect(result.values).toMatchObject({ DB_PASSWORD: 'hunter2-pass', DSN: 'postgres://app:hunter2-pass@db.internal/shop', DSN_NOTE: 'using postgres://app:hunter2-pass@db.internal/shop' });
    expect([...result.secretNames].sort()).toEqual(['DB_PASSWORD', 'DSN', 'DSN_NOTE']);
    expect(result.secretValues.sort()).toEqual(['hunter2-pass', 'postgres://app:hunter2-pass@db.internal/shop', 'using postgres://app:hunter2-pass@db.internal/shop']);
  });

  it.each<[string, Variable, ValueRef, boolean]>([
    ['an external from a Secret', external('X', { source: 'secret', secretName: 'api', key: 'token' }), { kind: 'secret', name: 'api', key: 'token' }, true],
    ['an external from vault', external('X', { source: 'vault', key: 'secret/shop/x' }), { kind: 'vault', path: 'secret/shop/x' }, true],
    ['an external from the environment', external('X', { source: 'env', key: 'SHOP_X' }), { kind: 'env', key: 'SHOP_X' }, false],
    ['an external from a file', external('X', { source: 'file', key: '/etc/shop/x' }), { kind: 'file', path: '/etc/shop/x' }, false],
  ])('takes the fetched value of %s (secret: %s)', (_name, variable, ref, isSecret) => {
    const result = resolve([layer('release', variable)], 'prod', fetched([[ref, { value: 'fetched-value' }]]));
    expect(result.values).toEqual({ X: 'fetched-value' });
    expect(result.secretNames.has('X')).toBe(isSecret);
    expect(result.secretValues).toEqual(isSecret ? ['fetched-value'] : []);
  });

  it('reports a failed fetch with the variable, its layer and the reference, and what depends on it', () => {
    const result = resolve(layers, 'prod', fetched([[dbPassword, { error: 'not found' }]]));
    expect(result.problems).toEqual([
      'variable DB_PASSWORD (release): Secret db/password: not found',
      'variable DSN (release): template refers to variable DB_PASSWORD, which could not be resolved',
      'variable DSN_NOTE (release): template refers to variable DSN, which could not be resolved',
    ]);
    expect(result.values).toEqual({ DB_HOST: 'db.internal', HOST_NOTE: 'host db.internal' });
  });

  it('reports a reference that was not fetched', () => {
    expect(resolve([layer('environment', external('X', { source: 'env', key: 'SHOP_X' }))]).problems).toEqual(['variable X (environment): environment variable SHOP_X: not fetched']);
  });

  it('never puts a secret value in a problem, even when a fetch error carries one', () => {
    const result = resolve(
      [layer('release', secret('TOKEN', 'api', 'token'), secret('OTHER', 'api', 'other'), template('T', '${TOKEN} ${NOPE}'), template('C1', '${TOKEN}${C2}'), template('C2', '${C1}'))],
      'prod',
      fetched([
        [{ kind: 'secret', name: 'api', key: 'token' }, { value: 's3cr3t-token' }],
        [{ kind: 'secret', name: 'api', key: 'other' }, { error: 'server said s3cr3t-token is wrong' }],
      ]),
    );
    expect(result.problems.length).toBeGreaterThanOrEqual(3);
    for (const problem of result.problems) expect(problem).not.toContain('s3cr3t-token');
    expect(result.problems[0]).toBe('variable OTHER (release): Secret api/other: server said ****** is wrong');
  });
});

describe('valueRefs', () => {
  it.each<[string, VariableLayerInput[], ValueRef[]]>([
    ['a winning secret', [layer('release', secret('P', 'db', 'password'))], [{ kind: 'secret', name: 'db', key: 'password' }]],
    ['not an overridden secret', [layer('project', secret('P', 'db', 'password')), layer('release', plain('P', 'inline'))], []],
    ['the override, not the secret it overrides', [layer('project', secret('P', 'db', 'password')), layer('release', secret('P', 'db', 'password-2'))], [{ kind: 'secret', name: 'db', key: 'password-2' }]],
    ['not a secret that an env_specific of this environment overrides', [layer('project', secret('P', 'db', 'p')), layer('release', perEnv('P', { prod: 'x' }))], []],
    ['a secret under an env_specific without this environment', [layer('project', secret('P', 'db', 'p')), layer('release', perEnv('P', { pre: 'x' }))], [{ kind: 'secret', name: 'db', key: 'p' }]],
    ['one ref for a key two variables use', [layer('release', secret('A', 'db', 'p'), external('B', { source: 'secret', secretName: 'db', key: 'p' }))], [{ kind: 'secret', name: 'db', key: 'p' }]],
    [
      'each external source',
      [layer('environment', external('E', { source: 'env', key: 'HOME' }), external('F', { source: 'file', key: '/etc/x' }), external('V', { source: 'vault', key: 'kv/x' }))],
      [{ kind: 'env', key: 'HOME' }, { kind: 'file', path: '/etc/x' }, { kind: 'vault', path: 'kv/x' }],
    ],
    ['nothing for plain values and templates', [layer('release', plain('A', 'a'), template('B', '${A}'))], []],
  ])('asks for %s', (_name, layers, expected) => {
    expect(valueRefs(layers, 'prod')).toEqual(expected);
  });

  it('gives every reference its own key', () => {
    const refs: ValueRef[] = [
      { kind: 'secret', name: 'a', key: 'b' }, { kind: 'secret', name: 'a', key: 'c' }, { kind: 'secret', name: 'b', key: 'b' },
      { kind: 'env', key: 'a' }, { kind: 'file', path: 'a' }, { kind: 'vault', path: 'a' },
    ];
    expect(new Set(refs.map(refKey)).size).toBe(refs.length);
    expect(refKey({ kind: 'secret', name: 'a', key: 'b' })).toBe(refKey({ kind: 'secret', name: 'a', key: 'b' }));
  });
});

describe('builtInVariables', () => {
  const k8sTarget: TargetSpec = { type: 'kubernetes', environment: 'prod', priority: 0, kubernetes: { namespace: 'shop', kind: 'Deployment', name: 'web', container: 'app' } };
  const context: BuiltInContext = {
    release: { uid: 'uid-1', namespace: 'releases', name: 'shop-1-2-3', project: 'shop', version: '1.2.3', user: 'alice', time: new Date('2024-05-01T10:20:30.456Z') },
    environment: 'prod',
    target: { name: 'web-prod', labels: { region: 'eu', tier: 'web' }, spec: k8sTarget },
    app: { name: 'web', version: '1.2.3', image: 'registry.local:5000/shop/web:1.2.3' },
  };

  it('sets every name the release controller sets, with the same values', () => {
    const { system, runtime } = builtInVariables(context);
    expect({ ...system, ...runtime }).toMatchObject({
      RELEASE_ID: 'uid-1', RELEASE_NAME: 'shop-1-2-3', RELEASE_VERSION: '1.2.3', RELEASE_ENV: 'prod', RELEASE_USER: 'alice',
      RELEASE_TIME: '2024-05-01T10:20:30Z', RELEASE_TIMESTAMP: '1714558830',
      APP_NAME: 'web', APP_VERSION: '1.2.3', APP_ENV: 'prod',
      TARGET_ID: 'releases/web-prod', TARGET_NAME: 'web-prod', TARGET_LABELS: 'region=eu,tier=web',
      K8S_NAMESPACE: 'shop', K8S_KIND: 'Deployment', K8S_NAME: 'web', K8S_CONTAINER: 'app',
      IMAGE: 'registry.local:5000/shop/web:1.2.3',
    });
    expect(system).toMatchObject({ RELEASE_ID: 'uid-1', PROJECT_NAME: 'shop', APP_ENV: 'prod' });
    expect(runtime).toMatchObject({ TARGET_NAME: 'web-prod', APP_NAME: 'web', K8S_DEPLOYMENT: 'web', CONTAINER_NAME: 'app' });
  });

  it.each<[string, Record<string, string | undefined>]>([
    ['registry.local:5000/shop/web:1.2.3', { IMAGE_REGISTRY: 'registry.local:5000', IMAGE_NAME: 'shop/web', IMAGE_TAG: '1.2.3', IMAGE_FULL: 'registry.local:5000/shop/web:1.2.3' }],
    ['localhost/web:2', { IMAGE_REGISTRY: 'localhost', IMAGE_NAME: 'web', IMAGE_TAG: '2', IMAGE_FULL: 'localhost/web:2' }],
    ['shop/web:1.0', { IMAGE_REGISTRY: undefined, IMAGE_NAME: 'shop/web', IMAGE_TAG: '1.0', IMAGE_FULL: 'shop/web:1.0' }],
    ['nginx', { IMAGE_REGISTRY: undefined, IMAGE_NAME: 'nginx', IMAGE_TAG: undefined, IMAGE_FULL: 'nginx' }],
    ['registry.local:5000/web@sha256:abc', { IMAGE_REGISTRY: 'registry.local:5000', IMAGE_NAME: 'web', IMAGE_TAG: undefined, IMAGE_FULL: 'registry.local:5000/web@sha256:abc' }],
  ])('splits the image %s', (image, expected) => {
    const { runtime } = builtInVariables({ ...context, app: { name: 'web', version: '1', image } });
    const actual = Object.fromEntries(Object.keys(expected).map((k) => [k, runtime[k]]));
    expect(actual).toEqual(expected);
    for (const [k, v] of Object.entries(expected)) expect(Object.hasOwn(runtime, k)).toBe(v !== undefined);
  });

  it('derives the host values of an agent target', () => {
    const { runtime } = builtInVariables({
      ...context,
      target: { name: 'h1', labels: {}, spec: { type: 'script', environment: 'prod', priority: 0, host: '10.0.0.7', agent: 'agent-7', script: { workDir: '/srv/apps/' } } },
      app: { name: 'web', version: '1.2.3', artifactUrl: 'https://dl.local/web-${APP_VERSION}.tgz', currentVersion: '1.2.2', rollbackVersion: '1.2.2', keepData: false, git: { repo: 'https://git.local/web.git', commit: '0123456789abcdef0123456789abcdef01234567' } },
    });
    expect(runtime).toMatchObject({
      TARGET_HOST: '10.0.0.7', TARGET_IP: '10.0.0.7', TARGET_CLIENT_ID: 'agent-7', TARGET_LABELS: '',
      ARTIFACT_URL: 'https://dl.local/web-1.2.3.tgz', CURRENT_VERSION: '1.2.2', ROLLBACK_VERSION: '1.2.2', KEEP_DATA: 'false',
      WORK_DIR: '/srv/apps/', APP_DIR: '/srv/apps/', BACKUP_DIR: '/srv/apps/backups', LOG_DIR: '/srv/apps/logs', TEMP_DIR: '/srv/apps/tmp',
      GIT_REPO: 'https://git.local/web.git', GIT_COMMIT: '0123456789abcdef0123456789abcdef01234567', GIT_COMMIT_SHORT: '0123456',
    });
  });

  it.each<[string, string, string | undefined]>([
    ['an IPv4 address', '192.168.1.20', '192.168.1.20'],
    ['an IPv6 address', 'fe80::1', 'fe80::1'],
    ['a host name', 'web-1.internal', undefined],
    ['a name that looks like hex with a port', 'cafe:80', undefined],
  ])('sets TARGET_IP from %s only when it is an address', (_name, host, ip) => {
    const { runtime } = builtInVariables({ ...context, target: { name: 'h', labels: {}, spec: { type: 'docker', environment: 'prod', priority: 0, host, agent: 'a' } } });
    expect(runtime.TARGET_IP).toBe(ip);
  });

  it('prefers the app work dir, fills in the app name, and takes the target backup dir', () => {
    const { runtime } = builtInVariables({
      ...context,
      target: { name: 'h', labels: {}, spec: { type: 'script', environment: 'prod', priority: 0, agent: 'a', script: { workDir: '/srv', backupDir: '/backups' } } },
      app: { name: 'web', version: '1', workDir: '/opt/${APP_NAME}' },
    });
    expect(runtime).toMatchObject({ WORK_DIR: '/opt/web', APP_DIR: '/opt/web', BACKUP_DIR: '/backups', LOG_DIR: '/opt/web/logs', TEMP_DIR: '/opt/web/tmp' });
  });

  it('leaves unknown values out instead of setting them empty', () => {
    const { system, runtime } = builtInVariables({ release: { ...context.release, user: '' }, environment: 'prod' });
    expect(Object.keys(system).sort()).toEqual(['APP_ENV', 'PROJECT_NAME', 'RELEASE_ENV', 'RELEASE_ID', 'RELEASE_NAME', 'RELEASE_TIME', 'RELEASE_TIMESTAMP', 'RELEASE_VERSION']);
    expect(runtime).toEqual({});
    const k8s = builtInVariables({ ...context, target: { name: 't', labels: {}, spec: { ...k8sTarget, kubernetes: { namespace: 'shop', kind: 'StatefulSet', name: 'db' } } } }).runtime;
    for (const name of ['K8S_CONTAINER', 'K8S_DEPLOYMENT', 'CONTAINER_NAME', 'TARGET_HOST', 'TARGET_IP', 'WORK_DIR', 'K8S_REPLICAS']) expect(k8s).not.toHaveProperty(name);
  });

  it('only sets names it documents', () => {
    const { system, runtime } = builtInVariables({
      ...context,
      target: { name: 'h', labels: { a: 'b' }, spec: { type: 'script', environment: 'prod', priority: 0, host: '10.0.0.1', agent: 'a', script: { workDir: '/srv' } }, ip: '10.0.0.1', cluster: 'c', kubeContext: 'ctx', replicas: 3 },
      app: { name: 'web', version: '1', image: 'r.io/x:1', currentVersion: '0', rollbackVersion: '0', artifactUrl: 'https://x', keepData: true, containerName: 'web', git: { repo: 'r', branch: 'b', commit: 'c', tag: 't', message: 'm' } },
    });
    const undocumented = [...Object.keys(system), ...Object.keys(runtime)].filter((name) => !Object.hasOwn(SYSTEM_VARIABLES, name));
    expect(undocumented).toEqual([]);
    expect(Object.keys(runtime).length + Object.keys(system).length).toBeGreaterThan(40);
  });
});
