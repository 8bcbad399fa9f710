/**
 * Sends planned deliveries: each on its own and all at once, each retried with exponential backoff and
 * bounded per request. It never throws: a failed notification is reported, it never fails a release. What
 * it reports and what it sends to people goes through the Masker, so no secret leaves in an error or a
 * message.
 */
import type { ChannelType } from '../api/notifications.ts';
import type { Delivery } from '../planning/notification-plan.ts';
import { sleep as abortableSleep } from '../runtime/sleep.ts';
import { DeliveryError, type ChannelSender } from './channel-sender.ts';
import { createDingTalkSender } from './dingtalk-channel.ts';
import { createEmailSender } from './email-channel.ts';
import { createWebhookSender } from './webhook-channel.ts';
import { createWeComSender } from './wecom-channel.ts';

export interface NotifierOptions {
  /** A Masker (planning/masking.ts) of the secrets in play. */
  mask: (text: string) => string;
  /** Bound on one request (one SMTP conversation). */
  requestTimeoutMs?: number;
  /** Waits between tries; replaced in tests. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface SendPolicy {
  /** Tries per delivery, the first included. */
  attempts: number;
  /** Wait before the second try; doubles after each failure. */
  backoffSeconds: number;
  signal: AbortSignal;
}

export interface DeliveryResult {
  key: string;
  channel: string;
  ok: boolean;
  /** Tries made. */
  attempts: number;
  /** Why the last try failed, masked. */
  error?: string;
  /** The failure was one no retry fixes (so none was made). */
  permanent?: boolean;
}

export interface Notifier {
  /** One result per delivery, in their order; never rejects. */
  send(deliveries: readonly Delivery[], policy: SendPolicy): Promise<DeliveryResult[]>;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Doubling stops here: ten tries from 600 s would otherwise wait some 42 hours for the last one. */
const MAX_BACKOFF_MS = 15 * 60_000;

export function createNotifier(options: NotifierOptions): Notifier {
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const wait = options.sleep ?? abortableSleep;
  const senders: Record<ChannelType, ChannelSender> = {
    dingtalk: createDingTalkSender(),
    wecom: createWeComSender(),
    email: createEmailSender(),
    webhook: createWebhookSender(),
  };
  const mask = (text: string): string => {
    try {
      return options.mask(text);
    } catch {
      return '(a message that could not be masked)';
    }
  };

  async function deliver(delivery: Delivery, policy: SendPolicy): Promise<DeliveryResult> {
    const attempts = Math.max(1, Math.floor(policy.attempts) || 1);
    const outgoing: Delivery = { ...delivery, text: mask(delivery.text), ...(delivery.subject === undefined ? {} : { subject: mask(delivery.subject) }) };
    const result = (tries: number, error?: string, permanent?: boolean): DeliveryResult => ({
      key: delivery.key,
      channel: delivery.channel.name,
      ok: error === undefined,
      attempts: tries,
      ...(error === undefined ? {} : { error: mask(error) }),
      ...(permanent ? { permanent } : {}),
    });
    const cancelled = (tries: number, last?: string) => result(tries, `cancelled${last ? ` after: ${last}` : ''}`);

    const sender = senders[delivery.channel.type];
    if (!sender) return result(0, `channel type ${String(delivery.channel.type)} is not supported`, true);
    let last: string | undefined;
    for (let tries = 1; ; tries++) {
      if (policy.signal.aborted) return cancelled(tries - 1, last);
      try {
        await sender(outgoing, { signal: policy.signal, timeoutMs });
        return result(tries);
      } catch (error) {
        if (policy.signal.aborted) return cancelled(tries, last);
        last = error instanceof Error ? error.message : String(error);
        const permanent = error instanceof DeliveryError ? error.permanent : false;
        if (permanent || tries >= attempts) return result(tries, last, permanent);
      }
      try {
        await wait(Math.min(policy.backoffSeconds * 1000 * 2 ** (tries - 1), MAX_BACKOFF_MS), policy.signal);
      } catch {
        return cancelled(tries, last);
      }
    }
  }

  return {
    send: (deliveries, policy) =>
      Promise.all(
        deliveries.map((delivery) =>
          deliver(delivery, policy).catch((error: unknown) => ({
            key: delivery.key,
            channel: delivery.channel.name,
            ok: false,
            attempts: 0,
            error: mask(`notifier failed: ${error instanceof Error ? error.message : String(error)}`),
          })),
        ),
      ),
  };
}
