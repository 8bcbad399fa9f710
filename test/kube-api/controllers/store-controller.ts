/**
 * The skeleton every workload controller shares: a keyed queue fed by store events and primed with the
 * objects that already exist. Subclasses say which events concern which keys and how to sync one key.
 */
import type { KubeApi } from '../api.ts';
import type { ResourceType } from '../resource-types.ts';
import type { StoreEvent } from '../store.ts';
import { WorkQueue } from './work-queue.ts';
import { keyOf } from './workload-util.ts';

export abstract class StoreController {
  protected readonly queue: WorkQueue;
  private readonly unsubscribe: () => void;

  protected constructor(
    protected readonly api: KubeApi,
    name: string,
    /** The kind this controller reconciles; its objects are the queue's keys. */
    protected readonly primary: ResourceType,
  ) {
    // Syncs run from the queue (a later tick), so subclass fields set after super() are ready by then.
    this.queue = new WorkQueue(name, (key) => this.sync(key));
    this.unsubscribe = api.store.subscribe((event) => this.onEvent(event));
    for (const object of api.list(primary, undefined)) this.queue.add(keyOf(object));
  }

  stop(): void {
    this.unsubscribe();
    this.queue.stop();
  }

  protected abstract onEvent(event: StoreEvent): void;
  protected abstract sync(key: string): void;
}
