/**
 * Notification policy (SPEC "Policy", requirements §11): channels, message templates per event, and rules
 * mapping events to channels and recipients. Every string of a channel may hold `${VARIABLE}` references,
 * resolved from the release's variables, so webhook tokens, signing secrets and SMTP passwords come from
 * secret variables and never sit in the manifest.
 */
import { Label } from './common.ts';
import { PATTERNS } from './patterns.ts';
import { blockRules, Obj, StringEnum, StringMap, StringSet, Type, type Static } from './schema-helpers.ts';

export const NOTIFICATION_EVENTS = ['release_start', 'release_success', 'release_failed', 'approval_required'] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];
export const CHANNEL_TYPES = ['dingtalk', 'wecom', 'email', 'webhook'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

const Url = (description: string) => Type.String({ minLength: 1, maxLength: 2048, pattern: PATTERNS.urlOrReference.regex, description });
const Text = (description: string, maxLength = 1024) => Type.String({ minLength: 1, maxLength, description });

const DingTalkChannel = Obj({
  url: Url('Robot webhook URL with its access_token; usually ${DINGTALK_WEBHOOK} from a secret variable.'),
  secret: Type.Optional(Text('Signing secret (SEC...) of the robot; the request carries timestamp and sign. Usually ${DINGTALK_SECRET}.')),
  atAll: Type.Boolean({ default: false }),
});

const WeComChannel = Obj({
  url: Url('Group robot webhook URL with its key; usually ${WECOM_WEBHOOK} from a secret variable.'),
});

const EmailChannel = Obj({
  host: Text('SMTP server host.', 253),
  port: Type.Integer({ minimum: 1, maximum: 65535, default: 587 }),
  secure: Type.Boolean({ default: false, description: 'TLS from the first byte (port 465); otherwise STARTTLS when the server offers it.' }),
  username: Type.Optional(Text('SMTP user; may hold ${VARIABLE} references.', 253)),
  password: Type.Optional(Text('SMTP password; use a ${VARIABLE} reference to a secret variable.')),
  from: Text('Sender address.', 320),
  to: Type.Optional(StringSet({ maxItems: 100, itemMaxLength: 320, description: 'Default recipients when a rule names none.' })),
});

const WebhookChannel = Obj({
  url: Url('Receiver URL.'),
  method: StringEnum(['POST', 'PUT'], { default: 'POST' }),
  headers: Type.Optional(StringMap({ maxProperties: 50, description: 'Extra request headers; values may hold ${VARIABLE} references.' })),
}, { description: 'Receives a JSON body {event, release, environment, text, recipients} with an Idempotency-Key header.' });

export const NotificationChannel = Obj(
  {
    name: Label('Name the rules refer to.'),
    type: StringEnum(CHANNEL_TYPES),
    dingtalk: Type.Optional(DingTalkChannel),
    wecom: Type.Optional(WeComChannel),
    email: Type.Optional(EmailChannel),
    webhook: Type.Optional(WebhookChannel),
  },
  {
    rules: blockRules('type', [
      { value: 'dingtalk', block: 'dingtalk', required: true },
      { value: 'wecom', block: 'wecom', required: true },
      { value: 'email', block: 'email', required: true },
      { value: 'webhook', block: 'webhook', required: true },
    ]),
  },
);
export type NotificationChannel = Static<typeof NotificationChannel>;

export const NotificationRule = Obj({
  events: Type.Array(StringEnum(NOTIFICATION_EVENTS), { minItems: 1, maxItems: 4, 'x-kubernetes-list-type': 'set' }),
  channels: StringSet({ minItems: 1, maxItems: 20, itemMaxLength: 63, description: 'Channel names.' }),
  recipients: Type.Optional(StringSet({
    maxItems: 100,
    itemMaxLength: 320,
    description: 'Email addresses, or DingTalk/WeCom user ids or mobiles to mention; ${APPROVERS} expands to the approvers.',
  })),
});
export type NotificationRule = Static<typeof NotificationRule>;

export const Notifications = Obj({
  channels: Type.Optional(Type.Array(NotificationChannel, { maxItems: 20, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] })),
  templates: Type.Optional(Obj({
    release_start: Type.Optional(Text('Message when a release starts; ${VARIABLE} references are resolved.', 16384)),
    release_success: Type.Optional(Text('Message when a release succeeds.', 16384)),
    release_failed: Type.Optional(Text('Message when a release fails or is rolled back; ${ERROR_MESSAGE} holds why.', 16384)),
    approval_required: Type.Optional(Text('Message when an approval is requested; ${APPROVERS} names who may decide.', 16384)),
  }, { description: 'Message text per event; absent events use the built-in text.' })),
  rules: Type.Optional(Type.Array(NotificationRule, { maxItems: 50 })),
  retry: Type.Optional(Obj({
    attempts: Type.Integer({ minimum: 1, maximum: 10, default: 3, description: 'Tries per delivery, the first included.' }),
    backoffSeconds: Type.Integer({ minimum: 1, maximum: 600, default: 5, description: 'Wait before the second try; doubles after each failure.' }),
  })),
}, { description: 'Who hears about release start, success, failure and approvals, and how. A failed notification never fails a release.' });
export type Notifications = Static<typeof Notifications>;
