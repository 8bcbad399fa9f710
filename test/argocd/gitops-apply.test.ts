/**
 * The operator never fights a GitOps sync: examples/gitops/ is applied with real `kubectl apply` (client-side
 * apply, the three-way merge Argo CD's default sync does too) to the API emulator with the operator running;
 * once the operator has reconciled everything (statuses written, the Release Succeeded and the Deployments
 * on the new images), every Shipway object still has the spec that was applied, applying the same files
 * again changes nothing (`unchanged` for every object) and `kubectl diff` finds no difference. The only
 * drift is the one the Argo CD Application of examples/argocd/ ignores: the Deployments' container images,
 * which Shipway owns. An action annotation given with kubectl and answered by the operator leaves no drift
 * either. The live objects' health (the Lua checks, when lua5.1 is there) and the argocd-cm install command
 * of the README are checked on the same cluster.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../conformance/cluster.ts';
import { useEngine } from '../engine/engine-fixture.ts';
import { eventually } from '../support/until.ts';
import { ARGOCD_CM_PATH, HEALTH_CHECK_KINDS, healthKey, healthScriptPath } from '../../scripts/generate-argocd-cm.ts';
import { luaAvailable, luaRequired, MISSING_LUA_MESSAGE, runHealthScript } from './lua-health.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kubernetes objects as kubectl prints them
type Obj = Record<string, any>;

const engine = useEngine();

const GITOPS = join(ROOT, 'examples/gitops');
const FILES = readdirSync(GITOPS).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(GITOPS, f));
const WORKLOADS = FILES.filter((f) => f.endsWith('10-deployments.yaml'));
/** Everything but the Deployments: the Namespace and the Shipway objects. */
const OWNED_BY_GIT = FILES.filter((f) => !WORKLOADS.includes(f));
const NS = 'storefront';

/** The YAML documents of the files. */
const documents = (files: string[]): Obj[] => files.flatMap((f) => readFileSync(f, 'utf8').split(/^---$/m).map((d) => parse(d) as Obj).filter(Boolean));
const SHIPWAY = documents(FILES).filter((d) => d.apiVersion === 'shipway.dev/v1alpha1');
const resource = (d: Obj) => `${d.kind.toLowerCase()}.shipway.dev/${d.metadata.name}`;

const fileArgs = (files: string[]) => files.flatMap((f) => ['-f', f]);
const get = (what: string): Promise<Obj> => engine.json(['get', what, '-n', NS]);

/** `kubectl apply` output, one `<resource> <verb>` per object. */
async function apply(files: string[]): Promise<Map<string, string>> {
  const out = await engine.cluster.kubectlOk(['apply', ...fileArgs(files)]);
  return new Map(out.trim().split('\n').map((line) => line.trim().split(/\s+/) as [string, string]));
}

