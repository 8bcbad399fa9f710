/** The contract between the notifier and one channel type: send one delivery once, or say why not. */
import type { Delivery } from '../planning/notification-plan.ts';

export interface SendOptions {
  /** Aborts the attempt: the notifier's caller gave up. */
  signal: AbortSignal;
  /** Bound on this one attempt. */
  timeoutMs: number;
}

/** Resolves once the channel accepted the message; rejects with a DeliveryError (or the signal's reason). */
export type ChannelSender = (delivery: Delivery, options: SendOptions) => Promise<void>;

/** A failed attempt; `permanent` when sending the same message again would fail the same way. */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

/**
 * An 11-digit-or-longer number (optionally with +country and dashes) is a mobile; anything else is a user
 * id. Chat robots take the two in separate lists, and the rule's recipients do not say which is which.
 */
export function isMobile(recipient: string): boolean {
  return /^\+?[\d-]+$/.test(recipient) && recipient.replace(/\D/g, '').length >= 11;
}
