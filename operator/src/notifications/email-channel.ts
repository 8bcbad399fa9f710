/** Email through SMTP (nodemailer): one connection per attempt, closed after it. */
import nodemailer, { type NodemailerError } from 'nodemailer';
import { DeliveryError, type ChannelSender } from './channel-sender.ts';

/** Failures without an SMTP reply that no retry fixes: the configuration or the envelope is wrong. */
const PERMANENT_CODES = new Set(['ECONFIG', 'ENOAUTH', 'EENVELOPE', 'EMAXRECIPIENTS']);

export function createEmailSender(): ChannelSender {
  return async (delivery, options) => {
    const smtp = delivery.channel.email;
    if (!smtp) throw new DeliveryError(`channel ${delivery.channel.name} has no email block`, true);
    if (delivery.recipients.length === 0) throw new DeliveryError(`channel ${delivery.channel.name} has no recipients`, true);
    const where = `SMTP ${smtp.host}:${smtp.port ?? 587}`;
    const transport = nodemailer.createTransport({
      host: smtp.host,
      port: smtp.port ?? 587,
      secure: smtp.secure ?? false,
      ...(smtp.username ? { auth: { user: smtp.username, pass: smtp.password ?? '' } } : {}),
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
      socketCloseTimeout: 0,
    });
    const timeout = AbortSignal.timeout(options.timeoutMs);
    try {
      await transport.sendMail({
        from: smtp.from,
        to: delivery.recipients,
        subject: delivery.subject ?? '',
        text: delivery.text,
        signal: AbortSignal.any([options.signal, timeout]),
      });
    } catch (error) {
      if (options.signal.aborted) throw options.signal.reason;
      const failure = error as NodemailerError;
      if (timeout.aborted || failure.code === 'ETIMEDOUT') throw new DeliveryError(`${where}: no answer within ${options.timeoutMs / 1000}s`, false);
      // An SMTP reply says itself whether it is final (5xx but 503); without one, only a broken configuration is.
      const permanent = failure.permanent ?? PERMANENT_CODES.has(failure.code ?? '');
      throw new DeliveryError(`${where}: ${failure.message}`, permanent);
    } finally {
      transport.close();
    }
  };
}
