/**
 * Object storage with one global resourceVersion counter and a bounded event log: the log lets a watch
 * resume from a resourceVersion, and a resourceVersion older than the log answers 410 Expired.
 */
export type KubeObject = Record<string, any>;
export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  /** `group/plural`, e.g. `apps/deployments` or `/configmaps`. */
  resource: string;
  object: KubeObject;
  /** For MODIFIED: the object before, so watchers can tell when it stops or starts matching a selector. */
  previous?: KubeObject;
  rv: number;
}

const keyOf = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;

export class Store {
  private revision: number;
  private readonly byResource = new Map<string, Map<string, KubeObject>>();
  private readonly log: StoreEvent[] = [];
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private compactedThrough: number;

  constructor(private readonly logCapacity = 10_000, initialRevision = 1000) {
    this.revision = initialRevision;
    this.compactedThrough = initialRevision;
  }

  get resourceVersion(): number {
    return this.revision;
  }

  /** Events after this revision are still in the log; a watch from an older one must be told 410. */
  get oldestResumableRevision(): number {
    return this.compactedThrough;
  }

  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.byResource.get(resource)?.get(keyOf(namespace, name));
  }

  /** Stored objects (not copies: callers must not mutate), in namespace/name order. */
  list(resource: string, namespace?: string): KubeObject[] {
    const all = [...(this.byResource.get(resource)?.entries() ?? [])];
    all.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const objects = all.map(([, o]) => o);
    return namespace === undefined ? objects : objects.filter((o) => o.metadata.namespace === namespace);
  }

  resources(): string[] {
    return [...this.byResource.keys()];
  }

  /** Stores `object` under a new resourceVersion (set on the object) and emits the event. */
  write(resource: string, object: KubeObject, type: 'ADDED' | 'MODIFIED'): KubeObject {
    const map = this.byResource.get(resource) ?? new Map<string, KubeObject>();
    this.byResource.set(resource, map);
    const key = keyOf(object.metadata.namespace, object.metadata.name);
    const previous = map.get(key);
    const rv = ++this.revision;
    object.metadata.resourceVersion = String(rv);
    map.set(key, object);
    this.emit({ type, resource, object, ...(previous ? { previous } : {}), rv });
    return object;
  }

  /** Removes the object; the DELETED event carries a new resourceVersion, as a real server does. */
  remove(resource: string, object: KubeObject): KubeObject {
    const map = this.byResource.get(resource);
    map?.delete(keyOf(object.metadata.namespace, object.metadata.name));
    const rv = ++this.revision;
    const deleted = { ...object, metadata: { ...object.metadata, resourceVersion: String(rv) } };
    this.emit({ type: 'DELETED', resource, object: deleted, rv });
    return deleted;
  }

  /** Events with rv > `after`, or undefined when some of them are no longer in the log. */
  eventsSince(after: number): StoreEvent[] | undefined {
    if (after < this.compactedThrough) return undefined;
    return this.log.filter((e) => e.rv > after);
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Drops the event log up to now, as etcd compaction does: older watches get 410. */
  compact(): void {
    this.log.length = 0;
    this.compactedThrough = this.revision;
  }

  private emit(event: StoreEvent): void {
    this.log.push(event);
    if (this.log.length > this.logCapacity) {
      const dropped = this.log.splice(0, this.log.length - this.logCapacity);
      this.compactedThrough = dropped[dropped.length - 1]!.rv;
    }
    for (const listener of [...this.listeners]) listener(event);
  }

  snapshot(): { revision: number; objects: Record<string, KubeObject[]> } {
    return { revision: this.revision, objects: Object.fromEntries([...this.byResource].map(([r, m]) => [r, [...m.values()]])) };
  }

  restore(data: { revision: number; objects: Record<string, KubeObject[]> }): void {
    this.byResource.clear();
    for (const [resource, objects] of Object.entries(data.objects)) {
      this.byResource.set(resource, new Map(objects.map((o) => [keyOf(o.metadata.namespace, o.metadata.name), o])));
    }
    this.revision = data.revision;
    this.compact();
  }
}
