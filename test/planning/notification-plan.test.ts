import { describe, expect, it } from 'vitest';
import type { NotificationChannel, Notifications } from '../../operator/src/api/notifications.ts';
import {
  DEFAULT_NOTIFICATION_RETRY,
  effectiveNotifications,
  formatDuration,
  notificationRetry,
  planNotifications,
  planTaskNotification,
  type NotificationContext,
} from '../../operator/src/planning/notification-plan.ts';

const ding: NotificationChannel = { name: 'ding', type: 'dingtalk', dingtalk: { url: '${DINGTALK_WEBHOOK}', secret: '${DINGTALK_SECRET}', atAll: false } };
const wecom: NotificationChannel = { name: 'wecom', type: 'wecom', wecom: { url: 'https://qyapi.example/send?key=${WECOM_KEY}' } };
const mail: NotificationChannel = {
  name: 'mail',
  type: 'email',
  email: { host: 'smtp.example.com', port: 587, secure: false, username: '${SMTP_USER}', password: '${SMTP_PASSWORD}', from: 'deploy@example.com', to: ['ops@example.com'] },
};
const hook: NotificationChannel = { name: 'hook', type: 'webhook', webhook: { url: 'https://hooks.example/${PROJECT_NAME}', method: 'POST', headers: { Authorization: 'Bearer ${WEBHOOK_TOKEN}' } } };

const variables = {
  DINGTALK_WEBHOOK: 'https://oapi.dingtalk.com/robot/send?access_token=tok-123',
  DINGTALK_SECRET: 'SECabc',
  WECOM_KEY: 'key-456',
  SMTP_USER: 'deploy',
  SMTP_PASSWORD: 'pw-789',
  WEBHOOK_TOKEN: 'hook-000',
  RELEASE_USER: 'alice',
};
const release = { namespace: 'shop', name: 'shop-1-2-0', project: 'shop', version: '1.2.0' };
const context: NotificationContext = { variables, release, environment: 'prod', dedupPrefix: 'uid-1/release_start' };

describe('effectiveNotifications', () => {
  const pipeline: Notifications = {
    channels: [ding, mail],
    templates: { release_start: 'pipeline start', release_failed: 'pipeline failed' },
    rules: [{ events: ['release_start'], channels: ['ding'] }],
    retry: { attempts: 5, backoffSeconds: 2 },
  };
  const otherDing: NotificationChannel = { name: 'ding', type: 'dingtalk', dingtalk: { url: 'https://other.example/robot', atAll: true } };

  it.each<[string, Notifications | undefined, Notifications | undefined, Notifications]>([
    ['nothing from nothing', undefined, undefined, {}],
    ['the Pipeline alone', pipeline, undefined, pipeline],
    ['the Release alone', undefined, pipeline, pipeline],
    [
      "the Release's channel of the same name in the Pipeline's place, new ones after",
      pipeline,
      { channels: [hook, otherDing] },
      { ...pipeline, channels: [otherDing, mail, hook] },
    ],
    [
      "the Release's template per event, the Pipeline's for the others",
      pipeline,
      { templates: { release_start: 'release start', approval_required: 'release approval' } },
      { ...pipeline, templates: { release_start: 'release start', release_failed: 'pipeline failed', approval_required: 'release approval' } },
    ],
    [
      "the rules of both, the Pipeline's first",
      pipeline,
      { rules: [{ events: ['release_failed'], channels: ['mail'] }] },
      { ...pipeline, rules: [{ events: ['release_start'], channels: ['ding'] }, { events: ['release_failed'], channels: ['mail'] }] },
    ],
    ["the Release's retry over the Pipeline's", pipeline, { retry: { attempts: 1, backoffSeconds: 60 } }, { ...pipeline, retry: { attempts: 1, backoffSeconds: 60 } }],
  ])('merges %s', (_name, fromPipeline, fromRelease, expected) => {
    expect(effectiveNotifications(fromPipeline, fromRelease)).toEqual(expected);
  });

  it('takes the schema defaults for retry when neither sets one', () => {
    expect(notificationRetry(effectiveNotifications({ channels: [ding] }, {}))).toEqual(DEFAULT_NOTIFICATION_RETRY);
    expect(notificationRetry({ retry: { attempts: 2, backoffSeconds: 1 } })).toEqual({ attempts: 2, backoffSeconds: 1 });
  });
});

