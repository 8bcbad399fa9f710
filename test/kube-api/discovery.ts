/** Discovery documents: legacy (/api, /apis, per group-version) and aggregated (apidiscovery.k8s.io v2, v2beta1). */
import type { ResourceType } from './resource-types.ts';

const SUBRESOURCE_VERBS = ['get', 'patch', 'update'];

/** The media type a client asked for, when it accepts aggregated discovery. */
export function aggregatedDiscoveryVersion(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(',')) {
    if (!part.includes('as=APIGroupDiscoveryList') || !part.includes('g=apidiscovery.k8s.io')) continue;
    if (/v=v2beta1\b/.test(part)) return 'v2beta1';
    if (/v=v2\b/.test(part)) return 'v2';
  }
  return undefined;
}

export const aggregatedContentType = (version: 'v2' | 'v2beta1') => `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`;

interface GroupVersions {
  group: string;
  versions: string[];
}

/** Groups in a stable order, core first, each with its served versions (preferred first). */
export function groupsOf(types: ResourceType[]): GroupVersions[] {
  const byGroup = new Map<string, string[]>();
  for (const t of types) {
    const versions = byGroup.get(t.group) ?? [];
    for (const v of t.versions) if (!versions.includes(v)) versions.push(v);
    byGroup.set(t.group, versions);
  }
  return [...byGroup].map(([group, versions]) => ({ group, versions }));
}

function resourceEntries(t: ResourceType, version: string): Record<string, unknown>[] {
  const main = {
    name: t.plural,
    singularName: t.singular,
    namespaced: t.namespaced,
    kind: t.kind,
    verbs: t.verbs,
    ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
    ...(t.categories.length ? { categories: t.categories } : {}),
    storageVersionHash: Buffer.from(`${t.group}/${version}/${t.kind}`).toString('base64').slice(0, 11),
  };
  const subs: Record<string, unknown>[] = [];
  if (t.status) subs.push({ name: `${t.plural}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: SUBRESOURCE_VERBS });
  if (t.scale) subs.push({ name: `${t.plural}/scale`, singularName: '', namespaced: t.namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: SUBRESOURCE_VERBS });
  if (t.kind === 'Namespace') subs.push({ name: 'namespaces/finalize', singularName: '', namespaced: false, kind: 'Namespace', verbs: ['update'] });
  return [main, ...subs];
}

export function apiResourceList(types: ResourceType[], group: string, version: string): Record<string, unknown> {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: types.filter((t) => t.group === group && t.versions.includes(version)).flatMap((t) => resourceEntries(t, version)),
  };
}

export function apiGroup(group: GroupVersions): Record<string, unknown> {
  const versions = group.versions.map((v) => ({ groupVersion: `${group.group}/${v}`, version: v }));
  return { kind: 'APIGroup', apiVersion: 'v1', name: group.group, versions, preferredVersion: versions[0] };
}

export function apiGroupList(types: ResourceType[]): Record<string, unknown> {
  const groups = groupsOf(types).filter((g) => g.group !== '');
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map((g) => { const { kind: _k, apiVersion: _a, ...rest } = apiGroup(g); return rest; }) };
}

export function apiVersions(serverAddress: string): Record<string, unknown> {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

export function aggregatedDiscovery(types: ResourceType[], legacy: boolean, version: 'v2' | 'v2beta1'): Record<string, unknown> {
  const groups = groupsOf(types).filter((g) => (legacy ? g.group === '' : g.group !== ''));
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items: groups.map((g) => ({
      metadata: { name: g.group, creationTimestamp: null },
      versions: g.versions.map((v) => ({
        version: v,
        freshness: 'Current',
        resources: types
          .filter((t) => t.group === g.group && t.versions.includes(v))
          .map((t) => ({
            resource: t.plural,
            responseKind: { group: t.group, version: v, kind: t.kind },
            scope: t.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: t.singular,
            verbs: t.verbs,
            ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
            ...(t.categories.length ? { categories: t.categories } : {}),
            ...(t.status || t.scale
              ? {
                  subresources: [
                    ...(t.status ? [{ subresource: 'status', responseKind: { group: t.group, version: v, kind: t.kind }, verbs: SUBRESOURCE_VERBS }] : []),
                    ...(t.scale ? [{ subresource: 'scale', responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: SUBRESOURCE_VERBS }] : []),
                  ],
                }
              : {}),
          })),
      })),
    })),
  };
}
