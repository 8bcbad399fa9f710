/**
 * OpenAPI v3 documents, one per group-version, as kubectl needs them: a path item per resource whose `patch`
 * operation declares the `fieldValidation` parameter and carries `x-kubernetes-group-version-kind` as a
 * single object; schemas per kind. CRDs: their own. Built-ins: typed schemas built from the k8s.io protobuf
 * message tables (field names and types, as `kubectl explain` shows them) with the strategic-merge keys of
 * the patch engine (`x-kubernetes-patch-merge-key`, which `kubectl apply` uses to compute its patches); a
 * loose schema for a kind without a message table.
 */
import { createHash } from 'node:crypto';
import type { ResourceType } from './resource-types.ts';
import { groupsOf } from './discovery.ts';
import { PRIMITIVE_SET, strategicMergeKeys } from './patch/index.ts';
import { messageFields, messageFor, SCALAR_MESSAGES } from './protobuf.ts';

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

// ---- typed built-in schemas ------------------------------------------------------------------------

const componentName = (message: string) => `io.k8s.${message}`;

/** The protobuf message of a built-in kind at a version, if the emulator has its table. */
function builtinMessage(t: ResourceType, version: string): string | undefined {
  if (t.crd || t.createOnly) return undefined;
  return messageFor(t.group ? `${t.group}/${version}` : version, t.kind);
}

let mergeKeyTable: Map<string, string> | undefined;

/** `message.field` → merge key (or PRIMITIVE_SET), from the patch engine's per-kind paths. */
function mergeKeys(): Map<string, string> {
  if (mergeKeyTable) return mergeKeyTable;
  const table = new Map<string, string>();
  const roots: Record<string, string> = { '*': 'api.core.v1.ConfigMap' };
  for (const kind of Object.keys(strategicMergeKeys)) {
    if (kind === '*') continue;
    const group = ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet'].includes(kind) ? 'apps/v1' : ['Job', 'CronJob'].includes(kind) ? 'batch/v1' : 'v1';
    const message = messageFor(group, kind);
    if (message) roots[kind] = message;
  }
  for (const [kind, root] of Object.entries(roots)) {
    for (const [path, key] of Object.entries(strategicMergeKeys[kind] ?? {})) {
      let message = root;
      const segments = path.split('.');
      for (const [i, segment] of segments.entries()) {
        const field = messageFields(message)?.find((f) => f.name === segment);
        if (!field) break;
        if (i === segments.length - 1) table.set(`${message}.${segment}`, key);
        else if (field.message) message = field.type;
        else break;
      }
    }
  }
  return (mergeKeyTable = table);
}

const SCALARS: Record<string, Schema> = { s: { type: 'string' }, i: { type: 'integer', format: 'int64' }, b: { type: 'boolean' }, y: { type: 'string', format: 'byte' }, d: { type: 'number', format: 'double' } };

const refTo = (message: string): Schema => SCALAR_MESSAGES[message] ? { ...SCALAR_MESSAGES[message] } : { default: {}, allOf: [{ $ref: `#/components/schemas/${componentName(message)}` }] };

/** Component schemas of `message` and every message it reaches, added to `out`. */
function addMessageSchemas(message: string, out: Record<string, Schema>): void {
  const name = componentName(message);
  if (out[name] || SCALAR_MESSAGES[message]) return;
  const fields = messageFields(message) ?? [];
  const properties: Record<string, Schema> = {};
  out[name] = { type: 'object', properties };
  const keys = mergeKeys();
  for (const f of fields) {
    const item = f.message ? refTo(f.type) : { ...SCALARS[f.type] };
    if (f.map) properties[f.name] = { type: 'object', additionalProperties: item };
    else if (f.repeated) {
      const key = keys.get(`${message}.${f.name}`);
      properties[f.name] = {
        type: 'array',
        items: item,
        ...(key === PRIMITIVE_SET
          ? { 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-list-type': 'set' }
          : key
            ? { 'x-kubernetes-patch-merge-key': key, 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': [key] }
            : { 'x-kubernetes-list-type': 'atomic' }),
      };
    } else properties[f.name] = item;
    if (f.message) addMessageSchemas(f.type, out);
  }
}

const schemaName = (t: ResourceType, version: string) => {
  const message = builtinMessage(t, version);
  if (message) return componentName(message);
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
    const message = builtinMessage(t, version);
    let schema: Schema;
    if (own) schema = { ...own, properties: { ...((own.properties as Schema) ?? {}), metadata: objectMeta } };
    else if (message) {
      addMessageSchemas(message, schemas);
      const typed = schemas[componentName(message)]!;
      schema = { ...typed, properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, ...(typed.properties as Schema) } };
    } else schema = builtinSchema(t);
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

/**
 * `/openapi/v2`: kubectl reads it (as gnostic protobuf) to validate `kind: List` manifests on the client side,
 * where the v3 documents do not apply. A document without definitions is valid: kubectl skips client-side
 * validation of kinds it finds no schema for, and the server validates each item (fieldValidation=Strict).
 */
export function openApiV2(serverVersion: string, protobuf: boolean): { body: Buffer | string; contentType: string } {
  if (!protobuf) {
    return { body: JSON.stringify({ swagger: '2.0', info: { title: 'Kubernetes', version: serverVersion }, paths: {}, definitions: {} }), contentType: 'application/json' };
  }
  // openapi.v2.Document: swagger = 1, info = 2 (title = 1, version = 2), paths = 8, definitions = 9.
  const field = (number: number, bytes: Buffer) => Buffer.concat([Buffer.from([(number << 3) | 2]), varint(bytes.length), bytes]);
  const info = Buffer.concat([field(1, Buffer.from('Kubernetes')), field(2, Buffer.from(serverVersion))]);
  const body = Buffer.concat([field(1, Buffer.from('2.0')), field(2, info), field(8, Buffer.alloc(0)), field(9, Buffer.alloc(0))]);
  return { body, contentType: 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf' };
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
