import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../operator/src/cli/main.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const examplesDir = join(repoRoot, 'examples');

interface Run {
  code: number;
  out: string[];
  err: string[];
}

/** Runs `shipway <args>` in-process with captured output. */
async function shipway(...args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out, err };
}

let dir: string;
let counter = 0;

/** Writes `lines` (joined with newlines) to a fresh file in the temp dir; line numbers in tests are 1-based. */
async function manifestFile(lines: string[], name = `manifest-${++counter}.yaml`): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shipway-validate-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const brokenCanaryRelease = [
  'apiVersion: shipway.dev/v1alpha1', //  1
  'kind: Release', //                     2
  'metadata:', //                         3
  '  name: broken-canary', //             4
  'spec:', //                             5
  '  project: shop', //                   6
  '  version: "1.4.2"', //                7
  '  environments:', //                   8
  '    - name: pre', //                   9
  '      targets:', //                   10
  '        names: [web-1, web-2]', //    11
  '      strategy:', //                  12
  '        type: canary', //             13
  '        canary:', //                  14
  '          percent: 10', //            15
  '          targets: [web-1]', //       16
];

const validTarget = [
  'apiVersion: shipway.dev/v1alpha1',
  'kind: Target',
  'metadata:',
  '  name: web-1',
  'spec:',
  '  type: kubernetes',
  '  environment: pre',
  '  kubernetes:',
  '    namespace: shop',
  '    name: web',
];

const configMap = [
  'apiVersion: v1',
  'kind: ConfigMap',
  'metadata:',
  '  name: settings',
  'data:',
  '  spec: not a shipway spec',
];

