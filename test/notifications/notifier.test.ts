import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { NotificationChannel } from '../../operator/src/api/notifications.ts';
import { createNotifier } from '../../operator/src/notifications/notifier.ts';
import { createMasker, MASK } from '../../operator/src/planning/masking.ts';
import { until } from '../support/until.ts';
import { startRobotReceiver, type RobotReceiver } from './chat-robot-receiver.ts';
import { delivery, recordingSleep, webhookChannel } from './delivery-fixtures.ts';

const URL_TOKEN = 'url-token-0123456789';

describe('notifier', () => {
  let receiver: RobotReceiver;
  const mask = createMasker([URL_TOKEN]);
  const live = () => new AbortController().signal;

  beforeAll(async () => {
    receiver = await startRobotReceiver({ dingTalk: {}, weCom: [] });
  });
  afterAll(() => receiver.close());
  beforeEach(() => receiver.reset());

  const hook = (path: string): NotificationChannel => webhookChannel(`${receiver.base}${path}`);

  it('retries after 500s with exponential backoff until the receiver takes it', async () => {
    receiver.script('/flaky', { status: 500, body: 'boom' }, { status: 502 });
    const { sleep, waits } = recordingSleep();
    const results = await createNotifier({ mask, sleep }).send([delivery(hook('/flaky'))], { attempts: 4, backoffSeconds: 2, signal: live() });
    expect(results).toEqual([{ key: 'uid-1/release_start/hook/0', channel: 'hook', ok: true, attempts: 3 }]);
    expect(waits).toEqual([2000, 4000]);
    expect(receiver.received.map((r) => r.headers['idempotency-key'])).toEqual(Array(3).fill('uid-1/release_start/hook/0'));
  });

  it('gives up after the configured attempts, reporting the last error', async () => {
    receiver.script('/down', { status: 500, body: 'first' }, { status: 500, body: 'second' }, { status: 503, body: 'maintenance until 14:00' });
    const { sleep, waits } = recordingSleep();
    const results = await createNotifier({ mask, sleep }).send([delivery(hook('/down'))], { attempts: 3, backoffSeconds: 1, signal: live() });
    expect(results).toEqual([
      { key: 'uid-1/release_start/hook/0', channel: 'hook', ok: false, attempts: 3, error: `POST ${receiver.base}/down answered 503 Service Unavailable: maintenance until 14:00` },
    ]);
    expect(waits).toEqual([1000, 2000]);
  });

  it.each([
    [400, true],
    [401, true],
    [404, true],
    [410, true],
    [408, false],
    [429, false],
    [500, false],
    [503, false],
  ])('treats an answer %i as permanent: %s', async (status, permanent) => {
    receiver.script('/status', { status }, { status });
    const results = await createNotifier({ mask, sleep: recordingSleep().sleep }).send([delivery(hook('/status'))], { attempts: 2, backoffSeconds: 1, signal: live() });
    expect(results[0]).toMatchObject({ ok: false, attempts: permanent ? 1 : 2 });
    expect(results[0]!.permanent ?? false).toBe(permanent);
    expect(receiver.received).toHaveLength(permanent ? 1 : 2);
  });

  it('gives up a try that gets no answer within the request timeout', async () => {
    receiver.script('/hang', { status: 0, hang: true }, { status: 0, hang: true });
    const started = Date.now();
    const results = await createNotifier({ mask, requestTimeoutMs: 200, sleep: recordingSleep().sleep }).send([delivery(hook('/hang'))], { attempts: 2, backoffSeconds: 1, signal: live() });
    expect(results[0]).toMatchObject({ ok: false, attempts: 2, error: `POST ${receiver.base}/hang: no answer within 0.2s` });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('reports a receiver that is not listening as a transient failure', async () => {
    const closed = await startRobotReceiver({ dingTalk: {}, weCom: [] });
    await closed.close();
    const results = await createNotifier({ mask, sleep: recordingSleep().sleep }).send([delivery(webhookChannel(`${closed.base}/gone`))], { attempts: 2, backoffSeconds: 1, signal: live() });
    expect(results[0]).toMatchObject({ ok: false, attempts: 2 });
    expect(results[0]!.error).toContain('ECONNREFUSED');
  });

  it('never shows a secret token of the URL, even when the receiver echoes it', async () => {
    receiver.script('/robot/send', { status: 500, body: `no robot for /robot/send?access_token=${URL_TOKEN}` });
    const channel: NotificationChannel = { name: 'ding', type: 'dingtalk', dingtalk: { url: receiver.dingTalkUrl(URL_TOKEN), atAll: false } };
    const results = await createNotifier({ mask, sleep: recordingSleep().sleep }).send([delivery(channel)], { attempts: 1, backoffSeconds: 1, signal: live() });
    expect(results[0]!.ok).toBe(false);
    expect(results[0]!.error).toContain(MASK);
    expect(JSON.stringify(results)).not.toContain(URL_TOKEN);
  });

  it('names the origin and path of a URL but not its query, even with nothing to mask', async () => {
    receiver.script('/cgi-bin/webhook/send', { status: 503 });
    const channel: NotificationChannel = { name: 'wecom', type: 'wecom', wecom: { url: receiver.weComUrl(URL_TOKEN) } };
    const results = await createNotifier({ mask: createMasker([]), sleep: recordingSleep().sleep }).send([delivery(channel)], { attempts: 1, backoffSeconds: 1, signal: live() });
    expect(results[0]!.error).toBe(`POST ${receiver.base}/cgi-bin/webhook/send answered 503 Service Unavailable`);
  });

  it('masks secrets in the message people read', async () => {
    await createNotifier({ mask }).send([delivery(hook('/text'), { text: `token is ${URL_TOKEN}` })], { attempts: 1, backoffSeconds: 1, signal: live() });
    expect(receiver.received[0]!.body).toMatchObject({ text: `token is ${MASK}` });
  });

  it('sends every delivery on its own and at once, answering in their order', async () => {
    receiver.script('/slow', { status: 0, hang: true });
    receiver.script('/refuses', { status: 403, body: 'forbidden' });
    const controller = new AbortController();
    const deliveries = [
      delivery(hook('/slow'), { key: 'k/slow' }),
      delivery(hook('/refuses'), { key: 'k/refuses' }),
      delivery(hook('/fine'), { key: 'k/fine' }),
    ];
    const sending = createNotifier({ mask, requestTimeoutMs: 10_000 }).send(deliveries, { attempts: 1, backoffSeconds: 1, signal: controller.signal });
    // The others arrive while the first still waits for its answer.
    await until(() => receiver.received.length === 3);
    await new Promise((resolve) => setTimeout(resolve, 200)); // for the two answers to come back
    controller.abort(new Error('test done'));
    const results = await sending;
    expect(results.map((r) => [r.key, r.ok, r.error])).toEqual([
      ['k/slow', false, 'cancelled'],
      ['k/refuses', false, `POST ${receiver.base}/refuses answered 403 Forbidden: forbidden`],
      ['k/fine', true, undefined],
    ]);
  });

  it('stops when aborted mid-request, resolving with what it knows', async () => {
    receiver.script('/hang', { status: 0, hang: true });
    const controller = new AbortController();
    const sending = createNotifier({ mask, requestTimeoutMs: 10_000 }).send([delivery(hook('/hang'))], { attempts: 5, backoffSeconds: 1, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('operator stopping')), 50);
    const results = await sending;
    expect(results[0]).toMatchObject({ ok: false, attempts: 1, error: 'cancelled' });
  });

  it('stops when aborted during the backoff, without another try', async () => {
    receiver.script('/down', { status: 500, body: 'down' });
    const controller = new AbortController();
    const sending = createNotifier({ mask }).send([delivery(hook('/down'))], { attempts: 5, backoffSeconds: 60, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('operator stopping')), 100);
    const results = await sending;
    expect(results[0]).toMatchObject({ ok: false, attempts: 1, error: `cancelled after: POST ${receiver.base}/down answered 500 Internal Server Error: down` });
    expect(receiver.received).toHaveLength(1);
  });

  it('sends nothing once aborted', async () => {
    const results = await createNotifier({ mask }).send([delivery(hook('/never'))], { attempts: 3, backoffSeconds: 1, signal: AbortSignal.abort() });
    expect(results[0]).toMatchObject({ ok: false, attempts: 0, error: 'cancelled' });
    expect(receiver.received).toHaveLength(0);
  });

  it('never rejects, not even for a channel it cannot send to or a mask that throws', async () => {
    const odd = { name: 'pager', type: 'pager' } as unknown as NotificationChannel;
    const throwing = () => {
      throw new Error('mask broke');
    };
    const results = await createNotifier({ mask: throwing }).send([delivery(odd), delivery(hook('/fine'))], { attempts: 1, backoffSeconds: 1, signal: live() });
    expect(results.map((r) => r.ok)).toEqual([false, true]);
    expect(results[0]).toMatchObject({ permanent: true, error: '(a message that could not be masked)' });
  });
});