describe('planNotifications', () => {
  const config: Notifications = {
    channels: [ding, wecom, mail, hook],
    rules: [
      { events: ['release_start', 'release_success'], channels: ['ding'] },
      { events: ['release_failed'], channels: ['ding', 'mail'] },
      { events: ['approval_required'], channels: ['ding', 'wecom', 'mail'], recipients: ['${APPROVERS}'] },
      { events: ['release_start'], channels: ['hook'], recipients: ['oncall'] },
    ],
  };

  it.each<[string, Parameters<typeof planNotifications>[1], string[]]>([
    ['release_start', 'release_start', ['uid-1/release_start/ding/0', 'uid-1/release_start/hook/3']],
    ['release_success', 'release_success', ['uid-1/release_start/ding/0']],
    ['release_failed', 'release_failed', ['uid-1/release_start/ding/1', 'uid-1/release_start/mail/1']],
    ['approval_required', 'approval_required', ['uid-1/release_start/ding/2', 'uid-1/release_start/wecom/2', 'uid-1/release_start/mail/2']],
  ])('makes one delivery per matching rule and channel for %s, keyed by prefix, channel and rule', (_name, event, keys) => {
    const plan = planNotifications(config, event, context);
    expect(plan.problems).toEqual([]);
    expect(plan.deliveries.map((d) => d.key)).toEqual(keys);
    expect(plan.deliveries.every((d) => d.event === event)).toBe(true);
  });

  it('resolves every string of the channel, secrets included', () => {
    const [dingDelivery, hookDelivery] = planNotifications(config, 'release_start', context).deliveries;
    expect(dingDelivery!.channel).toEqual({ name: 'ding', type: 'dingtalk', dingtalk: { url: variables.DINGTALK_WEBHOOK, secret: 'SECabc', atAll: false } });
    expect(hookDelivery!.channel.webhook).toEqual({ url: 'https://hooks.example/shop', method: 'POST', headers: { Authorization: 'Bearer hook-000' } });
    expect(hookDelivery).toMatchObject({ recipients: ['oncall'], release, environment: 'prod' });
  });

  it('writes the built-in text per event with the facts it has, leaving out the ones it lacks', () => {
    const texts = (event: Parameters<typeof planNotifications>[1], more: Partial<NotificationContext> = {}) =>
      planNotifications(config, event, { ...context, ...more }).deliveries[0]!.text;
    expect(texts('release_start')).toBe('Release started\nProject: shop\nEnvironment: prod\nVersion: 1.2.0\nBy: alice');
    expect(texts('release_success', { durationSeconds: 252 })).toBe('Release succeeded\nProject: shop\nEnvironment: prod\nVersion: 1.2.0\nDuration: 4m 12s');
    expect(texts('release_failed', { errorMessage: 'health check failed' })).toBe('Release failed\nProject: shop\nEnvironment: prod\nVersion: 1.2.0\nError: health check failed');
    expect(texts('approval_required', { approvers: ['bob', 'carol'], approvalUrl: 'https://shipway.example/approve/1' })).toBe(
      'Approval required\nProject: shop\nEnvironment: prod\nVersion: 1.2.0\nRequested by: alice\nApprovers: bob, carol\nApprove at: https://shipway.example/approve/1',
    );
  });

  it("uses the event's template, resolving the release's variables and the message's facts", () => {
    const templated: Notifications = {
      ...config,
      templates: { release_failed: '❌ ${PROJECT_NAME} ${RELEASE_VERSION} in ${RELEASE_ENV} by ${RELEASE_USER}: ${ERROR_MESSAGE} (${UNKNOWN})' },
    };
    const plan = planNotifications(templated, 'release_failed', { ...context, errorMessage: 'rollout timed out' });
    expect(plan.deliveries[0]!.text).toBe('❌ shop 1.2.0 in prod by alice: rollout timed out (${UNKNOWN})');
  });

  it('gives email a subject, and chat channels none', () => {
    const [dingDelivery, mailDelivery] = planNotifications(config, 'release_failed', context).deliveries;
    expect(dingDelivery!.subject).toBeUndefined();
    expect(mailDelivery!.subject).toBe('[shipway] shop 1.2.0: release failed in prod');
  });

  it.each<[string, string[] | undefined, readonly string[] | undefined, NotificationChannel, string[]]>([
    ['${APPROVERS} as one recipient per approver', ['${APPROVERS}'], ['bob', 'carol'], ding, ['bob', 'carol']],
    ['${APPROVERS} inside an address, per approver', ['${APPROVERS}@example.com', 'lead@example.com'], ['bob', 'carol'], mail, ['bob@example.com', 'carol@example.com', 'lead@example.com']],
    ['${APPROVERS} without approvers as nobody', ['${APPROVERS}'], undefined, ding, []],
    ['variables in recipients', ['${RELEASE_USER}'], undefined, wecom, ['alice']],
    ['each recipient once', ['alice', '${RELEASE_USER}'], undefined, ding, ['alice']],
    ['email without rule recipients to email.to', undefined, undefined, mail, ['ops@example.com']],
    ['email whose ${APPROVERS} found nobody to email.to', ['${APPROVERS}'], [], mail, ['ops@example.com']],
    ['chat without recipients to nobody in particular', undefined, undefined, ding, []],
  ])('addresses %s', (_name, recipients, approvers, channel, expected) => {
    const plan = planNotifications(
      { channels: [channel], rules: [{ events: ['approval_required'], channels: [channel.name], ...(recipients ? { recipients } : {}) }] },
      'approval_required',
      { ...context, ...(approvers ? { approvers } : {}) },
    );
    expect(plan.problems).toEqual([]);
    expect(plan.deliveries[0]!.recipients).toEqual(expected);
  });

  it.each<[string, Notifications, string[]]>([
    [
      'a rule naming an unknown channel',
      { channels: [ding], rules: [{ events: ['release_start'], channels: ['slack'] }] },
      ['rules[0]: channel slack is not defined'],
    ],
    [
      'an unresolved variable in a URL',
      { channels: [{ name: 'ding', type: 'dingtalk', dingtalk: { url: '${DINGTALK_TOKEN_URL}', atAll: false } }], rules: [{ events: ['release_start'], channels: ['ding'] }] },
      ['rules[0] channel ding: dingtalk.url refers to ${DINGTALK_TOKEN_URL}, which is not set'],
    ],
    [
      'an unresolved variable in a header and a password',
      {
        channels: [
          { name: 'hook', type: 'webhook', webhook: { url: 'https://hooks.example', method: 'POST', headers: { 'X-Token': '${MISSING_TOKEN}' } } },
          { ...mail, email: { ...mail.email!, password: '${MISSING_PASSWORD}' } },
        ],
        rules: [{ events: ['release_start'], channels: ['hook', 'mail'] }],
      },
      [
        'rules[0] channel hook: webhook.headers.X-Token refers to ${MISSING_TOKEN}, which is not set',
        'rules[0] channel mail: email.password refers to ${MISSING_PASSWORD}, which is not set',
      ],
    ],
    [
      'an unresolved variable in a recipient',
      { channels: [ding], rules: [{ events: ['release_start'], channels: ['ding'], recipients: ['${ONCALL}'] }] },
      ['rules[0] channel ding: recipients refer to ${ONCALL}, which is not set'],
    ],
    [
      'email with nobody to send to',
      { channels: [{ ...mail, email: { ...mail.email!, to: [] } }], rules: [{ events: ['release_start'], channels: ['mail'] }] },
      ["rules[0] channel mail: no recipients (set the rule's recipients or email.to)"],
    ],
  ])('leaves out a delivery for %s, naming it but no value', (_name, broken, problems) => {
    const plan = planNotifications(broken, 'release_start', context);
    expect(plan.problems).toEqual(problems);
    expect(plan.deliveries).toEqual([]);
    for (const value of Object.values(variables)) expect(plan.problems.join('\n')).not.toContain(value);
  });

  it('keeps the deliveries that are fine next to those left out', () => {
    const plan = planNotifications({ channels: [ding], rules: [{ events: ['release_start'], channels: ['nope', 'ding'] }] }, 'release_start', context);
    expect(plan.deliveries.map((d) => d.key)).toEqual(['uid-1/release_start/ding/0']);
    expect(plan.problems).toHaveLength(1);
  });

  it('takes the release and environment from the variables when not given', () => {
    const plan = planNotifications(config, 'release_success', {
      variables: { ...variables, PROJECT_NAME: 'shop', RELEASE_NAME: 'shop-1-2-0', RELEASE_VERSION: '1.2.0', RELEASE_ENV: 'pre', DURATION: '93s' },
      dedupPrefix: 'p',
    });
    expect(plan.deliveries[0]).toMatchObject({
      release: { namespace: '', name: 'shop-1-2-0', project: 'shop', version: '1.2.0' },
      environment: 'pre',
      text: 'Release succeeded\nProject: shop\nEnvironment: pre\nVersion: 1.2.0\nDuration: 93s',
    });
  });

  it('plans nothing without rules for the event', () => {
    expect(planNotifications({ channels: [ding] }, 'release_start', context)).toEqual({ deliveries: [], problems: [] });
  });
});

