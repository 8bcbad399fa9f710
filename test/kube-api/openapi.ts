/**
 * OpenAPI v3 documents, one per group-version, as kubectl needs them: a path item per resource whose `patch`
 * operation declares the `fieldValidation` parameter and carries `x-kubernetes-group-version-kind` as a
 * single object; schemas per kind (CRDs: their own; built-ins: a loose schema that still carries the
 * strategic-merge keys of pod templates).
 */
import { createHash } from 'node:crypto';
import type { ResourceType } from './resource-types.ts';
import { groupsOf } from './discovery.ts';

type Schema = Record<string, unknown>;

const loose: Schema = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
const mergeList = (key: string, items: Schema = loose): Schema => ({
  type: 'array',
  items,
  'x-kubernetes-patch-merge-key': key,
  'x-kubernetes-patch-strategy': 'merge',
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': [key],
});

const container: Schema = {
  type: 'object',
  'x-kubernetes-preserve-unknown-fields': true,
  properties: {
    name: { type: 'string' },
    image: { type: 'string' },
    env: mergeList('name'),
    ports: mergeList('containerPort'),
    volumeMounts: mergeList('mountPath'),
  },
};

const podSpec: Schema = {
  type: 'object',
  'x-kubernetes-preserve-unknown-fields': true,
  properties: {
    containers: mergeList('name', container),
    initContainers: mergeList('name', container),
    volumes: mergeList('name'),
    imagePullSecrets: mergeList('name'),
  },
};

const objectMeta: Schema = {
  type: 'object',
  'x-kubernetes-preserve-unknown-fields': true,
  properties: {
    name: { type: 'string' },
    namespace: { type: 'string' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
    finalizers: { type: 'array', items: { type: 'string' }, 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-list-type': 'set' },
    ownerReferences: mergeList('uid'),
  },
};

const podTemplate: Schema = { type: 'object', properties: { metadata: objectMeta, spec: podSpec } };

function builtinSchema(t: ResourceType): Schema {
  const spec: Schema =
    t.kind === 'Pod'
      ? podSpec
      : ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job'].includes(t.kind)
        ? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { template: podTemplate } }
        : t.kind === 'Service'
          ? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { ports: mergeList('port') } }
          : loose;
  return {
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: objectMeta,
      spec,
      status: loose,
    },
    'x-kubernetes-preserve-unknown-fields': true,
  };
}

const schemaName = (t: ResourceType, version: string) => {
  const group = t.group ? t.group.split('.').reverse().join('.') : 'io.k8s.api.core';
  return `${group}.${version}.${t.kind}`;
};

const param = (name: string, inWhere: 'query' | 'path', schema: Schema = { type: 'string' }) => ({ name, in: inWhere, schema, ...(inWhere === 'path' ? { required: true } : {}) });

function paths(t: ResourceType, version: string): Record<string, Schema> {
  const prefix = t.group ? `/apis/${t.group}/${version}` : `/api/${version}`;
  const base = t.namespaced ? `${prefix}/namespaces/{namespace}/${t.plural}` : `${prefix}/${t.plural}`;
  const gvk = { group: t.group, version, kind: t.kind };
  const ref = { $ref: `#/components/schemas/${schemaName(t, version)}` };
  const ok = { '200': { description: 'OK', content: { 'application/json': { schema: ref } } } };
  const common = [param('dryRun', 'query'), param('fieldManager', 'query'), param('fieldValidation', 'query')];
  const op = (action: string, extra: Schema = {}) => ({ 'x-kubernetes-action': action, 'x-kubernetes-group-version-kind': gvk, responses: ok, ...extra });
  const body = { requestBody: { content: { '*/*': { schema: ref } } } };
  const patchBody = {
    requestBody: {
      content: Object.fromEntries(['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml', ...(t.strategicMerge ? ['application/strategic-merge-patch+json'] : [])].map((ct) => [ct, { schema: { type: 'object' } }])),
    },
  };
  const nameParams = [param('name', 'path'), ...(t.namespaced ? [param('namespace', 'path')] : [])];
  const out: Record<string, Schema> = {
    [base]: { get: op('list'), post: op('post', { ...body, parameters: common }), parameters: t.namespaced ? [param('namespace', 'path')] : [] },
    [`${base}/{name}`]: {
      get: op('get'),
      put: op('put', { ...body, parameters: common }),
      patch: op('patch', { ...patchBody, parameters: [...common, param('force', 'query', { type: 'boolean' })] }),
      delete: op('delete'),
      parameters: nameParams,
    },
  };
  if (t.status) {
    out[`${base}/{name}/status`] = { get: op('get'), put: op('put', { ...body, parameters: common }), patch: op('patch', { ...patchBody, parameters: common }), parameters: nameParams };
  }
  return out;
}

export function openApiDocument(types: ResourceType[], group: string, version: string, serverVersion: string): Schema {
  const served = types.filter((t) => t.group === group && t.versions.includes(version) && !t.createOnly);
  const schemas: Record<string, Schema> = {};
  const allPaths: Record<string, Schema> = {};
  for (const t of served) {
    const own = t.crd?.schemas[version];
    const schema = own ? { ...own, properties: { ...((own.properties as Schema) ?? {}), metadata: objectMeta } } : builtinSchema(t);
    schemas[schemaName(t, version)] = { ...schema, 'x-kubernetes-group-version-kind': [{ group: t.group, version, kind: t.kind }] };
    Object.assign(allPaths, paths(t, version));
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: serverVersion }, paths: allPaths, components: { schemas } };
}

/** `/openapi/v3`: where each group-version document lives, with a hash that changes with its content. */
export function openApiIndex(types: ResourceType[], serverVersion: string): Schema {
  const entries: Record<string, Schema> = {};
  for (const { group, versions } of groupsOf(types)) {
    for (const version of versions) {
      const path = group ? `apis/${group}/${version}` : `api/${version}`;
      const hash = createHash('sha512').update(JSON.stringify(openApiDocument(types, group, version, serverVersion))).digest('hex').slice(0, 128).toUpperCase();
      entries[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hash}` };
    }
  }
  return { paths: entries };
}
