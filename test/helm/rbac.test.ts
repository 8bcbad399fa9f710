/**
 * The chart's RBAC against the Kubernetes API calls the operator makes. The calls are found in the sources
 * (operator/src, without cli/ but its operator command: the CLI runs with the user's own kubeconfig):
 * every method of a @kubernetes/client-node API class, the project's CustomResources wrappers that write
 * (patchStatus, patchMetadata, createOnce), the Watch the informers use and the CRD registration. Each call
 * site is listed below with the permission it needs and why, and counted: a new call anywhere, or one more
 * of an old one, fails the test until it is listed here and granted by templates/rbac.yaml. The other way
 * round, every verb the chart grants must be needed by a listed call (least privilege).
 *
 * Not seen by the scan: CustomResources.get/list/delete (names too common to find by text); their callers
 * are listed by hand (the Release retention's delete, the controllers' get).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as clientNode from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { NAMESPACE, RELEASE, render, ROOT, type Obj, type Rendered } from './chart.ts';

/** cluster: any namespace (a ClusterRole); lease: the release namespace; agents: the agent namespace. */
type Scope = 'cluster' | 'lease' | 'agents';
interface Need {
  group: string;
  resource: string;
  verb: string;
  scope: Scope;
  /** The one object the call touches, when the rule may name it (resourceNames). */
  name?: string;
  /** Needed only with this value set (operator.installCrds). */
  when?: 'installCrds';
}
interface CallSite {
  file: string;
  call: string;
  count: number;
  why: string;
  needs: Need[];
}

const SHIPWAY_KINDS = ['releases', 'releaseapps', 'pipelines', 'targets'];
const need = (group: string, resource: string, verbs: string[], scope: Scope = 'cluster', extra: Partial<Need> = {}): Need[] => verbs.map((verb) => ({ group, resource, verb, scope, ...extra }));
const onKinds = (kinds: string[], verbs: string[], suffix = '') => kinds.flatMap((k) => need('shipway.dev', `${k}${suffix}`, verbs));
const secret = (verbs: string[], scope: Scope = 'cluster') => need('', 'secrets', verbs, scope);

