/**
 * One JSON request of a notification channel, bounded in time, its failures sorted into permanent and
 * transient. Errors name the method, origin and path only: robot URLs carry their token in the query.
 */
import { DeliveryError, type SendOptions } from './channel-sender.ts';

export interface JsonPost {
  url: string;
  method?: 'POST' | 'PUT';
  headers?: Headers;
  body: unknown;
}

export interface JsonAnswer {
  status: number;
  text: string;
  /** Where the request went, fit for an error message. */
  where: string;
}

/** How much of a refusing receiver's answer an error quotes. */
const RESPONSE_EXCERPT_CHARS = 300;

/**
 * Client errors are the request's own fault (bad token, bad body, gone), so they are permanent — except 408
 * (the receiver timed out) and 429 (rate limit), which pass with time. 5xx, network errors and timeouts
 * are transient. A timeout may hide a message that arrived; retrying it risks a repeat, which beats a
 * notification nobody sees.
 */
export function isPermanentStatus(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/** Resolves with a 2xx answer; throws DeliveryError otherwise (the caller's abort reason when it aborted). */
export async function postJson(request: JsonPost, options: SendOptions): Promise<JsonAnswer> {
  const method = request.method ?? 'POST';
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    throw new DeliveryError(`${method} to a URL that does not parse`, true);
  }
  const where = `${method} ${url.origin}${url.pathname}`;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DeliveryError(`${where}: not an http:// or https:// URL`, true);
  const headers = new Headers(request.headers);
  headers.set('content-type', 'application/json');
  headers.set('user-agent', 'shipway-operator');

  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: JSON.stringify(request.body),
      signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]),
    });
  } catch (error) {
    if (options.signal.aborted) throw options.signal.reason;
    throw new DeliveryError(`${where}: ${networkReason(error, options.timeoutMs)}`, false);
  }
  const text = await response.text().catch(() => '');
  if (!response.ok) {
    const excerpt = text.trim().slice(0, RESPONSE_EXCERPT_CHARS);
    const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    throw new DeliveryError(`${where} answered ${status}${excerpt ? `: ${excerpt}` : ''}`, isPermanentStatus(response.status));
  }
  return { status: response.status, text, where };
}

function networkReason(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000}s`;
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * The `{errcode, errmsg}` answer chat robots give with status 200. `transientCodes` lists the codes that
 * pass with time (rate limits, "system busy"); every other code is a configuration fault.
 */
export function checkRobotAnswer(service: string, answer: JsonAnswer, transientCodes: ReadonlySet<number>): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.text);
  } catch {
    throw new DeliveryError(`${answer.where} answered ${answer.status} without ${service}'s JSON answer: is the URL a ${service} robot?`, true);
  }
  const { errcode, errmsg } = (parsed ?? {}) as { errcode?: unknown; errmsg?: unknown };
  if (errcode === undefined || errcode === 0) return;
  const code = Number(errcode);
  throw new DeliveryError(`${service} refused the message: errcode ${String(errcode)}: ${String(errmsg ?? '')}`, !transientCodes.has(code));
}
