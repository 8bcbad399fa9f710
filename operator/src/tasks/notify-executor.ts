/**
 * `notify`: the task's text to its named channels — defined by the notification policy of the Pipeline and
 * Release (`TaskContext.notifications`), sent by the notifier with the policy's retry — and to its own
 * webhook, one JSON request keyed by the run so a receiver can drop a repeat. A channel name the policy does
 * not define, or one whose `${VARIABLE}` is not set, fails the task before anything is sent.
 */
import type { DeliveryResult, Notifier } from '../notifications/notifier.ts';
import { createNotifier } from '../notifications/notifier.ts';
import { notificationRetry, planTaskNotification, type Delivery } from '../planning/notification-plan.ts';
import { expandVariables } from '../planning/variable-text.ts';
import { errorMessage, guarded, permanentFailure } from './task-outcome.ts';
import type { TaskContext, TaskExecutor, TaskOutcome } from './task-executor.ts';

export interface NotifyExecutorOptions {
  /** Bound on one request when the task sets no timeout of its own. */
  requestTimeoutMs?: number;
  /** Waits between a channel's tries; replaced in tests. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** The request body a webhook receives. */
export interface WebhookNotification {
  release: { namespace: string; name: string; project: string; version: string };
  environment: string;
  target: { namespace: string; name: string; labels: Record<string, string> };
  text: string;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** How much of a refusing receiver's answer the error quotes. */
const RESPONSE_EXCERPT_CHARS = 300;

export function createNotifyExecutor(options: NotifyExecutorOptions = {}): TaskExecutor {
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  return {
    type: 'notify',
    onRestart: 'at-most-once',
    run: guarded((context) => runNotify(context, timeoutMs, options.sleep)),
  };
}

function defaultText(context: TaskContext): string {
  const { release, target, environment } = context;
  return `Release ${release.name} (${release.project} ${release.version}) on target ${target.name} in ${environment}`;
}

type Sent = { ok: true; log: string } | { ok: false; error: string; retryable: boolean };

async function runNotify(context: TaskContext, timeoutMs: number, sleep: NotifyExecutorOptions['sleep']): Promise<TaskOutcome> {
  const spec = context.task.notify;
  if (!spec) return permanentFailure(`task ${context.task.id} has no notify block`);
  const channels = spec.channels ?? [];
  if (!spec.webhook && channels.length === 0) return permanentFailure(`task ${context.task.id} names no channels and no webhook`);

  // Secrets are masked in the text too: a notification is read by people, in chat rooms and mailboxes.
  const text = context.mask(expandVariables(spec.template ?? defaultText(context), context.variables));

  // Everything is checked before anything is sent, so a configuration mistake never leaves half the
  // audience told.
  let deliveries: Delivery[] = [];
  if (channels.length > 0) {
    const plan = planTaskNotification(context.notifications, channels, {
      variables: context.variables,
      release: { namespace: context.release.namespace, name: context.release.name, project: context.release.project, version: context.release.version },
      environment: context.environment,
      dedupPrefix: context.runKey,
      text,
    });
    if (plan.problems.length > 0) return permanentFailure(context.mask(`notify ${plan.problems.join('; ')}`), text);
    deliveries = plan.deliveries;
  }
  const webhook = spec.webhook ? prepareWebhook(context, text) : undefined;
  if (webhook && 'failure' in webhook) return webhook.failure;

  const notifier: Notifier = createNotifier({ mask: context.mask, requestTimeoutMs: timeoutMs, ...(sleep ? { sleep } : {}) });
  const [results, hook] = await Promise.all([
    deliveries.length > 0 ? notifier.send(deliveries, { ...notificationRetry(context.notifications), signal: context.signal }) : [],
    webhook ? sendWebhook(context, webhook.request, timeoutMs) : undefined,
  ]);
  if (context.signal.aborted) throw context.signal.reason;

  const sent: Sent[] = [...results.map((result) => channelSent(result, deliveries)), ...(hook ? [hook] : [])];
  for (const s of sent) if (s.ok) context.log(s.log);
  const failures = sent.filter((s): s is Extract<Sent, { ok: false }> => !s.ok);
  if (failures.length === 0) return { status: 'succeeded', output: text };
  // The engine's retry sends to every channel again: it is only offered when nothing arrived anywhere (so
  // nobody hears it twice) and every failure may pass. The notifier already retried each channel.
  const retryable = failures.length === sent.length && failures.every((f) => f.retryable);
  return { status: 'failed', error: failures.map((f) => f.error).join('; '), output: text, retryable };
}

function channelSent(result: DeliveryResult, deliveries: readonly Delivery[]): Sent {
  const type = deliveries.find((d) => d.key === result.key)?.channel.type ?? 'channel';
  const tries = `${result.attempts} ${result.attempts === 1 ? 'try' : 'tries'}`;
  if (result.ok) return { ok: true, log: `channel ${result.channel} (${type}) took the message after ${tries}` };
  return { ok: false, error: `channel ${result.channel} (${type}) failed after ${tries}: ${result.error ?? 'unknown error'}`, retryable: !result.permanent };
}

interface WebhookRequest {
  url: string;
  method: 'POST' | 'PUT';
  headers: Headers;
  body: WebhookNotification;
  where: string;
}

function prepareWebhook(context: TaskContext, text: string): { request: WebhookRequest } | { failure: TaskOutcome } {
  const spec = context.task.notify!.webhook!;
  const url = expandVariables(spec.url, context.variables);
  const method = spec.method ?? 'POST';
  if (!/^https?:\/\//.test(url)) return { failure: permanentFailure(context.mask(`webhook url ${url} is not an http:// or https:// URL`)) };
  let headers: Headers;
  try {
    headers = new Headers(Object.entries(spec.headers ?? {}).map(([name, value]) => [name, expandVariables(value, context.variables)]));
  } catch (error) {
    return { failure: permanentFailure(context.mask(`webhook headers are not valid: ${errorMessage(error)}`)) };
  }
  // Ours win over the pipeline's: the receiver relies on them.
  headers.set('content-type', 'application/json');
  headers.set('idempotency-key', context.runKey);
  headers.set('user-agent', 'shipway-operator');
  const body: WebhookNotification = {
    release: { namespace: context.release.namespace, name: context.release.name, project: context.release.project, version: context.release.version },
    environment: context.environment,
    target: { namespace: context.target.namespace, name: context.target.name, labels: { ...context.target.labels } },
    text,
  };
  return { request: { url, method, headers, body, where: context.mask(`${method} ${url}`) } };
}

async function sendWebhook(context: TaskContext, request: WebhookRequest, timeoutMs: number): Promise<Sent> {
  const { where } = request;
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: JSON.stringify(request.body),
      signal: AbortSignal.any([context.signal, AbortSignal.timeout(timeoutMs)]),
    });
  } catch (error) {
    if (context.signal.aborted) throw context.signal.reason;
    const cause = (error as Error).cause;
    const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000}s` : cause instanceof Error ? cause.message : errorMessage(error);
    return { ok: false, error: context.mask(`${where}: ${reason}`), retryable: true };
  }
  const answer = await response.text().catch(() => '');
  const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  if (!response.ok) {
    const excerpt = answer.trim().slice(0, RESPONSE_EXCERPT_CHARS);
    return { ok: false, error: context.mask(`${where} answered ${status}${excerpt ? `: ${excerpt}` : ''}`), retryable: true };
  }
  return { ok: true, log: `${where} answered ${status}` };
}