const CALL_SITES: CallSite[] = [
  // The informers of the four kinds: a paged list (cluster-wide, or of the watched namespace), then a watch.
  { file: 'runtime/informer.ts', call: 'listClusterCustomObject', count: 1, why: 'informer list, all namespaces', needs: onKinds(SHIPWAY_KINDS, ['list']) },
  { file: 'runtime/informer.ts', call: 'listNamespacedCustomObject', count: 1, why: 'informer list, --namespace', needs: onKinds(SHIPWAY_KINDS, ['list']) },
  { file: 'runtime/informer.ts', call: 'Watch', count: 1, why: 'informer watch', needs: onKinds(SHIPWAY_KINDS, ['watch']) },
  // CustomResources, the controllers' client for the four kinds; what each caller needs is listed with the caller.
  { file: 'controllers/custom-resources.ts', call: 'getNamespacedCustomObject', count: 1, why: 'each controller reads its object afresh (CustomResources.get)', needs: onKinds(SHIPWAY_KINDS, ['get']) },
  { file: 'controllers/custom-resources.ts', call: 'patchNamespacedCustomObjectStatus', count: 1, why: 'CustomResources.patchStatus', needs: [] },
  { file: 'controllers/custom-resources.ts', call: 'patchNamespacedCustomObject', count: 1, why: 'CustomResources.patchMetadata', needs: [] },
  { file: 'controllers/custom-resources.ts', call: 'createNamespacedCustomObject', count: 1, why: 'CustomResources.createOnce', needs: [] },
  { file: 'controllers/custom-resources.ts', call: 'listNamespacedCustomObject', count: 1, why: 'CustomResources.list (used by the CLI only)', needs: [] },
  { file: 'controllers/custom-resources.ts', call: 'deleteNamespacedCustomObject', count: 1, why: 'CustomResources.delete: --keep-finished deletes old finished Releases', needs: onKinds(['releases'], ['delete']) },
  { file: 'controllers/release-controller.ts', call: 'patchMetadata', count: 3, why: 'the Release finalizer (add, remove) and clearing handled action annotations', needs: onKinds(['releases'], ['patch']) },
  { file: 'controllers/release-controller.ts', call: 'patchStatus', count: 1, why: 'Release status', needs: onKinds(['releases'], ['patch'], '/status') },
  { file: 'controllers/release-app-controller.ts', call: 'patchStatus', count: 1, why: 'ReleaseApp status', needs: onKinds(['releaseapps'], ['patch'], '/status') },
  { file: 'controllers/release-app-controller.ts', call: 'patchMetadata', count: 1, why: 'the app and active labels CI selects by, and clearing handled action annotations', needs: onKinds(['releaseapps'], ['patch']) },
  { file: 'controllers/pipeline-controller.ts', call: 'patchStatus', count: 1, why: 'Pipeline status', needs: onKinds(['pipelines'], ['patch'], '/status') },
  { file: 'controllers/target-controller.ts', call: 'patchStatus', count: 2, why: 'Target status', needs: onKinds(['targets'], ['patch'], '/status') },
  { file: 'controllers/release-redeploy.ts', call: 'createOnce', count: 2, why: 'a redeploy rollback creates a Release and its ReleaseApps', needs: onKinds(['releases', 'releaseapps'], ['create']) },
  { file: 'controllers/build-annotations.ts', call: 'patchMetadata', count: 1, why: 'the build webhook annotates ReleaseApps with the new tag', needs: onKinds(['releaseapps'], ['patch']) },
  // ConfigMaps and Secrets the Releases and Targets refer to, in their namespaces.
  { file: 'controllers/release-controller.ts', call: 'readNamespacedConfigMap', count: 1, why: 'approver groups (shipway-groups)', needs: need('', 'configmaps', ['get']) },
  { file: 'controllers/release-variables.ts', call: 'readNamespacedConfigMap', count: 1, why: 'variables from a ConfigMap', needs: need('', 'configmaps', ['get']) },
  { file: 'controllers/release-variables.ts', call: 'readNamespacedSecret', count: 1, why: 'secret variables', needs: secret(['get']) },
  { file: 'kubernetes/variable-sources.ts', call: 'readNamespacedSecret', count: 1, why: 'variables valueFrom a Secret', needs: secret(['get']) },
  { file: 'kubernetes/cluster-clients.ts', call: 'readNamespacedSecret', count: 1, why: "a remote Target's kubeconfig", needs: secret(['get']) },
  { file: 'agents/docker-tls-secrets.ts', call: 'readNamespacedSecret', count: 1, why: "a docker Target's engine TLS", needs: secret(['get']) },
  // The agent namespace: credentials and the endpoint certificate.
  { file: 'agents/agent-credentials.ts', call: 'readNamespacedSecret', count: 1, why: 'agent credential', needs: secret(['get'], 'agents') },
  { file: 'agents/agent-credentials.ts', call: 'createNamespacedSecret', count: 1, why: 'agent credential issued', needs: secret(['create'], 'agents') },
  { file: 'agents/agent-credentials.ts', call: 'replaceNamespacedSecret', count: 1, why: 'agent credential re-issued', needs: secret(['update'], 'agents') },
  { file: 'agents/agent-credentials.ts', call: 'deleteNamespacedSecret', count: 1, why: 'agent credential revoked', needs: secret(['delete'], 'agents') },
  { file: 'agents/agent-tls.ts', call: 'readNamespacedSecret', count: 1, why: 'endpoint TLS', needs: secret(['get'], 'agents') },
  { file: 'agents/agent-tls.ts', call: 'createNamespacedSecret', count: 1, why: 'endpoint TLS created', needs: secret(['create'], 'agents') },
  { file: 'agents/agent-tls.ts', call: 'replaceNamespacedSecret', count: 1, why: 'endpoint TLS renewed', needs: secret(['update'], 'agents') },
  // Events and leader election.
  { file: 'runtime/event-recorder.ts', call: 'createNamespacedEvent', count: 1, why: 'events on reconciled objects', needs: need('', 'events', ['create']) },
  { file: 'runtime/event-recorder.ts', call: 'patchNamespacedEvent', count: 1, why: 'a repeated event counted', needs: need('', 'events', ['patch']) },
  { file: 'runtime/leader-election.ts', call: 'readNamespacedLease', count: 1, why: 'leader election', needs: need('coordination.k8s.io', 'leases', ['get'], 'lease', { name: 'shipway-operator' }) },
  { file: 'runtime/leader-election.ts', call: 'createNamespacedLease', count: 1, why: 'the first replica creates the Lease', needs: need('coordination.k8s.io', 'leases', ['create'], 'lease') },
  { file: 'runtime/leader-election.ts', call: 'replaceNamespacedLease', count: 2, why: 'renew, take over, hand over', needs: need('coordination.k8s.io', 'leases', ['update'], 'lease', { name: 'shipway-operator' }) },
  { file: 'runtime/leader-pod-label.ts', call: 'patchNamespacedPod', count: 1, why: 'the leader labels its own pod for the agent Service', needs: need('', 'pods', ['patch'], 'lease') },
  // --install-crds only.
  { file: 'runtime/crd-registration.ts', call: 'registerCustomResourceDefinition', count: 1, why: '--install-crds creates missing CRDs', needs: need('apiextensions.k8s.io', 'customresourcedefinitions', ['create'], 'cluster', { when: 'installCrds' }) },
  { file: 'runtime/crd-registration.ts', call: 'readCustomResourceDefinition', count: 1, why: '--install-crds waits for Established', needs: need('apiextensions.k8s.io', 'customresourcedefinitions', ['get'], 'cluster', { when: 'installCrds' }) },
  // The workloads of Kubernetes Targets, in any namespace.
  ...(['Deployment', 'StatefulSet', 'DaemonSet'] as const).flatMap((kind): CallSite[] => [
    { file: 'kubernetes/workload-client.ts', call: `readNamespaced${kind}`, count: 1, why: 'read the workload', needs: need('apps', `${kind.toLowerCase()}s`, ['get']) },
    { file: 'kubernetes/workload-client.ts', call: `patchNamespaced${kind}`, count: 1, why: 'roll the workload out', needs: need('apps', `${kind.toLowerCase()}s`, ['patch']) },
  ]),
  { file: 'kubernetes/workload-client.ts', call: 'createNamespacedDeployment', count: 1, why: 'blue-green and canary Deployments', needs: need('apps', 'deployments', ['create']) },
  { file: 'kubernetes/workload-client.ts', call: 'deleteNamespacedDeployment', count: 1, why: 'retired colour / canary Deployments', needs: need('apps', 'deployments', ['delete']) },
  { file: 'kubernetes/workload-client.ts', call: 'listNamespacedReplicaSet', count: 1, why: 'Deployment revisions', needs: need('apps', 'replicasets', ['list']) },
  { file: 'kubernetes/workload-client.ts', call: 'deleteNamespacedReplicaSet', count: 1, why: 'revisions beyond the kept versions', needs: need('apps', 'replicasets', ['delete']) },
  { file: 'kubernetes/workload-client.ts', call: 'listNamespacedControllerRevision', count: 1, why: 'StatefulSet/DaemonSet revisions', needs: need('apps', 'controllerrevisions', ['list']) },
  { file: 'kubernetes/workload-client.ts', call: 'deleteNamespacedControllerRevision', count: 1, why: 'revisions beyond the kept versions', needs: need('apps', 'controllerrevisions', ['delete']) },
  { file: 'kubernetes/workload-client.ts', call: 'readNamespacedService', count: 1, why: 'blue-green Service', needs: need('', 'services', ['get']) },
  { file: 'kubernetes/workload-client.ts', call: 'patchNamespacedService', count: 1, why: 'blue-green switch', needs: need('', 'services', ['patch']) },
  // Pipeline tasks run as Jobs on Kubernetes Targets.
  { file: 'tasks/kubernetes-job.ts', call: 'createNamespacedJob', count: 1, why: 'task Job', needs: need('batch', 'jobs', ['create']) },
  { file: 'tasks/kubernetes-job.ts', call: 'readNamespacedJob', count: 2, why: 'reattach and follow', needs: need('batch', 'jobs', ['get']) },
  { file: 'tasks/kubernetes-job.ts', call: 'deleteNamespacedJob', count: 1, why: 'a Job whose Secret failed', needs: need('batch', 'jobs', ['delete']) },
  {
    file: 'tasks/kubernetes-job.ts', call: 'createNamespacedSecret', count: 1,
    why: "the task's variables Secret, owned by its Job with blockOwnerDeletion (OwnerReferencesPermissionEnforcement asks for the Job's finalizers)",
    needs: [...secret(['create']), ...need('batch', 'jobs/finalizers', ['update'])],
  },
  { file: 'tasks/kubernetes-job.ts', call: 'listNamespacedPod', count: 1, why: "the Job's pod", needs: need('', 'pods', ['list']) },
  { file: 'tasks/kubernetes-job.ts', call: 'readNamespacedPodLog', count: 1, why: "the pod's log tail", needs: need('', 'pods/log', ['get']) },
];

