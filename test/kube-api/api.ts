/**
 * The API semantics, independent of HTTP: create, read, list, update, patch and delete with the rules the
 * notes describe — resourceVersion and generation, status and scale subresources, optimistic concurrency,
 * finalizers, namespaces, CRD schemas, dry runs. Controllers call it directly; the HTTP layer translates.
 */
import { isDeepStrictEqual } from 'node:util';
import { BUILTIN_HOOKS, type HookContext } from './builtin-hooks.ts';
import { CrdSchema, type FieldError } from './crd-schema.ts';
import { alreadyExists, ApiError, badRequest, conflict, forbidden, invalid, methodNotAllowed, notFound } from './errors.ts';
import { carryServerMeta, generateName, initialMeta, now, validateLabels, validateName } from './object-meta.ts';
import { applyPatch, PatchError, recordUpdateManager, type PatchType } from './patch/index.ts';
import { groupVersion, type ResourceType } from './resource-types.ts';
import { formatLabelSelector } from '../../operator/src/planning/selectors.ts';
import { Store, type KubeObject } from './store.ts';
import { resourceKey, TypeRegistry } from './type-registry.ts';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: FieldValidation;
  /** Filled with warnings for the `Warning` response header. */
  warnings?: string[];
  /** The subresource the write came through (`scale` writes reach the object itself), for managedFields. */
  viaSubresource?: 'status' | 'scale';
}

export interface DeleteOptions extends WriteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
  gracePeriodSeconds?: number;
}

export type Subresource = 'status' | 'scale' | undefined;

export interface ApiOptions {
  clock?: () => Date;
  store?: Store;
}

const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
/** The one node the simulated pods run on (the workload controllers bind pods to it by this name). */
export const NODE_NAME = 'emulator-node';

/** A Ready node, as `kubectl get nodes` and DaemonSets expect a cluster to have. */
function emulatorNode(time: string): KubeObject {
  const condition = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastHeartbeatTime: time, lastTransitionTime: time });
  const resources = { cpu: '8', memory: '16Gi', pods: '110', 'ephemeral-storage': '100Gi' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: NODE_NAME, labels: { 'kubernetes.io/hostname': NODE_NAME, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'node-role.kubernetes.io/control-plane': '' } },
    spec: { podCIDR: '10.244.0.0/24', podCIDRs: ['10.244.0.0/24'] },
    status: {
      conditions: [
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: '127.0.0.1' },
        { type: 'Hostname', address: NODE_NAME },
      ],
      capacity: resources,
      allocatable: resources,
      nodeInfo: {
        machineID: '', systemUUID: '', bootID: '', kernelVersion: '6.1.0', osImage: 'Shipway Kubernetes API emulator', containerRuntimeVersion: 'emulated://1.0.0',
        kubeletVersion: 'v1.32.0', kubeProxyVersion: 'v1.32.0', operatingSystem: 'linux', architecture: 'amd64',
      },
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    },
  };
}
const CRD_GROUP = 'apiextensions.k8s.io';