describe('planTaskNotification', () => {
  const config: Notifications = { channels: [ding, mail] };
  const taskContext = { variables, release, environment: 'pre', dedupPrefix: 'shop/run-1', text: 'Deployed 1.2.0' };

  it("sends the task's text to each named channel once, keyed by the run and channel", () => {
    const plan = planTaskNotification(config, ['ding', 'mail', 'ding'], taskContext);
    expect(plan.problems).toEqual([]);
    expect(plan.deliveries).toEqual([
      expect.objectContaining({ key: 'shop/run-1/ding', event: 'notify', text: 'Deployed 1.2.0', recipients: [] }),
      expect.objectContaining({ key: 'shop/run-1/mail', event: 'notify', text: 'Deployed 1.2.0', recipients: ['ops@example.com'], subject: '[shipway] shop 1.2.0: release notification in pre' }),
    ]);
  });

  it.each<[string, Notifications | undefined]>([
    ['without a policy', undefined],
    ['when the policy lacks it', config],
  ])('names an undefined channel as a problem %s', (_name, policy) => {
    const plan = planTaskNotification(policy, ['ops'], taskContext);
    expect(plan.problems).toEqual(['channel ops is not defined in the notification policy (notifications.channels of the Pipeline or Release)']);
    expect(plan.deliveries).toEqual([]);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [59.6, '1m'],
    [61, '1m 1s'],
    [3600, '1h'],
    [3723, '1h 2m 3s'],
    [-5, '0s'],
  ])('shows %s seconds as %s', (seconds, shown) => {
    expect(formatDuration(seconds)).toBe(shown);
  });
});