describe('a GitOps layout applied with kubectl while the operator runs', () => {
  it('keeps every spec as applied: re-applying is unchanged and kubectl diff is clean, only the Deployment images drift', async () => {
    // The objects as the API server stored them (defaults filled in) before the operator could act.
    const applied = JSON.parse(await engine.cluster.kubectlOk(['apply', ...fileArgs(FILES), '-o', 'json'])) as Obj;
    const before = new Map<string, Obj>((applied.items as Obj[]).filter((o) => o.apiVersion === 'shipway.dev/v1alpha1').map((o) => [`${o.kind}/${o.metadata.name}`, o]));
    expect([...before.keys()].sort()).toEqual(SHIPWAY.map((d) => `${d.kind}/${d.metadata.name}`).sort());

    const release = await engine.waitFor(NS, 'storefront-2-4-0', (r) => r.status?.phase === 'Succeeded', 'the GitOps Release should succeed', 60_000);
    expect(release.status.environments.map((e: Obj) => e.targets.map((t: Obj) => `${t.name}:${t.phase}:${t.previousVersion}->${t.version}`))).toEqual([
      ['api-staging:Succeeded:2.3.0->2.4.0', 'web-staging:Succeeded:2.3.0->2.4.0'],
    ]);
    expect(await engine.image(NS, 'api-staging')).toBe('registry.local/storefront/api:2.4.0');
    expect(await engine.image(NS, 'web-staging')).toBe('registry.local/storefront/web:2.4.0');
    // Every Shipway object has a status for its current generation before it is compared.
    await eventually(
      async () => {
        const all = [...(await get('targets')).items, ...(await get('pipelines')).items, ...(await get('releases')).items, ...(await get('releaseapps')).items] as Obj[];
        return all.length === SHIPWAY.length && all.every((o) => o.status?.observedGeneration === o.metadata.generation) &&
          all.filter((o) => o.kind === 'ReleaseApp').every((o) => o.status.phase === 'Deployed') &&
          all.filter((o) => o.kind === 'Target').every((o) => o.status.phase === 'Online');
      },
      { timeoutMs: 20_000, message: () => `statuses never settled; operator log tail:\n${engine.logs.slice(-20).join('\n')}` },
    );

    for (const [key, object] of before) {
      const [kind, name] = key.split('/') as [string, string];
      const live = JSON.parse(await engine.cluster.kubectlOk(['get', kind.toLowerCase(), name, '-n', NS, '-o', 'json', '--show-managed-fields'])) as Obj;
      expect(live.spec, `${key}: spec after the operator reconciled it`).toEqual(object.spec);
      // The server bumps generation on every spec write, the operator's included: still the first one.
      expect(live.metadata.generation, key).toBe(object.metadata.generation);
      // The API server's own record of who wrote what: only kubectl's apply ever set a spec field.
      const specWriters = (live.metadata.managedFields as Obj[]).filter((m) => m.fieldsV1?.['f:spec']).map((m) => m.manager);
      expect(specWriters, key).toEqual(['kubectl-client-side-apply']);
      expect((live.metadata.managedFields as Obj[]).length, `${key}: the operator wrote status (and metadata) too`).toBeGreaterThan(1);
    }

    const again = await apply(OWNED_BY_GIT);
    expect(Object.fromEntries(again)).toEqual(Object.fromEntries([['namespace/storefront', 'unchanged'], ...SHIPWAY.map((d) => [resource(d), 'unchanged'])]));
    const diff = await engine.cluster.kubectl(['diff', ...fileArgs(OWNED_BY_GIT)]);
    expect({ code: diff.code, stdout: diff.stdout, stderr: diff.stderr }).toEqual({ code: 0, stdout: '', stderr: '' });

    // The Deployments differ from git only in what Shipway rolled out: the image (the generation line moves
    // with it). That is the field examples/argocd/application.yaml ignores, with RespectIgnoreDifferences.
    const workloads = await engine.cluster.kubectl(['diff', ...fileArgs(WORKLOADS)]);
    expect(workloads.code, workloads.stderr).toBe(1);
    const changed = workloads.stdout.split('\n').filter((l) => /^[-+]/.test(l) && !/^(---|\+\+\+) /.test(l)).map((l) => l.replace(/\s+/g, ' '));
    expect(changed.sort()).toEqual([
      '+ - image: registry.local/storefront/api:2.3.0', '+ - image: registry.local/storefront/web:2.3.0', '+ generation: 3', '+ generation: 3',
      '- - image: registry.local/storefront/api:2.4.0', '- - image: registry.local/storefront/web:2.4.0', '- generation: 2', '- generation: 2',
    ]);
  }, 120_000);

  it('has the Argo CD Application sync that layout and ignore, on sync too, the one field that drifts', () => {
    const app = parse(readFileSync(join(ROOT, 'examples/argocd/application.yaml'), 'utf8')) as Obj;
    expect(app).toMatchObject({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', spec: { source: { path: 'examples/gitops' }, destination: { namespace: NS } } });
    expect(app.spec.ignoreDifferences).toEqual([{ group: 'apps', kind: 'Deployment', jqPathExpressions: ['.spec.template.spec.containers[].image'] }]);
    expect(app.spec.syncPolicy.syncOptions).toContain('RespectIgnoreDifferences=true');
    expect(app.metadata.annotations['argocd.argoproj.io/compare-options']).toBe('ServerSideDiff=true');
  });

  it('answers an action annotation given with kubectl without leaving drift against git', async () => {
    // Pausing a finished release is refused; either way the operator answers in status and removes the annotation.
    await engine.annotate(NS, 'storefront-2-4-0', { 'shipway.dev/action': 'pause', 'shipway.dev/actor': 'alice' });
    const answered = await engine.waitFor(NS, 'storefront-2-4-0', (r) => r.status?.lastAction?.actor === 'alice' && !r.metadata.annotations?.['shipway.dev/action'], 'the pause action should be answered');
    expect(answered.status.lastAction).toMatchObject({ action: 'pause', result: 'Rejected' });
    const again = await apply(OWNED_BY_GIT);
    expect([...again.values()].every((verb) => verb === 'unchanged'), JSON.stringify(Object.fromEntries(again))).toBe(true);
    const diff = await engine.cluster.kubectl(['diff', ...fileArgs(OWNED_BY_GIT)]);
    expect(diff.code, diff.stdout + diff.stderr).toBe(0);
  }, 60_000);

  (luaAvailable() || luaRequired() ? it : it.skip)('shows every reconciled object Healthy through the Argo CD health checks', async () => {
    if (!luaAvailable()) throw new Error(MISSING_LUA_MESSAGE);
    for (const [kind, plural] of [['Release', 'releases'], ['ReleaseApp', 'releaseapps'], ['Target', 'targets']] as const) {
      for (const object of (await get(plural)).items as Obj[]) {
        const health = runHealthScript(healthScriptPath(kind), object);
        expect(health.status, `${kind}/${object.metadata.name}: ${health.message}`).toBe('Healthy');
      }
    }
    const release = runHealthScript(healthScriptPath('Release'), await engine.release(NS, 'storefront-2-4-0'));
    expect(release).toEqual({ status: 'Healthy', message: 'Succeeded: all 1 environment(s) succeeded' });
  });

  // The fixtures of health_test.yaml are written by hand; these are statuses the running operator wrote.
  (luaAvailable() || luaRequired() ? it : it.skip)('shows a Release held for a start action Suspended and a Target without its workload Degraded', async () => {
    if (!luaAvailable()) throw new Error(MISSING_LUA_MESSAGE);
    await engine.apply(`
apiVersion: shipway.dev/v1alpha1
kind: ReleaseApp
metadata: { name: storefront-2-5-0-api, namespace: ${NS} }
spec:
  release: storefront-2-5-0
  app: api
  version: 2.5.0
  artifact: { image: registry.local/storefront/api }
  targets: { names: [api-staging] }
---
apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: storefront-2-5-0, namespace: ${NS} }
spec:
  project: storefront
  version: 2.5.0
  environments:
    - name: staging
      promotion: manual
      targets: { names: [api-staging] }
---
apiVersion: shipway.dev/v1alpha1
kind: Target
metadata: { name: worker-staging, namespace: ${NS} }
spec:
  type: kubernetes
  environment: staging
  kubernetes: { namespace: ${NS}, name: worker-staging }
`);
    const held = await engine.waitFor(NS, 'storefront-2-5-0', (r) => r.status?.phase === 'Waiting', 'the manual Release should wait for a start action');
    expect(runHealthScript(healthScriptPath('Release'), held)).toEqual({
      status: 'Suspended',
      message: 'Waiting in staging: environment staging waits for a start action (promotion: manual)',
    });
    let app: Obj = {};
    await eventually(async () => (app = await engine.json(['get', 'releaseapp', 'storefront-2-5-0-api', '-n', NS])).status?.phase === 'Waiting', { message: () => JSON.stringify(app.status) });
    expect(runHealthScript(healthScriptPath('ReleaseApp'), app)).toEqual({
      status: 'Suspended',
      message: 'Waiting: release storefront-2-5-0: staging waits for a start action (promotion: manual)',
    });
    let target: Obj = {};
    await eventually(async () => (target = await engine.json(['get', 'target', 'worker-staging', '-n', NS])).status?.phase === 'Offline', { message: () => JSON.stringify(target.status) });
    const health = runHealthScript(healthScriptPath('Target'), target);
    expect(health.status).toBe('Degraded');
    expect(health.message).toBe(`Not ready (WorkloadUnavailable): ${target.status.conditions[0].message}`);
    expect(health.message).toContain('worker-staging');
  });

  it('installs the health checks into an existing argocd-cm with the kubectl patch command of the README, keeping its other keys', async () => {
    await engine.cluster.kubectlOk(['create', 'namespace', 'argocd']);
    await engine.cluster.kubectlOk(['create', 'configmap', 'argocd-cm', '-n', 'argocd', '--from-literal=url=https://argocd.example.com']);
    await engine.cluster.kubectlOk(['patch', 'configmap', 'argocd-cm', '-n', 'argocd', '--type', 'merge', '--patch-file', ARGOCD_CM_PATH]);
    const cm = await engine.json(['get', 'configmap', 'argocd-cm', '-n', 'argocd']);
    expect(Object.keys(cm.data).sort()).toEqual([...HEALTH_CHECK_KINDS.map(healthKey), 'url'].sort());
    expect(cm.data.url).toBe('https://argocd.example.com');
    for (const kind of HEALTH_CHECK_KINDS) expect(cm.data[healthKey(kind)], kind).toBe(readFileSync(healthScriptPath(kind), 'utf8'));
  });
});
