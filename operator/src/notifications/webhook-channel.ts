/** Generic webhook: the event as JSON, keyed by the delivery so a receiver can drop a repeat. */
import type { DeliveryEvent, NotifiedRelease } from '../planning/notification-plan.ts';
import { DeliveryError, type ChannelSender } from './channel-sender.ts';
import { postJson } from './json-post.ts';

/** The request body a webhook channel receives. */
export interface WebhookChannelBody {
  event: DeliveryEvent;
  release: NotifiedRelease;
  environment?: string;
  text: string;
  recipients: string[];
}

export function createWebhookSender(): ChannelSender {
  return async (delivery, options) => {
    const hook = delivery.channel.webhook;
    if (!hook) throw new DeliveryError(`channel ${delivery.channel.name} has no webhook block`, true);
    const headers = new Headers();
    for (const [name, value] of Object.entries(hook.headers ?? {})) {
      try {
        headers.set(name, value);
      } catch {
        // Named, not quoted: the value is often a secret.
        throw new DeliveryError(`webhook header ${JSON.stringify(name)} is not a valid HTTP header`, true);
      }
    }
    // Ours win over the channel's: the receiver relies on it.
    headers.set('idempotency-key', delivery.key);
    const { release, environment, text, recipients, event } = delivery;
    const body: WebhookChannelBody = {
      event,
      release: { namespace: release.namespace, name: release.name, project: release.project, version: release.version },
      ...(environment ? { environment } : {}),
      text,
      recipients,
    };
    await postJson({ url: hook.url, method: hook.method ?? 'POST', headers, body }, options);
  };
}
