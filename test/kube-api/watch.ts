/**
 * One watch response: initial ADDED events or replay from a resourceVersion, live events filtered by
 * namespace and selectors (an object that stops matching is DELETED for this watcher, one that starts
 * matching is ADDED), BOOKMARKs when asked, 410 Expired for a compacted resourceVersion, and a timeout.
 */
import type { ServerResponse } from 'node:http';
import { expired } from './errors.ts';
import type { Matcher } from './list-options.ts';
import type { KubeObject, Store, StoreEvent } from './store.ts';

export interface WatchOptions {
  store: Store;
  resource: string;
  matches: Matcher;
  present: (object: KubeObject) => unknown;
  resourceVersion: string;
  sendInitialEvents: boolean;
  bookmarks: boolean;
  bookmarkIntervalMs: number;
  bookmarkObject: (rv: string) => KubeObject;
  initialObjects: () => KubeObject[];
  timeoutMs: number;
}

export class WatchStream {
  private closed = false;
  private unsubscribe?: () => void;
  private timers: NodeJS.Timeout[] = [];
  private readonly closeListeners: (() => void)[] = [];
  private lastRv: number;

  constructor(
    private readonly res: ServerResponse,
    private readonly o: WatchOptions,
  ) {
    this.lastRv = o.store.resourceVersion;
  }

  start(): void {
    const { res, o } = this;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    // Clean up when the client goes away: the response's close, not the request's (see the notes).
    res.on('close', () => this.close());

    const rv = o.resourceVersion;
    const fromScratch = rv === '' || rv === '0' || o.sendInitialEvents;
    if (fromScratch) {
      for (const object of o.initialObjects()) this.send('ADDED', object);
      if (o.sendInitialEvents && o.bookmarks) {
        const mark = o.bookmarkObject(String(o.store.resourceVersion));
        mark.metadata.annotations = { 'k8s.io/initial-events-end': 'true' };
        this.write({ type: 'BOOKMARK', object: mark });
      }
      this.lastRv = o.store.resourceVersion;
    } else {
      const from = Number(rv);
      if (!Number.isFinite(from)) {
        this.write({ type: 'ERROR', object: expired(`invalid resource version: ${rv}`).toStatus() });
        this.close();
        return;
      }
      const events = o.store.eventsSince(from);
      if (!events) {
        this.write({ type: 'ERROR', object: expired(`too old resource version: ${from} (${o.store.oldestResumableRevision})`).toStatus() });
        this.close();
        return;
      }
      for (const event of events) this.deliver(event);
      this.lastRv = Math.max(from, o.store.resourceVersion);
    }
    this.unsubscribe = o.store.subscribe((event) => this.deliver(event));
    if (o.bookmarks) {
      this.timers.push(setInterval(() => this.write({ type: 'BOOKMARK', object: o.bookmarkObject(String(this.lastRv)) }), o.bookmarkIntervalMs));
    }
    this.timers.push(setTimeout(() => this.close(), o.timeoutMs));
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    for (const t of this.timers) clearTimeout(t);
    if (!this.res.writableEnded) this.res.end();
    for (const l of this.closeListeners) l();
  }

  private deliver(event: StoreEvent): void {
    if (event.resource !== this.o.resource) return;
    this.lastRv = event.rv;
    const now = this.o.matches(event.object);
    if (event.type === 'MODIFIED') {
      const before = event.previous ? this.o.matches(event.previous) : true;
      if (now && before) this.send('MODIFIED', event.object);
      else if (now) this.send('ADDED', event.object);
      else if (before) this.send('DELETED', event.object);
      return;
    }
    if (now) this.send(event.type, event.object);
  }

  private send(type: string, object: KubeObject): void {
    this.write({ type, object: this.o.present(object) });
  }

  private write(event: unknown): void {
    if (this.closed || this.res.writableEnded) return;
    this.res.write(`${JSON.stringify(event)}\n`);
  }
}