export class KubeApi {
  readonly store: Store;
  readonly types = new TypeRegistry();
  readonly clock: () => Date;
  /** Compiled schemas by the CRD's schema object: a CRD update brings a new object, hence a new entry. */
  private readonly schemas = new WeakMap<object, CrdSchema>();
  private nextClusterIP = 1;
  private readonly hookContext: HookContext = {
    allocateClusterIP: () => {
      const n = this.nextClusterIP++;
      return `10.96.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
    },
  };

  constructor(options: ApiOptions = {}) {
    this.store = options.store ?? new Store();
    this.clock = options.clock ?? (() => new Date());
    // CRDs restored from a data file register their types again.
    for (const crd of this.store.list(resourceKey({ group: CRD_GROUP, plural: 'customresourcedefinitions' }))) this.registerCrd(crd);
    for (const name of SYSTEM_NAMESPACES) {
      if (!this.store.get('/namespaces', undefined, name)) this.create(this.mustType('', 'namespaces'), undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    }
    if (!this.store.get('/nodes', undefined, NODE_NAME)) {
      const nodes = this.mustType('', 'nodes');
      const node = emulatorNode(now(this.clock));
      const created = this.create(nodes, undefined, node);
      this.update(nodes, undefined, NODE_NAME, { ...created, status: node.status }, 'status');
      this.create(this.mustType('coordination.k8s.io', 'leases'), 'kube-node-lease', {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: NODE_NAME, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: NODE_NAME, uid: created.metadata.uid }] },
        spec: { holderIdentity: NODE_NAME, leaseDurationSeconds: 40, renewTime: now(this.clock).replace('Z', '.000000Z') },
      });
    }
  }

  mustType(group: string, plural: string): ResourceType {
    const t = this.types.byResource(group, plural);
    if (!t) throw new Error(`unknown resource ${group}/${plural}`);
    return t;
  }

  // ---- reads ------------------------------------------------------------------------------------------

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const object = this.store.get(resourceKey(type), scoped(type, namespace), name);
    if (!object) throw notFound(type, name);
    return structuredClone(object);
  }

  /** Stored objects, not copies; callers serialise them or clone before changing. */
  list(type: ResourceType, namespace: string | undefined): KubeObject[] {
    return this.store.list(resourceKey(type), type.namespaced ? namespace : undefined);
  }

  // ---- create -----------------------------------------------------------------------------------------

  create(type: ResourceType, namespace: string | undefined, body: KubeObject, options: WriteOptions = {}): KubeObject {
    if (type.createOnly) return this.review(type, body);
    const object = structuredClone(body);
    this.checkKind(type, object);
    object.metadata ??= {};
    if (type.namespaced) {
      if (object.metadata.namespace && namespace && object.metadata.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      object.metadata.namespace = namespace ?? object.metadata.namespace ?? 'default';
      this.requireNamespace(object.metadata.namespace);
    } else {
      delete object.metadata.namespace;
    }
    if (!object.metadata.name && object.metadata.generateName) object.metadata.name = generateName(object.metadata.generateName);
    validateName(type, object.metadata.name);
    validateLabels(type, object);
    if (this.store.get(resourceKey(type), object.metadata.namespace, object.metadata.name)) throw alreadyExists(type, object.metadata.name);
    initialMeta(object, this.clock, type.generation);
    delete object.metadata.resourceVersion;
    if (type.status && type.kind !== 'Namespace') delete object.status;
    object.apiVersion = groupVersion(type.group, type.versions[0]!);
    object.kind = type.kind;
    this.admit(type, object, undefined, options);
    if (options.fieldManager) recordUpdateManager(undefined, object, options.fieldManager, 'Update', now(this.clock));
    if (options.dryRun) return object;
    const stored = this.store.write(resourceKey(type), object, 'ADDED');
    if (type.group === CRD_GROUP && type.plural === 'customresourcedefinitions') this.registerCrd(stored);
    return structuredClone(stored);
  }

  // ---- update and patch -------------------------------------------------------------------------------

  update(type: ResourceType, namespace: string | undefined, name: string, body: KubeObject, subresource: Subresource, options: WriteOptions = {}): KubeObject {
    if (subresource === 'scale') return this.updateScale(type, namespace, name, body, options);
    const current = this.store.get(resourceKey(type), scoped(type, namespace), name);
    if (!current) throw notFound(type, name);
    const object = structuredClone(body);
    this.checkKind(type, object);
    object.metadata ??= {};
    if (object.metadata.name !== undefined && object.metadata.name !== name) {
      throw badRequest(`the name of the object (${object.metadata.name}) does not match the name on the URL (${name})`);
    }
    return this.commit(type, current, object, subresource, options);
  }

  patch(type: ResourceType, namespace: string | undefined, name: string, patchType: PatchType, body: string, subresource: Subresource, options: WriteOptions & { force?: boolean } = {}): KubeObject {
    if (subresource === 'scale') {
      const scale = this.getScale(type, namespace, name);
      const patched = this.runPatch(scale, patchType, body, { group: 'autoscaling', version: 'v1', kind: 'Scale' }, true, options);
      return this.updateScale(type, namespace, name, patched, options);
    }
    const current = this.store.get(resourceKey(type), scoped(type, namespace), name);
    if (!current && patchType !== 'application/apply-patch+yaml') throw notFound(type, name);
    const gvk = { group: type.group, version: type.versions[0]!, kind: type.kind };
    const patched = this.runPatch(current ? structuredClone(current) : undefined, patchType, body, gvk, type.strategicMerge, options);
    if (!current) return this.create(type, namespace, patched, options);
    if (patched.metadata?.name !== name) throw badRequest(`the name of the object (${patched.metadata?.name}) does not match the name on the URL (${name})`);
    return this.commit(type, current, patched, subresource, options);
  }

  private runPatch(current: KubeObject | undefined, patchType: PatchType, body: string, gvk: { group: string; version: string; kind: string }, strategic: boolean, options: WriteOptions & { force?: boolean }): KubeObject {
    try {
      return applyPatch(current, patchType, body, {
        strategicMergeAllowed: strategic,
        gvk,
        ...(options.fieldManager ? { fieldManager: options.fieldManager } : {}),
        ...(options.force ? { force: true } : {}),
        now: () => now(this.clock),
      });
    } catch (error) {
      if (error instanceof PatchError) throw new ApiError(error.code, error.reason, error.message, error.causes ? { causes: error.causes } : undefined);
      throw error;
    }
  }

  /** The heart of every update: preconditions, server-owned fields, admission, no-op detection, write. */
  private commit(type: ResourceType, current: KubeObject, object: KubeObject, subresource: Subresource, options: WriteOptions): KubeObject {
    const name = current.metadata.name as string;
    const expected = object.metadata?.resourceVersion;
    if (expected !== undefined && expected !== '' && expected !== current.metadata.resourceVersion) throw conflict(type, name);
    let next: KubeObject;
    if (subresource === 'status') {
      // A status write changes status only; everything else stays as stored.
      next = structuredClone(current);
      if (object.status === undefined) delete next.status;
      else next.status = object.status;
    } else {
      next = object;
      next.apiVersion = groupVersion(type.group, type.versions[0]!);
      next.kind = type.kind;
      carryServerMeta(next, current);
      if (type.status) {
        if (current.status === undefined) delete next.status;
        else next.status = structuredClone(current.status);
      }
      const added = (next.metadata.finalizers ?? []).filter((f: string) => !(current.metadata.finalizers ?? []).includes(f));
      if (current.metadata.deletionTimestamp && added.length > 0) {
        throw invalid(type, name, [{ field: 'metadata.finalizers', reason: 'FieldValueForbidden', message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}` }]);
      }
      validateLabels(type, next);
    }
    this.admit(type, next, current, options, subresource);
    if (type.generation && subresource !== 'status' && specChanged(current, next)) next.metadata.generation = (current.metadata.generation ?? 0) + 1;
    const via = options.viaSubresource ?? subresource;
    if (options.fieldManager) recordUpdateManager(current, next, options.fieldManager, 'Update', now(this.clock), via);
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    if (sameContent(current, next)) return structuredClone(current);
    if (options.dryRun) return next;
    if (next.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0) {
      return structuredClone(this.store.remove(resourceKey(type), next));
    }
    const stored = this.store.write(resourceKey(type), next, 'MODIFIED');
    if (type.group === CRD_GROUP && type.plural === 'customresourcedefinitions' && subresource !== 'status') this.registerCrd(stored);
    return structuredClone(stored);
  }

  // ---- scale ------------------------------------------------------------------------------------------

  getScale(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    if (!type.scale) throw notFound(type, name);
    const object = this.get(type, namespace, name);
    // Built-in workloads report their spec.selector (they have no status.selector); CRDs their labelSelectorPath.
    const selector = type.crd ? (type.scale.labelSelectorPath ? readPath(object, type.scale.labelSelectorPath) : undefined) : object.spec?.selector ? formatLabelSelector(object.spec.selector) : undefined;
    return {
      apiVersion: 'autoscaling/v1',
      kind: 'Scale',
      metadata: { name, ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}), uid: object.metadata.uid, resourceVersion: object.metadata.resourceVersion, creationTimestamp: object.metadata.creationTimestamp },
      spec: { replicas: readPath(object, type.scale.specReplicasPath) ?? 0 },
      status: { replicas: readPath(object, type.scale.statusReplicasPath) ?? 0, ...(typeof selector === 'string' ? { selector } : {}) },
    };
  }

  private updateScale(type: ResourceType, namespace: string | undefined, name: string, scale: KubeObject, options: WriteOptions): KubeObject {
    if (!type.scale) throw notFound(type, name);
    const current = this.store.get(resourceKey(type), scoped(type, namespace), name);
    if (!current) throw notFound(type, name);
    const replicas = scale?.spec?.replicas;
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw invalid({ group: 'autoscaling', plural: 'scales', kind: 'Scale' }, name, [{ field: 'spec.replicas', reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0` }]);
    }
    const next = structuredClone(current);
    if (scale.metadata?.resourceVersion) next.metadata.resourceVersion = scale.metadata.resourceVersion;
    writePath(next, type.scale.specReplicasPath, replicas);
    this.commit(type, current, next, undefined, { ...options, viaSubresource: 'scale' });
    return this.getScale(type, namespace, name);
  }

  // ---- delete -----------------------------------------------------------------------------------------

  /** Deletes, or marks for deletion while finalizers remain. Returns the object as it now stands. */
  delete(type: ResourceType, namespace: string | undefined, name: string, options: DeleteOptions = {}): { object: KubeObject; deleted: boolean } {
    const current = this.store.get(resourceKey(type), scoped(type, namespace), name);
    if (!current) throw notFound(type, name);
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== current.metadata.uid) throw conflict(type, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`);
    if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(type, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`);
    }
    const policy = options.propagationPolicy;
    const finalizers = [...(current.metadata.finalizers ?? [])] as string[];
    if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion')) finalizers.push('foregroundDeletion');
    if (policy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan');
    if (type.kind === 'Namespace' || (type.group === CRD_GROUP && type.plural === 'customresourcedefinitions')) {
      // Namespaces and CRDs are emptied by controllers before they go, as on a real cluster.
      const cleanup = type.kind === 'Namespace' ? 'kubernetes' : 'customresourcecleanup.apiextensions.k8s.io';
      if (!finalizers.includes(cleanup)) finalizers.push(cleanup);
    }
    if (finalizers.length === 0) {
      if (options.dryRun) return { object: structuredClone(current), deleted: true };
      return { object: structuredClone(this.store.remove(resourceKey(type), current)), deleted: true };
    }
    const next = structuredClone(current);
    next.metadata.finalizers = finalizers;
    if (!next.metadata.deletionTimestamp) {
      next.metadata.deletionTimestamp = now(this.clock);
      next.metadata.deletionGracePeriodSeconds = 0;
    }
    if (type.kind === 'Namespace') next.status = { ...(next.status ?? {}), phase: 'Terminating' };
    if (isDeepStrictEqual(next, current) || options.dryRun) return { object: next, deleted: false };
    return { object: structuredClone(this.store.write(resourceKey(type), next, 'MODIFIED')), deleted: false };
  }

  /** Removes one finalizer (controllers), deleting the object when it was the last one and deletion is pending. */
  removeFinalizer(type: ResourceType, object: KubeObject, finalizer: string): void {
    const current = this.store.get(resourceKey(type), object.metadata.namespace, object.metadata.name);
    if (!current || !(current.metadata.finalizers ?? []).includes(finalizer)) return;
    const next = structuredClone(current);
    next.metadata.finalizers = next.metadata.finalizers.filter((f: string) => f !== finalizer);
    if (next.metadata.finalizers.length === 0) delete next.metadata.finalizers;
    if (next.metadata.deletionTimestamp && !next.metadata.finalizers) this.store.remove(resourceKey(type), next);
    else this.store.write(resourceKey(type), next, 'MODIFIED');
  }

  // ---- helpers ----------------------------------------------------------------------------------------

  private checkKind(type: ResourceType, object: KubeObject): void {
    if (object === null || typeof object !== 'object' || Array.isArray(object)) throw badRequest('the body of the request was in an unknown format - accepted media types include: application/json, application/yaml');
    if (object.kind !== undefined && object.kind !== type.kind) {
      throw badRequest(`the API version in the data (${object.apiVersion}) does not match the expected API version (${groupVersion(type.group, type.versions[0]!)})`);
    }
    if (object.apiVersion !== undefined) {
      const [group, version] = String(object.apiVersion).includes('/') ? String(object.apiVersion).split('/') : ['', String(object.apiVersion)];
      if (group !== type.group || !type.versions.includes(version!)) {
        throw badRequest(`the API version in the data (${object.apiVersion}) does not match the expected API version (${groupVersion(type.group, type.versions[0]!)})`);
      }
    }
  }

  private requireNamespace(namespace: string): void {
    const ns = this.store.get('/namespaces', undefined, namespace);
    if (!ns) throw new ApiError(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
    if (ns.metadata.deletionTimestamp) {
      throw forbidden(`unable to create new content in namespace ${namespace} because it is being terminated`, { name: namespace, kind: 'namespaces' });
    }
  }

  /** Defaults, pruning and validation: built-in hooks, or the CRD's structural schema. */
  private admit(type: ResourceType, object: KubeObject, current: KubeObject | undefined, options: WriteOptions, subresource?: Subresource): void {
    const errors: FieldError[] = [];
    if (type.crd) {
      const schema = this.schemaFor(type);
      if (schema) {
        const unknown = schema.prune(object);
        if (unknown.length > 0 && subresource !== 'status') {
          const mode = options.fieldValidation ?? 'Warn';
          if (mode === 'Strict') {
            throw badRequest(`${type.kind} in version "${type.versions[0]}" cannot be handled as a ${type.kind}: strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`);
          }
          if (mode === 'Warn') options.warnings?.push(...unknown.map((f) => `unknown field "${f}"`));
        }
        schema.applyDefaults(object);
        errors.push(...schema.validate(object, current));
      }
    } else {
      const hooks = BUILTIN_HOOKS[type.kind];
      if (subresource !== 'status') {
        if (current) hooks?.update?.(object, current, this.hookContext);
        else hooks?.create?.(object, this.hookContext);
        errors.push(...(hooks?.validate?.(object, current) ?? []));
      }
      if (type.group === CRD_GROUP && subresource !== 'status') errors.push(...this.admitCrd(object, current));
    }
    if (errors.length > 0) throw invalid(type, object.metadata.name, errors);
  }

  private schemaFor(type: ResourceType): CrdSchema | undefined {
    const raw = type.crd?.schemas[type.versions[0]!];
    if (!raw) return undefined;
    let schema = this.schemas.get(raw);
    if (!schema) {
      schema = new CrdSchema(raw);
      this.schemas.set(raw, schema);
    }
    return schema;
  }

  private admitCrd(crd: KubeObject, current: KubeObject | undefined): FieldError[] {
    const errors: FieldError[] = [];
    const spec = crd.spec ?? {};
    const names = spec.names ?? {};
    if (!spec.group) errors.push({ field: 'spec.group', reason: 'FieldValueRequired', message: 'Required value' });
    if (!names.plural) errors.push({ field: 'spec.names.plural', reason: 'FieldValueRequired', message: 'Required value' });
    if (!names.kind) errors.push({ field: 'spec.names.kind', reason: 'FieldValueRequired', message: 'Required value' });
    if (spec.group && names.plural && crd.metadata.name !== `${names.plural}.${spec.group}`) {
      errors.push({ field: 'metadata.name', reason: 'FieldValueInvalid', message: `Invalid value: "${crd.metadata.name}": must be spec.names.plural+"."+spec.group` });
    }
    if (!['Namespaced', 'Cluster'].includes(spec.scope)) errors.push({ field: 'spec.scope', reason: 'FieldValueNotSupported', message: `Unsupported value: "${spec.scope}": supported values: "Cluster", "Namespaced"` });
    const versions = Array.isArray(spec.versions) ? spec.versions : [];
    if (versions.length === 0) errors.push({ field: 'spec.versions', reason: 'FieldValueRequired', message: 'Required value: must have exactly one version marked as storage version' });
    if (versions.filter((v: KubeObject) => v.storage).length !== 1) errors.push({ field: 'spec.versions', reason: 'FieldValueInvalid', message: 'Invalid value: must have exactly one version marked as storage version' });
    versions.forEach((v: KubeObject, i: number) => {
      const schema = v.schema?.openAPIV3Schema;
      if (!schema) {
        errors.push({ field: `spec.versions[${i}].schema.openAPIV3Schema`, reason: 'FieldValueRequired', message: 'Required value: schemas are required' });
        return;
      }
      if (schema.type !== 'object') errors.push({ field: `spec.versions[${i}].schema.openAPIV3Schema.type`, reason: 'FieldValueInvalid', message: 'Invalid value: must be object at the root' });
      try {
        new CrdSchema(schema);
      } catch (error) {
        errors.push({ field: `spec.versions[${i}].schema.openAPIV3Schema`, reason: 'FieldValueInvalid', message: `Invalid value: compilation failed: ${(error as Error).message}` });
      }
    });
    if (current && current.spec?.group !== spec.group) errors.push({ field: 'spec.group', reason: 'FieldValueInvalid', message: 'Invalid value: field is immutable' });
    if (errors.length === 0) {
      const t = this.types.byResource(spec.group, names.plural);
      if (t && !t.crd) errors.push({ field: 'spec.names.plural', reason: 'FieldValueInvalid', message: `Invalid value: "${names.plural}": the resource is served by the API server itself` });
      crd.status = {
        conditions: [
          { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: current?.status?.conditions?.[0]?.lastTransitionTime ?? now(this.clock) },
          { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: current?.status?.conditions?.[1]?.lastTransitionTime ?? now(this.clock) },
        ],
        acceptedNames: { ...names, listKind: names.listKind ?? `${names.kind}List`, singular: names.singular ?? String(names.kind).toLowerCase() },
        storedVersions: [...new Set([...(current?.status?.storedVersions ?? []), ...versions.filter((v: KubeObject) => v.storage).map((v: KubeObject) => v.name)])],
      };
    }
    return errors;
  }

  private registerCrd(crd: KubeObject): void {
    if (crd.metadata.deletionTimestamp) return;
    this.types.putCrd(crd);
  }

  /** Called by the CRD cleanup controller once the last object of the kind is gone. */
  unregisterCrd(crd: KubeObject): void {
    this.types.removeCrd(crd);
  }

  /**
   * Access reviews (`kubectl auth can-i`): the emulator authorizes every request, so every review is allowed.
   * Nothing is stored; the answer is the review with its status.
   */
  private review(type: ResourceType, body: KubeObject): KubeObject {
    if (!body || typeof body !== 'object') throw badRequest('the body of the request was in an unknown format');
    this.checkKind(type, body);
    if (type.kind === 'SelfSubjectAccessReview' || type.kind === 'SubjectAccessReview') {
      const spec = body.spec ?? {};
      if (!spec.resourceAttributes && !spec.nonResourceAttributes) {
        throw invalid(type, '', [{ field: 'spec.resourceAttributes', reason: 'FieldValueRequired', message: 'Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified' }]);
      }
      return { ...body, apiVersion: groupVersion(type.group, type.versions[0]!), kind: type.kind, metadata: { ...(body.metadata ?? {}), creationTimestamp: null }, status: { allowed: true, reason: 'the Kubernetes API emulator authorizes every request' } };
    }
    throw methodNotAllowed(`${type.kind} is not served by this emulator yet`);
  }
}

function scoped(type: ResourceType, namespace: string | undefined): string | undefined {
  return type.namespaced ? namespace : undefined;
}

function specChanged(a: KubeObject, b: KubeObject): boolean {
  const strip = ({ metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest }: KubeObject) => rest;
  return !isDeepStrictEqual(strip(a), strip(b));
}

/** Equal apart from managedFields timestamps: such a write changes nothing and must not bump resourceVersion. */
function sameContent(a: KubeObject, b: KubeObject): boolean {
  const clean = (o: KubeObject) => ({
    ...o,
    metadata: { ...o.metadata, managedFields: (o.metadata.managedFields ?? []).map(({ time: _t, ...f }: KubeObject) => f) },
  });
  return isDeepStrictEqual(clean(a), clean(b));
}

export function readPath(object: KubeObject, path: string): unknown {
  let node: unknown = object;
  for (const part of path.replace(/^\./, '').split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function writePath(object: KubeObject, path: string, value: unknown): void {
  const parts = path.replace(/^\./, '').split('.');
  let node = object;
  for (const part of parts.slice(0, -1)) node = node[part] ??= {};
  node[parts[parts.length - 1]!] = value;
}
