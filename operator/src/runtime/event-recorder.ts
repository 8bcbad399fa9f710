/**
 * Kubernetes Events for state changes, so `kubectl describe` tells the story. Core v1 Events (what
 * `kubectl describe` lists by involvedObject); a repeat of the same event for the same object within ten
 * minutes raises `count` on the existing Event instead of creating another, as client-go's recorder does.
 */
import { ApiException, CoreV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { kubeTime } from '../api/kube-time.ts';

export type EventType = 'Normal' | 'Warning';

interface Recent {
  name: string;
  namespace: string;
  count: number;
  at: number;
}

const AGGREGATE_WINDOW_MS = 10 * 60_000;

export class EventRecorder {
  private readonly api: CoreV1Api;
  private readonly recent = new Map<string, Recent>();

  constructor(
    kubeConfig: KubeConfig,
    private readonly component: string,
    private readonly instance: string,
    private readonly onError: (error: unknown) => void = () => {},
    private readonly now: () => Date = () => new Date(),
  ) {
    this.api = kubeConfig.makeApiClient(CoreV1Api);
  }

  /** Never throws: an event that cannot be written must not fail the reconcile that emits it. */
  async record(object: KubernetesObject, type: EventType, reason: string, message: string): Promise<void> {
    try {
      await this.write(object, type, reason, message);
    } catch (error) {
      this.onError(error);
    }
  }

  private async write(object: KubernetesObject, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = object.metadata?.namespace ?? 'default';
    const key = `${object.metadata?.uid}|${type}|${reason}|${message}`;
    const now = this.now();
    const previous = this.recent.get(key);
    if (previous && now.getTime() - previous.at < AGGREGATE_WINDOW_MS) {
      try {
        const count = previous.count + 1;
        await this.api.patchNamespacedEvent({
          name: previous.name,
          namespace: previous.namespace,
          body: [
            { op: 'replace', path: '/count', value: count },
            { op: 'replace', path: '/lastTimestamp', value: kubeTime(now) },
          ],
        });
        this.recent.set(key, { ...previous, count, at: now.getTime() });
        return;
      } catch (error) {
        // The earlier Event expired or was deleted: write a new one.
        if (!(error instanceof ApiException && error.code === 404)) throw error;
      }
    }
    const stamp = kubeTime(now);
    const created = await this.api.createNamespacedEvent({
      namespace,
      body: {
        metadata: { generateName: `${object.metadata?.name}.`, namespace },
        involvedObject: {
          apiVersion: object.apiVersion,
          kind: object.kind,
          name: object.metadata?.name,
          namespace: object.metadata?.namespace,
          uid: object.metadata?.uid,
          resourceVersion: object.metadata?.resourceVersion,
        },
        type,
        reason,
        message: message.slice(0, 1024),
        source: { component: this.component },
        reportingComponent: this.component,
        reportingInstance: this.instance,
        firstTimestamp: stamp as never,
        lastTimestamp: stamp as never,
        count: 1,
      },
    });
    this.recent.set(key, { name: created.metadata!.name!, namespace, count: 1, at: now.getTime() });
    if (this.recent.size > 10_000) this.recent.delete(this.recent.keys().next().value!);
  }
}
