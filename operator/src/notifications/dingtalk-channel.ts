/**
 * DingTalk custom robot: a text message with mentions, signed when the robot has a signing secret (the
 * `timestamp` and `sign` query parameters DingTalk checks; it refuses a request more than an hour old).
 */
import { createHmac } from 'node:crypto';
import { DeliveryError, isMobile, type ChannelSender } from './channel-sender.ts';
import { checkRobotAnswer, postJson } from './json-post.ts';

/** -1 is "system busy" and 130101 "sending too fast"; they pass. Every other errcode is configuration. */
const TRANSIENT_ERRCODES = new Set([-1, 130101]);

/** base64(HMAC-SHA256(key = secret, message = `${timestamp}\n${secret}`)), before URL encoding. */
export function dingTalkSignature(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
}

export interface DingTalkMessage {
  msgtype: 'text';
  text: { content: string };
  at: { atMobiles: string[]; atUserIds: string[]; isAtAll: boolean };
}

export function createDingTalkSender(now: () => number = Date.now): ChannelSender {
  return async (delivery, options) => {
    const robot = delivery.channel.dingtalk;
    if (!robot) throw new DeliveryError(`channel ${delivery.channel.name} has no dingtalk block`, true);
    let url: URL;
    try {
      url = new URL(robot.url);
    } catch {
      throw new DeliveryError('the robot URL does not parse', true);
    }
    if (robot.secret) {
      const timestamp = now();
      // searchParams encodes the base64 (+, /, =) as DingTalk expects.
      url.searchParams.set('timestamp', String(timestamp));
      url.searchParams.set('sign', dingTalkSignature(robot.secret, timestamp));
    }
    const body: DingTalkMessage = {
      msgtype: 'text',
      text: { content: delivery.text },
      at: {
        atMobiles: delivery.recipients.filter(isMobile),
        atUserIds: delivery.recipients.filter((recipient) => !isMobile(recipient)),
        isAtAll: robot.atAll ?? false,
      },
    };
    const answer = await postJson({ url: url.href, body }, options);
    checkRobotAnswer('DingTalk', answer, TRANSIENT_ERRCODES);
  };
}
