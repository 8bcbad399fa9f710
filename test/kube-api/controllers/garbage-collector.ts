/**
 * Owner-reference garbage collection, namespace deletion and CRD cleanup: the controllers every cluster
 * runs so that deletes cascade. Level-based: on any event they re-check what is pending, so nothing
 * depends on seeing one particular event.
 */
import type { KubeApi } from '../api.ts';
import { ApiError } from '../errors.ts';
import type { ResourceType } from '../resource-types.ts';
import type { KubeObject } from '../store.ts';
import { resourceKey } from '../type-registry.ts';

const CRD_CLEANUP = 'customresourcecleanup.apiextensions.k8s.io';

export class GarbageCollector {
  private scheduled = false;
  private stopped = false;
  private full = true;
  /** uids deleted since the last pass: their dependents may now be orphans. */
  private readonly gone = new Set<string>();
  /** Objects being deleted that wait for a controller (finalizers we own): revisited on every pass. */
  private readonly deleting = new Map<string, { resource: string; namespace?: string; name: string }>();
  private readonly unsubscribe: () => void;

  constructor(private readonly api: KubeApi) {
    this.unsubscribe = api.store.subscribe((event) => {
      const meta = event.object.metadata;
      if (event.type === 'DELETED') {
        this.gone.add(meta.uid);
        this.deleting.delete(meta.uid);
      } else if (meta.deletionTimestamp) {
        this.deleting.set(meta.uid, { resource: event.resource, namespace: meta.namespace, name: meta.name });
      } else if (event.type === 'ADDED' && (meta.ownerReferences ?? []).length > 0) {
        // A dependent created after its owner went is collected as well.
        this.full = true;
      } else if (this.deleting.size === 0) {
        return;
      }
      this.schedule();
    });
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.stopped) this.sweep();
    });
  }

  /** Collects orphans and advances pending deletions; each write triggers another pass until nothing is left. */
  sweep(): void {
    const needScan = this.full || this.gone.size > 0 || this.deleting.size > 0;
    if (!needScan) return;
    // Clear before scanning: deletions made by this pass add to `gone` again and need the next pass.
    this.full = false;
    this.gone.clear();
    const all = this.everything();
    const uids = new Set(all.map(({ object }) => object.metadata.uid as string));
    for (const { type, object } of all) {
      if (object.metadata.deletionTimestamp) {
        this.deleting.set(object.metadata.uid, { resource: resourceKey(type), namespace: object.metadata.namespace, name: object.metadata.name });
        this.finishDeletion(type, object, all);
        continue;
      }
      const owners = (object.metadata.ownerReferences ?? []) as KubeObject[];
      if (owners.length > 0 && owners.every((o) => !uids.has(o.uid))) this.tryDelete(type, object, 'Background');
    }
  }

  private finishDeletion(type: ResourceType, object: KubeObject, all: { type: ResourceType; object: KubeObject }[]): void {
    const finalizers = (object.metadata.finalizers ?? []) as string[];
    const dependents = all.filter(({ object: d }) => (d.metadata.ownerReferences ?? []).some((r: KubeObject) => r.uid === object.metadata.uid));
    if (finalizers.includes('orphan')) {
      for (const d of dependents) {
        const next = structuredClone(d.object);
        next.metadata.ownerReferences = next.metadata.ownerReferences.filter((r: KubeObject) => r.uid !== object.metadata.uid);
        if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences;
        this.quietly(() => this.api.update(d.type, d.object.metadata.namespace, d.object.metadata.name, next, undefined, {}));
      }
      this.api.removeFinalizer(type, object, 'orphan');
      return;
    }
    if (finalizers.includes('foregroundDeletion')) {
      // Dependents go first (themselves in the foreground); the owner goes once none is left.
      for (const d of dependents) if (!d.object.metadata.deletionTimestamp) this.tryDelete(d.type, d.object, 'Foreground');
      if (dependents.length === 0) this.api.removeFinalizer(type, object, 'foregroundDeletion');
      return;
    }
    if (type.kind === 'Namespace' && finalizers.includes('kubernetes')) {
      const contents = all.filter(({ type: t, object: o }) => t.namespaced && o.metadata.namespace === object.metadata.name);
      for (const c of contents) if (!c.object.metadata.deletionTimestamp) this.tryDelete(c.type, c.object, 'Background');
      if (contents.length === 0) {
        const next = structuredClone(object);
        next.spec = { ...(next.spec ?? {}), finalizers: [] };
        this.quietly(() => this.api.update(type, undefined, object.metadata.name, next, undefined, {}));
        this.api.removeFinalizer(type, object, 'kubernetes');
      }
      return;
    }
    if (type.kind === 'CustomResourceDefinition' && finalizers.includes(CRD_CLEANUP)) {
      const defined = this.api.types.byResource(object.spec.group, object.spec.names.plural);
      const instances = defined?.crd ? this.api.list(defined, undefined) : [];
      for (const i of [...instances]) this.forceRemove(defined!, i);
      if (defined?.crd) this.api.unregisterCrd(object);
      this.api.removeFinalizer(type, object, CRD_CLEANUP);
    }
  }

  /** CRD deletion removes its objects outright, finalizers or not, as the real cleanup does. */
  private forceRemove(type: ResourceType, object: KubeObject): void {
    this.api.store.remove(resourceKey(type), object);
  }

  private tryDelete(type: ResourceType, object: KubeObject, policy: 'Background' | 'Foreground'): void {
    this.quietly(() => this.api.delete(type, object.metadata.namespace, object.metadata.name, { propagationPolicy: policy }));
  }

  /** The object may have changed or gone since this pass read it; the next pass sees the new state. */
  private quietly(work: () => unknown): void {
    try {
      work();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
    }
  }

  private everything(): { type: ResourceType; object: KubeObject }[] {
    const out: { type: ResourceType; object: KubeObject }[] = [];
    for (const type of this.api.types.all()) {
      if (type.createOnly) continue;
      for (const object of this.api.list(type, undefined)) out.push({ type, object });
    }
    return out;
  }
}
