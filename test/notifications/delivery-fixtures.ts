/** Deliveries as the planner makes them, for the notifier and channel tests. */
import type { NotificationChannel } from '../../operator/src/api/notifications.ts';
import type { Delivery } from '../../operator/src/planning/notification-plan.ts';

export const release = { namespace: 'shop', name: 'shop-1-2-0', project: 'shop', version: '1.2.0' };

export function delivery(channel: NotificationChannel, fields: Partial<Delivery> = {}): Delivery {
  return {
    key: `uid-1/release_start/${channel.name}/0`,
    event: 'release_start',
    channel,
    recipients: [],
    text: 'Release started\nProject: shop\nVersion: 1.2.0',
    release,
    environment: 'prod',
    ...fields,
  };
}

export const webhookChannel = (url: string, fields: Partial<NonNullable<NotificationChannel['webhook']>> = {}): NotificationChannel => ({
  name: 'hook',
  type: 'webhook',
  webhook: { url, method: 'POST', ...fields },
});

/** A sleep that returns at once and remembers how long it was asked to wait. */
export function recordingSleep(): { sleep: (ms: number, signal: AbortSignal) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    sleep: async (ms, signal) => {
      if (signal.aborted) throw signal.reason;
      waits.push(ms);
    },
  };
}
