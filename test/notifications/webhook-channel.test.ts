import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createNotifier } from '../../operator/src/notifications/notifier.ts';
import { createMasker } from '../../operator/src/planning/masking.ts';
import { startRobotReceiver, type RobotReceiver } from './chat-robot-receiver.ts';
import { delivery, recordingSleep, release, webhookChannel } from './delivery-fixtures.ts';

const TOKEN = 'webhook-bearer-token';

describe('webhook channel', () => {
  let receiver: RobotReceiver;
  const notifier = createNotifier({ mask: createMasker([TOKEN]), requestTimeoutMs: 2000, sleep: recordingSleep().sleep });
  const policy = { attempts: 2, backoffSeconds: 1, signal: new AbortController().signal };

  beforeAll(async () => {
    receiver = await startRobotReceiver({ dingTalk: {}, weCom: [] });
  });
  afterAll(() => receiver.close());
  beforeEach(() => receiver.reset());

  it('sends the event, release, environment, text and recipients as JSON, keyed by the delivery', async () => {
    const channel = webhookChannel(`${receiver.base}/hooks/releases`, { headers: { Authorization: `Bearer ${TOKEN}`, 'X-Team': 'shop' } });
    const results = await notifier.send([delivery(channel, { event: 'approval_required', recipients: ['bob', 'carol'] })], policy);
    expect(results).toEqual([{ key: 'uid-1/release_start/hook/0', channel: 'hook', ok: true, attempts: 1 }]);
    const [request] = receiver.received;
    expect(request).toMatchObject({ method: 'POST', path: '/hooks/releases' });
    expect(request!.headers).toMatchObject({
      'content-type': 'application/json',
      'idempotency-key': 'uid-1/release_start/hook/0',
      authorization: `Bearer ${TOKEN}`,
      'x-team': 'shop',
    });
    expect(request!.body).toEqual({ event: 'approval_required', release, environment: 'prod', text: 'Release started\nProject: shop\nVersion: 1.2.0', recipients: ['bob', 'carol'] });
  });

  it('uses the configured method and keeps its idempotency key over a header of the same name', async () => {
    const channel = webhookChannel(`${receiver.base}/hooks/put`, { method: 'PUT', headers: { 'Idempotency-Key': 'mine' } });
    await notifier.send([delivery(channel)], policy);
    expect(receiver.received[0]).toMatchObject({ method: 'PUT', headers: { 'idempotency-key': 'uid-1/release_start/hook/0' } });
  });

  it('leaves the environment out when there is none', async () => {
    await notifier.send([delivery(webhookChannel(`${receiver.base}/hooks/x`), { environment: undefined })], policy);
    expect(receiver.received[0]!.body).not.toHaveProperty('environment');
  });

  it('fails for good on a header that HTTP cannot carry, naming the header only', async () => {
    const results = await notifier.send([delivery(webhookChannel(`${receiver.base}/hooks/x`, { headers: { 'X-Token': `line\nbreak ${TOKEN}` } }))], policy);
    expect(results[0]).toMatchObject({ ok: false, attempts: 1, permanent: true, error: 'webhook header "X-Token" is not a valid HTTP header' });
    expect(receiver.received).toHaveLength(0);
  });

  it.each([
    ['a URL that does not parse', 'not a url'],
    ['a URL that is not http', 'ftp://127.0.0.1/hooks'],
  ])('fails for good on %s', async (_name, url) => {
    const results = await notifier.send([delivery(webhookChannel(url))], policy);
    expect(results[0]).toMatchObject({ ok: false, attempts: 1, permanent: true });
  });
});