/** Every method of @kubernetes/client-node's API classes (not the generic KubernetesObjectApi, whose read/list/patch names are everyone's). */
const CLIENT_METHODS = new Set(
  Object.entries(clientNode)
    .filter(([name, value]) => name.endsWith('Api') && name !== 'KubernetesObjectApi' && typeof value === 'function')
    .flatMap(([, value]) => Object.getOwnPropertyNames((value as { prototype: object }).prototype))
    .filter((m) => m !== 'constructor'),
);
const WRAPPER_METHODS = new Set(['patchStatus', 'patchMetadata', 'createOnce']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const path = join(dir, f);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** `file call` -> how many times the sources make that call. */
function callsInSources(): Map<string, number> {
  const src = join(ROOT, 'operator/src');
  const found = new Map<string, number>();
  for (const path of sourceFiles(src)) {
    const file = relative(src, path);
    // The CLI's commands run with the user's kubeconfig; `shipway operator` is the one that runs as the ServiceAccount.
    if (file.startsWith('cli/') && file !== 'cli/operator-command.ts') continue;
    const text = readFileSync(path, 'utf8');
    const calls = [
      ...[...text.matchAll(/\.(\w+)\(/g)].map((m) => m[1]!).filter((m) => CLIENT_METHODS.has(m) || WRAPPER_METHODS.has(m)),
      ...[...text.matchAll(/new (Watch)\(|\b(registerCustomResourceDefinition)\(/g)].map((m) => (m[1] ?? m[2])!),
    ];
    for (const call of calls) found.set(`${file} ${call}`, (found.get(`${file} ${call}`) ?? 0) + 1);
  }
  return found;
}

interface Grant {
  rule: Obj;
  /** undefined: every namespace (a ClusterRole bound by a ClusterRoleBinding). */
  namespace: string | undefined;
}

/** The rules bound to the operator's ServiceAccount, with where they apply. */
function grants(rendered: Rendered): Grant[] {
  const sa = rendered.one('ServiceAccount');
  const boundToSa = (binding: Obj) => (binding.subjects as Obj[]).some((s) => s.kind === 'ServiceAccount' && s.name === sa.metadata.name && s.namespace === NAMESPACE);
  const out: Grant[] = [];
  for (const binding of rendered.all('ClusterRoleBinding').filter(boundToSa)) {
    for (const rule of rendered.one('ClusterRole', binding.roleRef.name).rules) out.push({ rule, namespace: undefined });
  }
  for (const binding of rendered.all('RoleBinding').filter(boundToSa)) {
    const role = rendered.all(binding.roleRef.kind).find((r) => r.metadata.name === binding.roleRef.name && (binding.roleRef.kind === 'ClusterRole' || r.metadata.namespace === binding.metadata.namespace));
    expect(role, `${binding.roleRef.kind} ${binding.roleRef.name} of RoleBinding ${binding.metadata.name}`).toBeDefined();
    for (const rule of role!.rules) out.push({ rule, namespace: binding.metadata.namespace });
  }
  return out;
}

const ruleAllows = (rule: Obj, n: Pick<Need, 'group' | 'resource' | 'verb' | 'name'>) =>
  (rule.apiGroups as string[]).includes(n.group) &&
  (rule.resources as string[]).includes(n.resource) &&
  (rule.verbs as string[]).includes(n.verb) &&
  (rule.resourceNames === undefined || (n.name !== undefined && (rule.resourceNames as string[]).includes(n.name)));

const scopeNamespace = (scope: Scope, agentNamespace: string) => (scope === 'cluster' ? undefined : scope === 'lease' ? NAMESPACE : agentNamespace);

function allowed(all: Grant[], n: Need, agentNamespace: string): boolean {
  const where = scopeNamespace(n.scope, agentNamespace);
  return all.some((g) => (g.namespace === undefined || g.namespace === where) && ruleAllows(g.rule, n));
}

const describeNeed = (n: Need) => `${n.verb} ${n.group || 'core'}/${n.resource}${n.name ? `/${n.name}` : ''} (${n.scope})`;

describe('the operator RBAC the chart grants', () => {
  it('lists every Kubernetes API call the operator makes (a new one must be added here and to templates/rbac.yaml)', () => {
    const listed = new Map(CALL_SITES.map((c) => [`${c.file} ${c.call}`, c.count]));
    expect(Object.fromEntries(callsInSources())).toEqual(Object.fromEntries(listed));
    // The scan must see the calls at all: a change in how client-node exposes its API classes would empty it.
    expect(CLIENT_METHODS.has('readNamespacedSecret')).toBe(true);
  });

  for (const [label, values, agentNamespace] of [
    ['default values', {}, NAMESPACE],
    ['agents in their own namespace, CRDs installed by the operator', { agents: { namespace: 'shipway-agents' }, operator: { installCrds: true } }, 'shipway-agents'],
  ] as const) {
    it(`grants each listed call what it needs (${label})`, async () => {
      const rendered = await render(values);
      const all = grants(rendered);
      const installCrds = 'operator' in values;
      const missing = CALL_SITES.flatMap((c) => c.needs.filter((n) => (n.when !== 'installCrds' || installCrds) && !allowed(all, n, agentNamespace)).map((n) => `${c.file} ${c.call}: ${describeNeed(n)}`));
      expect(missing).toEqual([]);
    });

    it(`grants nothing no listed call needs (${label})`, async () => {
      const rendered = await render(values);
      const needs = CALL_SITES.flatMap((c) => c.needs);
      const unused: string[] = [];
      for (const g of grants(rendered)) {
        for (const group of g.rule.apiGroups as string[]) {
          for (const resource of g.rule.resources as string[]) {
            for (const verb of g.rule.verbs as string[]) {
              const used = needs.some((n) => n.group === group && n.resource === resource && n.verb === verb && (g.namespace === undefined || scopeNamespace(n.scope, agentNamespace) === g.namespace || n.scope === 'cluster'));
              if (!used) unused.push(`${verb} ${group || 'core'}/${resource} in ${g.namespace ?? 'every namespace'}`);
            }
          }
        }
      }
      expect(unused).toEqual([]);
      // No wildcards anywhere.
      expect(JSON.stringify(grants(rendered).map((g) => g.rule))).not.toContain('"*"');
    });
  }

  it('binds the ClusterRole to the release ServiceAccount, and keeps Secret replace/delete and the Lease out of it', async () => {
    const rendered = await render();
    const binding = rendered.one('ClusterRoleBinding');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${RELEASE}-shipway` });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: `${RELEASE}-shipway`, namespace: NAMESPACE }]);
    const clusterWide = rendered.one('ClusterRole').rules as Obj[];
    for (const verb of ['update', 'delete']) expect(clusterWide.some((r) => ruleAllows(r, { group: '', resource: 'secrets', verb }))).toBe(false);
    expect(clusterWide.some((r) => (r.apiGroups as string[]).includes('coordination.k8s.io'))).toBe(false);
  });

  it('renders no RBAC objects with rbac.create=false, and uses the named ServiceAccount', async () => {
    const rendered = await render({ rbac: { create: false }, serviceAccount: { create: false, name: 'ops-sa' } });
    for (const kind of ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'ServiceAccount']) expect(rendered.all(kind)).toEqual([]);
    expect(rendered.one('Deployment').spec.template.spec.serviceAccountName).toBe('ops-sa');
  });
});