describe('shipway validate', () => {
  it('accepts every manifest under examples/', async () => {
    const info = await stat(examplesDir).catch(() => undefined);
    expect(info?.isDirectory(), 'examples/ should exist').toBe(true);
    const run = await shipway('validate', examplesDir);
    expect(run.out).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.err).toHaveLength(1);
    const summary = /^(\d+) Shipway object\(s\) in (\d+) file\(s\)(, \d+ other object\(s\) skipped)?: all valid$/.exec(run.err[0] ?? '');
    expect(summary, run.err[0]).not.toBeNull();
    expect(Number(summary?.[1])).toBeGreaterThan(0);
  });

  it('names file, line of the offending key, object, field path and reason of a broken canary', async () => {
    const file = await manifestFile(brokenCanaryRelease);
    const run = await shipway('validate', file);
    expect(run.out).toEqual([
      `${file}:14: Release/broken-canary: spec.environments[0].strategy.canary: Invalid value: exactly one of percent, targets, selector, clusterOrder must be set`,
    ]);
    expect(run.err).toEqual(['1 Shipway object(s) in 1 file(s): 1 problem(s)']);
    expect(run.code).toBe(1);
  });

  it('reports an unknown field on the line of that field', async () => {
    const file = await manifestFile([...validTarget, '    replicas: 3', '  region: eu']);
    const run = await shipway('validate', file);
    // One line per problem, in the order the schema reports them (not necessarily by line).
    expect([...run.out].sort()).toEqual([
      `${file}:11: Target/web-1: spec.kubernetes.replicas: unknown field "spec.kubernetes.replicas"`,
      `${file}:12: Target/web-1: spec.region: unknown field "spec.region"`,
    ]);
    expect(run.code).toBe(1);
  });

  it('reports a missing field on the line of its nearest existing parent', async () => {
    const file = await manifestFile(validTarget.filter((line) => line !== '  environment: pre'));
    const run = await shipway('validate', file);
    expect(run.out).toEqual([`${file}:5: Target/web-1: spec.environment: Required value`]);
    expect(run.code).toBe(1);
  });

  it('points at list items by index', async () => {
    const file = await manifestFile([
      ...brokenCanaryRelease.slice(0, 12),
      '        type: rolling',
      '    - name: prod',
      '      promotion: sometimes',
    ]);
    const run = await shipway('validate', file);
    expect(run.out).toEqual([
      `${file}:15: Release/broken-canary: spec.environments[1].promotion: Unsupported value: "sometimes": supported values: "manual", "auto"`,
    ]);
  });

  it('reports a YAML syntax error with file and line', async () => {
    const file = await manifestFile([
      'apiVersion: shipway.dev/v1alpha1',
      'kind: Target',
      'metadata:',
      '  name: web-1',
      'spec:',
      '  type: kubernetes',
      '  environment: @pre',
      '  kubernetes: {namespace: shop, name: web}',
    ]);
    const run = await shipway('validate', file);
    expect(run.out).toEqual([`${file}:7: YAML: Plain value cannot start with reserved character @`]);
    expect(run.err).toEqual(['0 Shipway object(s) in 1 file(s): 1 problem(s)']);
    expect(run.code).toBe(1);
  });

  it('still validates the other documents of a file with a YAML error', async () => {
    const file = await manifestFile([
      'apiVersion: shipway.dev/v1alpha1', // 1
      'kind: Target', //                     2
      'metadata: {name: @web}', //           3
      '---', //                              4
      ...validTarget.slice(0, 9), //         5-13
      '    name: Web', //                   14
    ]);
    const run = await shipway('validate', file);
    expect(run.out).toHaveLength(2);
    expect(run.out[0]).toBe(`${file}:3: YAML: Plain value cannot start with reserved character @`);
    expect(run.out[1]).toBe(`${file}:14: Target/web-1 (document 2): spec.kubernetes.name: Invalid value: "Web": must be a lowercase RFC 1123 subdomain (a-z, 0-9, '-' and '.')`);
    expect(run.code).toBe(1);
  });

  it('reports duplicate keys as a YAML error on the line of the repeated key', async () => {
    const file = await manifestFile([...validTarget, '  environment: prod']);
    const run = await shipway('validate', file);
    expect(run.out).toEqual([`${file}:11: YAML: Map keys must be unique`]);
    expect(run.code).toBe(1);
  });

  it.each([
    ['a missing file', ['missing.yaml']],
    ['a missing directory next to an existing file', ['examples', 'no-such-dir']],
  ])('exits 2 for %s', async (_name, paths) => {
    const absolute = paths.map((p) => (p === 'examples' ? examplesDir : join(dir, p)));
    const run = await shipway('validate', ...absolute);
    expect(run.code).toBe(2);
    expect(run.out).toEqual([]);
    expect(run.err.join('\n')).toContain(`${absolute.at(-1)}: no such file or directory`);
  });

  it('exits 2 without paths', async () => {
    const run = await shipway('validate');
    expect(run.code).toBe(2);
    expect(run.err.join('\n')).toContain("missing required argument 'paths'");
  });

  it('exits 2 for a directory without manifest files', async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty);
    await writeFile(join(empty, 'notes.txt'), 'nothing here');
    const run = await shipway('validate', empty);
    expect(run.code).toBe(2);
    expect(run.err).toEqual([`no manifest files (*.yaml, *.yml, *.json) under ${empty}`]);
  });

  it('names the right object of a multi-document file', async () => {
    const file = await manifestFile([
      ...validTarget, //                                   lines 1-10
      '---', //                                            11
      ...brokenCanaryRelease.map((line) => line.replace('broken-canary', 'second')), // 12-27
      '---', //                                            28
      ...validTarget.map((line) => line.replace('web-1', 'web-2')),
    ]);
    const run = await shipway('validate', file);
    expect(run.out).toEqual([
      `${file}:25: Release/second (document 2): spec.environments[0].strategy.canary: Invalid value: exactly one of percent, targets, selector, clusterOrder must be set`,
    ]);
    expect(run.err).toEqual(['3 Shipway object(s) in 1 file(s): 1 problem(s)']);
    expect(run.code).toBe(1);
  });

  it('skips objects of other API groups', async () => {
    const file = await manifestFile([...configMap, '---', ...validTarget]);
    const run = await shipway('validate', file);
    expect(run.out).toEqual([]);
    expect(run.err).toEqual(['1 Shipway object(s) in 1 file(s), 1 other object(s) skipped: all valid']);
    expect(run.code).toBe(0);
  });

  it('validates the items of a kind: List', async () => {
    const file = await manifestFile([
      'apiVersion: v1', //                        1
      'kind: List', //                            2
      'items:', //                                3
      '  - apiVersion: shipway.dev/v1alpha1', //  4
      '    kind: Target', //                      5
      '    metadata: {name: web-1}', //           6
      '    spec:', //                             7
      '      type: docker', //                    8
      '      environment: pre', //                9
      '      agent: agent-1', //                 10
      '  - apiVersion: v1', //                   11
      '    kind: ConfigMap', //                  12
      '    metadata: {name: settings}', //       13
      '  - apiVersion: shipway.dev/v1alpha1', // 14
      '    kind: Target', //                     15
      '    metadata: {name: web-2}', //          16
      '    spec:', //                            17
      '      type: docker', //                   18
      '      environment: pre', //               19
      '      agent: agent-1', //                 20
      '      priority: high', //                 21
    ]);
    const run = await shipway('validate', file);
    expect(run.out).toEqual([`${file}:21: Target/web-2: spec.priority: Invalid value: "high": must be an integer`]);
    expect(run.err).toEqual(['2 Shipway object(s) in 1 file(s), 1 other object(s) skipped: 1 problem(s)']);
    expect(run.code).toBe(1);
  });

  it('reads JSON manifests and points at their lines', async () => {
    const file = await manifestFile(
      [
        '{',
        '  "apiVersion": "shipway.dev/v1alpha1",',
        '  "kind": "Target",',
        '  "metadata": { "name": "json-1" },',
        '  "spec": {',
        '    "type": "kubernetes",',
        '    "environment": "pre",',
        '    "agent": "agent-1",',
        '    "kubernetes": { "namespace": "shop", "name": "web" }',
        '  }',
        '}',
      ],
      'target.json',
    );
    const run = await shipway('validate', file);
    expect(run.out).toEqual([`${file}:8: Target/json-1: spec.agent: Invalid value: agent is not used by kubernetes targets`]);
    expect(run.code).toBe(1);
  });

  it('walks directories recursively, in name order, skipping dot-directories and other files', async () => {
    const tree = join(dir, 'tree');
    await mkdir(join(tree, 'b'), { recursive: true });
    await mkdir(join(tree, '.hidden'), { recursive: true });
    await writeFile(join(tree, 'b', 'release.yml'), `${brokenCanaryRelease.join('\n')}\n`);
    await writeFile(join(tree, 'a.yaml'), `${validTarget.join('\n')}\nspec2: {}\n`);
    await writeFile(join(tree, '.hidden', 'bad.yaml'), 'kind: [');
    await writeFile(join(tree, 'README.md'), '# not a manifest: [');
    const run = await shipway('validate', tree);
    expect(run.out).toEqual([
      `${join(tree, 'a.yaml')}:11: Target/web-1: spec2: unknown field "spec2"`,
      `${join(tree, 'b', 'release.yml')}:14: Release/broken-canary: spec.environments[0].strategy.canary: Invalid value: exactly one of percent, targets, selector, clusterOrder must be set`,
    ]);
    expect(run.err).toEqual(['2 Shipway object(s) in 2 file(s): 2 problem(s)']);
  });

  it('reports a semantic problem with its line', async () => {
    const file = await manifestFile([
      'apiVersion: shipway.dev/v1alpha1', //  1
      'kind: Pipeline', //                    2
      'metadata:', //                         3
      '  name: loop', //                      4
      'spec:', //                             5
      '  stages:', //                         6
      '    - name: one', //                   7
      '      phase: release', //              8
      '      tasks:', //                      9
      '        - id: a', //                  10
      '          type: deploy', //           11
      '          dependsOn: [b]', //         12
      '        - id: b', //                  13
      '          type: deploy', //           14
      '          dependsOn: [a, ghost]', //  15
    ]);
    const run = await shipway('validate', file);
    // Problems of one object come in line order.
    expect(run.out).toEqual([
      `${file}:9: Pipeline/loop: spec.stages[0].tasks: dependency cycle: a -> b -> a`,
      `${file}:15: Pipeline/loop: spec.stages[0].tasks[1].dependsOn[1]: task "b" depends on unknown task "ghost"`,
    ]);
  });

  describe('the ReleaseApps of a Release, across files', () => {
    const release = [
      'apiVersion: shipway.dev/v1alpha1',
      'kind: Release',
      'metadata: {name: shop-1-4, namespace: shop}',
      'spec:',
      '  project: shop',
      '  version: "1.4.0"',
      '  environments: [{name: prod, targets: {names: [web-1]}}]',
    ];
    /** A ReleaseApp of shop-1-4 requiring `deps`; its dependsOn items start on line 12. */
    const releaseApp = (app: string, deps: string[], releaseName = 'shop-1-4') => [
      'apiVersion: shipway.dev/v1alpha1', //  1
      'kind: ReleaseApp', //                  2
      'metadata:', //                         3
      `  name: ${releaseName}-${app}`, //     4
      '  namespace: shop', //                 5
      'spec:', //                             6
      `  release: ${releaseName}`, //         7
      `  app: ${app}`, //                     8
      '  version: "1.4.0"', //                9
      `  artifact: {image: shop/${app}}`, // 10
      ...(deps.length > 0 ? ['  dependsOn:', ...deps.map((dep) => `    - app: ${dep}`)] : []), // 11, 12...
    ];

    it('names a cycle on the dependsOn item of the app that starts it', async () => {
      const web = await manifestFile(releaseApp('web', ['db', 'api']));
      const api = await manifestFile(releaseApp('api', ['web']));
      const db = await manifestFile(releaseApp('db', []));
      const run = await shipway('validate', web, api, db);
      expect(run.out).toEqual([`${web}:13: ReleaseApp/shop-1-4-web: spec.dependsOn[1]: ReleaseApp dependency cycle: web -> api -> web`]);
      expect(run.err).toEqual(['3 Shipway object(s) in 3 file(s): 1 problem(s)']);
      expect(run.code).toBe(1);
    });

    it('names a required dependency that is not part of the release, when the Release is validated too', async () => {
      const file = await manifestFile([...release, '---', ...releaseApp('web', ['cache', 'api'])]);
      const api = await manifestFile(releaseApp('api', [], 'shop-2-0'));
      const run = await shipway('validate', file, api);
      expect(run.out).toEqual([
        `${file}:20: ReleaseApp/shop-1-4-web (document 2): spec.dependsOn[0]: app web requires cache, which is not part of release shop-1-4`,
        `${file}:21: ReleaseApp/shop-1-4-web (document 2): spec.dependsOn[1]: app web requires api, which is not part of release shop-1-4`,
      ]);
      expect(run.code).toBe(1);
    });

    it('accepts a release whose apps depend on each other without a cycle', async () => {
      const file = await manifestFile([...release, '---', ...releaseApp('web', ['api']), '---', ...releaseApp('api', [])]);
      const run = await shipway('validate', file);
      expect(run.out).toEqual([]);
      expect(run.code).toBe(0);
    });

    it('leaves dependencies alone when only some apps of a release are validated', async () => {
      const run = await shipway('validate', await manifestFile(releaseApp('web', ['api'])));
      expect(run.out).toEqual([]);
      expect(run.code).toBe(0);
    });

    it('checks across objects only once each object is valid on its own', async () => {
      const web = await manifestFile(releaseApp('web', ['api']));
      const api = await manifestFile([...releaseApp('api', ['web']), '  replicas: 3']);
      const run = await shipway('validate', web, api);
      expect(run.out).toEqual([`${api}:13: ReleaseApp/shop-1-4-api: spec.replicas: unknown field "spec.replicas"`]);
      expect(run.code).toBe(1);
    });
  });

  // kubectl and Helm output often end with `---`; kubectl skips empty documents, so do we.
  it('skips the empty document after a trailing ---', async () => {
    const file = await manifestFile([...validTarget, '---']);
    const run = await shipway('validate', file);
    expect(run.out).toEqual([]);
    expect(run.code).toBe(0);
  });

  it('exits 1 and prints the problem when run as a child process', async () => {
    const file = await manifestFile(brokenCanaryRelease, 'child-process.yaml');
    const child = spawnSync(process.execPath, ['bin/shipway.js', 'validate', file], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
    expect(child.error).toBeUndefined();
    expect(child.stdout).toBe(
      `${file}:14: Release/broken-canary: spec.environments[0].strategy.canary: Invalid value: exactly one of percent, targets, selector, clusterOrder must be set\n`,
    );
    expect(child.stderr).toContain('1 Shipway object(s) in 1 file(s): 1 problem(s)');
    expect(child.status).toBe(1);
  });
});
