import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { NotificationChannel } from '../../operator/src/api/notifications.ts';
import { dingTalkSignature } from '../../operator/src/notifications/dingtalk-channel.ts';
import { createNotifier } from '../../operator/src/notifications/notifier.ts';
import { createMasker } from '../../operator/src/planning/masking.ts';
import { startRobotReceiver, type RobotReceiver } from './chat-robot-receiver.ts';
import { delivery, recordingSleep } from './delivery-fixtures.ts';

const SIGNED_TOKEN = 'ding-token-signed';
const SIGNING_SECRET = 'SEC0123456789abcdef+/=';
const PLAIN_TOKEN = 'ding-token-plain';
const WECOM_KEY = 'wecom-key-1';

describe('chat robot channels', () => {
  let receiver: RobotReceiver;
  const { sleep } = recordingSleep();
  const notifier = createNotifier({ mask: createMasker([SIGNED_TOKEN, SIGNING_SECRET, PLAIN_TOKEN, WECOM_KEY]), requestTimeoutMs: 2000, sleep });
  const policy = { attempts: 3, backoffSeconds: 1, signal: new AbortController().signal };

  beforeAll(async () => {
    receiver = await startRobotReceiver({ dingTalk: { [SIGNED_TOKEN]: SIGNING_SECRET, [PLAIN_TOKEN]: undefined }, weCom: [WECOM_KEY] });
  });
  afterAll(() => receiver.close());
  beforeEach(() => receiver.reset());

  const ding = (dingtalk: Partial<NonNullable<NotificationChannel['dingtalk']>> = {}): NotificationChannel => ({
    name: 'ding',
    type: 'dingtalk',
    dingtalk: { url: receiver.dingTalkUrl(SIGNED_TOKEN), secret: SIGNING_SECRET, atAll: false, ...dingtalk },
  });

  describe('DingTalk', () => {
    it('posts a signed text message that DingTalk accepts, mentioning mobiles and user ids apart', async () => {
      const results = await notifier.send([delivery(ding(), { recipients: ['13800138000', '+86-13900139000', 'user-42'] })], policy);
      expect(results).toEqual([{ key: 'uid-1/release_start/ding/0', channel: 'ding', ok: true, attempts: 1 }]);
      const [request] = receiver.received;
      expect(request!.method).toBe('POST');
      expect(request!.query.get('access_token')).toBe(SIGNED_TOKEN);
      expect(Number(request!.query.get('timestamp'))).toBeGreaterThan(Date.now() - 60_000);
      expect(request!.headers['content-type']).toBe('application/json');
      expect(request!.body).toEqual({
        msgtype: 'text',
        text: { content: 'Release started\nProject: shop\nVersion: 1.2.0' },
        at: { atMobiles: ['13800138000', '+86-13900139000'], atUserIds: ['user-42'], isAtAll: false },
      });
    });

    it('signs as DingTalk documents it: base64 of HMAC-SHA256 over timestamp and secret', () => {
      // Computed with the Python snippet of DingTalk's documentation.
      expect(dingTalkSignature('SECxxxxxxxx', 1577262236757)).toBe('GQTdD2h8xuqlb8XmudD4Eah5iFpDgJYtqFlQIs9dSTg=');
    });

    it('URL-encodes the signature in the query', async () => {
      await notifier.send([delivery(ding())], policy);
      const rawSign = /[?&]sign=([^&]*)/.exec(receiver.received[0]!.url)![1]!;
      expect(rawSign).not.toMatch(/[+/=]/);
      expect(decodeURIComponent(rawSign)).toBe(receiver.received[0]!.query.get('sign'));
    });

    it('sends no signature for a robot without a secret, and mentions everyone when asked', async () => {
      const results = await notifier.send([delivery(ding({ url: receiver.dingTalkUrl(PLAIN_TOKEN), secret: undefined, atAll: true }))], policy);
      expect(results[0]).toMatchObject({ ok: true, attempts: 1 });
      expect(receiver.received[0]!.query.has('sign')).toBe(false);
      expect(receiver.received[0]!.body).toMatchObject({ at: { atMobiles: [], atUserIds: [], isAtAll: true } });
    });

    it('fails for good when DingTalk refuses the signature, quoting errcode and errmsg but no secret', async () => {
      const results = await notifier.send([delivery(ding({ secret: 'SECwrong-secret-value' }))], policy);
      expect(results[0]).toMatchObject({ ok: false, attempts: 1, permanent: true });
      expect(results[0]!.error).toBe('DingTalk refused the message: errcode 310000: sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]');
      expect(receiver.received).toHaveLength(1);
    });

    it('fails for good on an unknown access token, without quoting it', async () => {
      const results = await notifier.send([delivery(ding({ url: receiver.dingTalkUrl('no-such-token-value'), secret: undefined }))], policy);
      expect(results[0]).toMatchObject({ ok: false, attempts: 1, permanent: true, error: 'DingTalk refused the message: errcode 300001: token is not exist' });
    });

    it('retries when DingTalk says it is sent too fast', async () => {
      receiver.script('/robot/send', { status: 200, body: JSON.stringify({ errcode: 130101, errmsg: 'send too fast, exceed 20 times per minute' }) });
      const results = await notifier.send([delivery(ding())], policy);
      expect(results[0]).toMatchObject({ ok: true, attempts: 2 });
    });

    it('fails for good when the URL answers 200 but is no robot', async () => {
      receiver.script('/robot/send', { status: 200, body: '<html>login</html>' });
      const results = await notifier.send([delivery(ding())], policy);
      expect(results[0]).toMatchObject({ ok: false, attempts: 1, permanent: true });
      expect(results[0]!.error).toContain("without DingTalk's JSON answer");
    });
  });

  describe('WeCom', () => {
    const wecom = (key: string): NotificationChannel => ({ name: 'wecom', type: 'wecom', wecom: { url: receiver.weComUrl(key) } });

    it('posts a text message mentioning user ids and mobiles', async () => {
      const results = await notifier.send([delivery(wecom(WECOM_KEY), { recipients: ['zhangsan', '@all', '13800138000'] })], policy);
      expect(results).toEqual([{ key: 'uid-1/release_start/wecom/0', channel: 'wecom', ok: true, attempts: 1 }]);
      expect(receiver.received[0]).toMatchObject({ method: 'POST', path: '/cgi-bin/webhook/send' });
      expect(receiver.received[0]!.body).toEqual({
        msgtype: 'text',
        text: { content: 'Release started\nProject: shop\nVersion: 1.2.0', mentioned_list: ['zhangsan', '@all'], mentioned_mobile_list: ['13800138000'] },
      });
    });

    it('fails for good on an errcode, quoting it', async () => {
      const results = await notifier.send([delivery(wecom('wrong-key-value'))], policy);
      expect(results[0]).toMatchObject({ ok: false, attempts: 1, permanent: true, error: 'WeCom refused the message: errcode 93000: invalid webhook url, hint: [1700000000_1_abc]' });
    });

    it('retries when WeCom is rate limited', async () => {
      receiver.script('/cgi-bin/webhook/send', { status: 200, body: JSON.stringify({ errcode: 45009, errmsg: 'api freq out of limit' }) });
      const results = await notifier.send([delivery(wecom(WECOM_KEY))], policy);
      expect(results[0]).toMatchObject({ ok: true, attempts: 2 });
    });
  });
});
