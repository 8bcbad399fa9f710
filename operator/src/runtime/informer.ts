/**
 * A list-then-watch cache of one resource kind, on @kubernetes/client-node's `Watch`. The library's
 * `makeInformer` is not used because a watch failure must never end the process and a 410 Expired must
 * re-list and carry on: here every end of a watch leads to a new watch from the last resourceVersion
 * (bookmarks keep it fresh), and 410 or an error leads to a re-list with backoff, which also emits
 * DELETED for objects that vanished meanwhile. Handlers only see events; controllers enqueue keys.
 */
import { CustomObjectsApi, KubernetesObjectApi, Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';

export type InformerEvent = 'ADDED' | 'MODIFIED' | 'DELETED';
export type KubeObject = KubernetesObject & { [key: string]: unknown };

export interface InformerOptions {
  kubeConfig: KubeConfig;
  apiVersion: string;
  kind: string;
  plural: string;
  /** Watch one namespace; all namespaces when absent. */
  namespace?: string;
  labelSelector?: string;
  onEvent: (type: InformerEvent, object: KubeObject) => void;
  onError?: (error: unknown) => void;
  /** Server-side watch timeout; the watch is then resumed from the last resourceVersion. */
  watchTimeoutSeconds?: number;
  relistBaseDelayMs?: number;
  relistMaxDelayMs?: number;
  pageSize?: number;
}

export const objectKey = (o: KubernetesObject) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export class Informer {
  private readonly cache = new Map<string, KubeObject>();
  private readonly client: KubernetesObjectApi;
  private readonly custom: CustomObjectsApi;
  private readonly watcher: Watch;
  private resourceVersion = '';
  private abort?: AbortController;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private failures = 0;
  private synced = false;
  /** Counts of lists and watches, for tests and metrics. */
  readonly stats = { lists: 0, watches: 0, expired: 0 };

  constructor(private readonly o: InformerOptions) {
    this.client = o.kubeConfig.makeApiClient(KubernetesObjectApi);
    this.custom = o.kubeConfig.makeApiClient(CustomObjectsApi);
    this.watcher = new Watch(o.kubeConfig);
  }

  /** Resolves after the first successful list; later failures are retried in the background. */
  async start(): Promise<void> {
    await this.relist();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort?.abort();
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.cache.get(`${namespace ?? ''}/${name}`);
  }

  list(): KubeObject[] {
    return [...this.cache.values()];
  }

  private get path(): string {
    const [group, version] = this.o.apiVersion.includes('/') ? this.o.apiVersion.split('/') : ['', this.o.apiVersion];
    const prefix = group ? `/apis/${group}/${version}` : `/api/${version}`;
    return this.o.namespace ? `${prefix}/namespaces/${this.o.namespace}/${this.o.plural}` : `${prefix}/${this.o.plural}`;
  }

  /**
   * One page of the list. Kinds of an API group are listed through CustomObjectsApi, which returns the raw
   * list: KubernetesObjectApi.list turns a custom resource list's metadata into ObjectMeta and drops its
   * `continue` token, so only the first page would ever be read (a restarted operator saw 500 of 1000
   * Releases). Core kinds keep the typed list, whose ListMeta carries the token.
   */
  private async listPage(token: string | undefined): Promise<{ items: KubeObject[]; continue?: string; resourceVersion?: string }> {
    const limit = this.o.pageSize ?? 500;
    const [group, version] = this.o.apiVersion.includes('/') ? this.o.apiVersion.split('/') as [string, string] : [undefined, this.o.apiVersion];
    if (group) {
      const query = { group, version, plural: this.o.plural, limit, ...(token ? { _continue: token } : {}), ...(this.o.labelSelector ? { labelSelector: this.o.labelSelector } : {}) };
      const list = (this.o.namespace
        ? await this.custom.listNamespacedCustomObject({ ...query, namespace: this.o.namespace })
        : await this.custom.listClusterCustomObject(query)) as { items?: KubeObject[]; metadata?: { continue?: string; resourceVersion?: string } };
      return { items: list.items ?? [], ...(list.metadata?.continue ? { continue: list.metadata.continue } : {}), ...(list.metadata?.resourceVersion ? { resourceVersion: list.metadata.resourceVersion } : {}) };
    }
    const page = await this.client.list<KubeObject>(this.o.apiVersion, this.o.kind, this.o.namespace, undefined, undefined, undefined, undefined, this.o.labelSelector, limit, token);
    return { items: page.items, ...(page.metadata?._continue ? { continue: page.metadata._continue } : {}), ...(page.metadata?.resourceVersion ? { resourceVersion: page.metadata.resourceVersion } : {}) };
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    try {
      this.stats.lists++;
      const seen = new Map<string, KubeObject>();
      let token: string | undefined;
      let rv = '';
      do {
        const page = await this.listPage(token);
        for (const item of page.items) seen.set(objectKey(item), { ...item, apiVersion: this.o.apiVersion, kind: this.o.kind });
        token = page.continue;
        rv = page.resourceVersion ?? rv;
      } while (token);
      for (const [key, old] of this.cache) {
        if (!seen.has(key)) {
          this.cache.delete(key);
          this.emit('DELETED', old);
        }
      }
      for (const [key, object] of seen) {
        const old = this.cache.get(key);
        this.cache.set(key, object);
        if (!old) this.emit('ADDED', object);
        else if (old.metadata?.resourceVersion !== object.metadata?.resourceVersion) this.emit('MODIFIED', object);
      }
      this.resourceVersion = rv;
      this.synced = true;
      this.failures = 0;
      await this.watch();
    } catch (error) {
      this.o.onError?.(error);
      this.retryList();
    }
  }

  private retryList(): void {
    if (this.stopped) return;
    this.failures++;
    const base = this.o.relistBaseDelayMs ?? 500;
    const delay = Math.min(this.o.relistMaxDelayMs ?? 30_000, base * 2 ** (this.failures - 1)) * (1 + Math.random() * 0.2);
    this.timer = setTimeout(() => void this.relist(), delay);
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    let expired = false;
    this.stats.watches++;
    this.abort = await this.watcher.watch(
      this.path,
      { resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: this.o.watchTimeoutSeconds ?? 300, ...(this.o.labelSelector ? { labelSelector: this.o.labelSelector } : {}) },
      (type, object: KubeObject) => {
        if (type === 'ERROR') {
          // 410 Expired: the resourceVersion is gone from the server's history; only a re-list helps.
          expired = (object as { code?: number }).code === 410;
          if (expired) this.stats.expired++;
          return;
        }
        const rv = object?.metadata?.resourceVersion;
        if (rv) this.resourceVersion = rv;
        if (type === 'BOOKMARK') return;
        const key = objectKey(object);
        const full = { ...object, apiVersion: this.o.apiVersion, kind: this.o.kind };
        if (type === 'DELETED') {
          this.cache.delete(key);
          this.emit('DELETED', full);
        } else if (type === 'ADDED' || type === 'MODIFIED') {
          this.cache.set(key, full);
          this.emit(type, full);
        }
      },
      (error) => {
        if (this.stopped) return;
        if (expired) {
          void this.relist();
        } else if (error) {
          this.o.onError?.(error);
          this.retryList();
        } else {
          void this.watch().catch((e) => {
            this.o.onError?.(e);
            this.retryList();
          });
        }
      },
    );
  }

  private emit(type: InformerEvent, object: KubeObject): void {
    try {
      this.o.onEvent(type, object);
    } catch (error) {
      this.o.onError?.(error);
    }
  }
}
