/**
 * `notify` through the task's webhook: one JSON request per attempt, keyed by the run so a receiver can
 * drop a repeat. Named channels are defined by the notification policy, which does not exist yet.
 */
import { errorMessage, guarded, permanentFailure } from './task-outcome.ts';
import type { TaskContext, TaskExecutor, TaskOutcome } from './task-executor.ts';
import { expandVariables } from './variable-text.ts';

export interface NotifyExecutorOptions {
  /** Bound on one request when the task sets no timeout of its own. */
  requestTimeoutMs?: number;
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
    run: guarded((context) => runNotify(context, timeoutMs)),
  };
}

function defaultText(context: TaskContext): string {
  const { release, target, environment } = context;
  return `Release ${release.name} (${release.project} ${release.version}) on target ${target.name} in ${environment}`;
}

async function runNotify(context: TaskContext, timeoutMs: number): Promise<TaskOutcome> {
  const spec = context.task.notify;
  if (!spec) return permanentFailure(`task ${context.task.id} has no notify block`);
  const channels = spec.channels ?? [];
  if (!spec.webhook) {
    return permanentFailure(
      `notify channels ${channels.join(', ')} are only named: named channels arrive with the notification policy; set notify.webhook to send this notification now`,
    );
  }
  if (channels.length > 0) context.log(`channels ${channels.join(', ')} are not sent yet (they arrive with the notification policy); sending the webhook only`);

  // Secrets are masked in the text too: a notification is read by people, in chat rooms and mailboxes.
  const text = context.mask(expandVariables(spec.template ?? defaultText(context), context.variables));
  const url = expandVariables(spec.webhook.url, context.variables);
  const method = spec.webhook.method ?? 'POST';
  if (!/^https?:\/\//.test(url)) return permanentFailure(context.mask(`webhook url ${url} is not an http:// or https:// URL`));
  let headers: Headers;
  try {
    headers = new Headers(Object.entries(spec.webhook.headers ?? {}).map(([name, value]) => [name, expandVariables(value, context.variables)]));
  } catch (error) {
    return permanentFailure(context.mask(`webhook headers are not valid: ${errorMessage(error)}`));
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
  const where = context.mask(`${method} ${url}`);

  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.any([context.signal, AbortSignal.timeout(timeoutMs)]),
    });
  } catch (error) {
    if (context.signal.aborted) throw context.signal.reason;
    const cause = (error as Error).cause;
    const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000}s` : cause instanceof Error ? cause.message : errorMessage(error);
    return { status: 'failed', error: context.mask(`${where}: ${reason}`), output: text, retryable: true };
  }
  const answer = await response.text().catch(() => '');
  const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  if (!response.ok) {
    const excerpt = answer.trim().slice(0, RESPONSE_EXCERPT_CHARS);
    return { status: 'failed', error: context.mask(`${where} answered ${status}${excerpt ? `: ${excerpt}` : ''}`), output: text, retryable: true };
  }
  context.log(`${where} answered ${status}`);
  return { status: 'succeeded', output: text };
}
