/** WeCom (WeChat Work) group robot: a text message mentioning user ids and mobiles. */
import { DeliveryError, isMobile, type ChannelSender } from './channel-sender.ts';
import { checkRobotAnswer, postJson } from './json-post.ts';

/** -1 is "system busy", 45009 and 45033 are rate and concurrency limits; they pass. */
const TRANSIENT_ERRCODES = new Set([-1, 45009, 45033]);

export interface WeComMessage {
  msgtype: 'text';
  text: { content: string; mentioned_list: string[]; mentioned_mobile_list: string[] };
}

export function createWeComSender(): ChannelSender {
  return async (delivery, options) => {
    const robot = delivery.channel.wecom;
    if (!robot) throw new DeliveryError(`channel ${delivery.channel.name} has no wecom block`, true);
    const body: WeComMessage = {
      msgtype: 'text',
      text: {
        content: delivery.text,
        mentioned_list: delivery.recipients.filter((recipient) => !isMobile(recipient)),
        mentioned_mobile_list: delivery.recipients.filter(isMobile),
      },
    };
    const answer = await postJson({ url: robot.url, body }, options);
    checkRobotAnswer('WeCom', answer, TRANSIENT_ERRCODES);
  };
}
