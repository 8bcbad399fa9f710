/**
 * The leading replica labels its own pod `shipway.dev/leader=true` (and every other replica removes the label
 * from its own), so a Service selecting that label — the chart's agent Service — sends agents only to the
 * replica that serves them. Without it a UDP Service spreads agents over standbys that do not listen, and
 * connection tracking can pin an agent to one for as long as it keeps retrying.
 *
 * The pod is named by the downward API (POD_NAME, POD_NAMESPACE); outside a pod there is nothing to label.
 */
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { apiErrorMessage } from '../kubernetes/api-errors.ts';

export const LEADER_LABEL = 'shipway.dev/leader';

export interface PodRef {
  namespace: string;
  name: string;
}

export class LeaderPodLabel {
  private readonly core: CoreV1Api;
  /** One write at a time, the last one wins: leading changes faster than the API may answer. */
  private writing: Promise<void> = Promise.resolve();

  constructor(kubeConfig: KubeConfig, private readonly pod: PodRef, private readonly log: (line: string) => void) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  /** Sets or removes the label; failures are logged (agents then reach the leader later), never thrown. */
  set(leading: boolean): Promise<void> {
    this.writing = this.writing.then(async () => {
      try {
        await this.core.patchNamespacedPod(
          { namespace: this.pod.namespace, name: this.pod.name, body: { metadata: { labels: { [LEADER_LABEL]: leading ? 'true' : null } } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      } catch (error) {
        this.log(`pod ${this.pod.namespace}/${this.pod.name}: could not ${leading ? 'set' : 'remove'} label ${LEADER_LABEL}: ${apiErrorMessage(error)}`);
      }
    });
    return this.writing;
  }
}
