/**
 * Release notifications end to end on the API emulator: one loopback HTTP server plays a DingTalk robot
 * (checking `timestamp` and `sign` as DingTalk does), a WeCom robot and a generic webhook, and a real SMTP
 * server wants a login. Tokens, the signing secret, the SMTP password and a webhook header come from
 * secret variables backed by a Secret. Covered: release_start and release_success to all four (text from
 * templates with variables, recipients, signature, subject), each once; release_failed with the error;
 * approval_required naming the approvers; a receiver that answers 500 twice then 200; a channel down for
 * good, which neither fails nor delays the release and is recorded as failed; a Pipeline's notify task
 * sending through a named channel.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRobotReceiver, type ReceivedRequest, type RobotReceiver } from '../notifications/chat-robot-receiver.ts';
import { startSmtpReceiver, type SmtpReceiver } from '../support/smtp-receiver.ts';
import { eventually } from '../support/until.ts';
import type { AuditEvent } from '../../operator/src/storage/index.ts';
import { useEngine, workloads } from './engine-fixture.ts';

const engine = useEngine();
const accounts = { dingTalk: {} as Record<string, string | undefined>, weCom: [] as string[] };
const SMTP_USER = 'shipway';
const SMTP_PASSWORD = `smtp-${randomBytes(12).toString('hex')}`;
let robots: RobotReceiver;
let smtp: SmtpReceiver;
/** A loopback port nothing listens on: a channel that is down for good. */
let deadPort: number;

beforeAll(async () => {
  [robots, smtp] = await Promise.all([startRobotReceiver(accounts), startSmtpReceiver({ user: SMTP_USER, password: SMTP_PASSWORD })]);
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  deadPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
});
afterAll(async () => {
  await Promise.all([robots?.close(), smtp?.close()]);
});

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** Robot accounts of one test (registered with the receiver), kept in a Secret the variables read. */
function robotAccounts(ns: string) {
  const a = {
    dingTalkToken: hex(16),
    dingTalkSecret: `SEC${hex(24)}`,
    weComKey: hex(16),
    hookToken: hex(20),
    hookPath: `/hooks/${ns}`,
  };
  accounts.dingTalk[a.dingTalkToken] = a.dingTalkSecret;
  accounts.weCom.push(a.weComKey);
  const secret = `
apiVersion: v1
kind: Secret
metadata: { name: robots, namespace: ${ns} }
stringData:
  dingtalk-url: ${robots.dingTalkUrl(a.dingTalkToken)}
  dingtalk-secret: ${a.dingTalkSecret}
  wecom-url: ${robots.weComUrl(a.weComKey)}
  hook-token: ${a.hookToken}
  smtp-password: ${SMTP_PASSWORD}
`;
  const received = {
    dingTalk: () => robots.received.filter((r) => r.path === '/robot/send' && r.query.get('access_token') === a.dingTalkToken),
    weCom: () => robots.received.filter((r) => r.path === '/cgi-bin/webhook/send' && r.query.get('key') === a.weComKey),
    hook: () => robots.received.filter((r) => r.path === a.hookPath),
  };
  return { ...a, secret, received };
}

/** The secret variables every channel below refers to. */
const SECRET_VARIABLES = `
    - { name: DINGTALK_WEBHOOK, type: secret, secretKeyRef: { name: robots, key: dingtalk-url } }
    - { name: DINGTALK_SECRET, type: secret, secretKeyRef: { name: robots, key: dingtalk-secret } }
    - { name: WECOM_WEBHOOK, type: secret, secretKeyRef: { name: robots, key: wecom-url } }
    - { name: HOOK_TOKEN, type: secret, secretKeyRef: { name: robots, key: hook-token } }
    - { name: SMTP_PASSWORD, type: secret, secretKeyRef: { name: robots, key: smtp-password } }`;

const channels = (hookUrl: string, extra = '') => `
    channels:
      - { name: ding, type: dingtalk, dingtalk: { url: '\${DINGTALK_WEBHOOK}', secret: '\${DINGTALK_SECRET}' } }
      - { name: wecom, type: wecom, wecom: { url: '\${WECOM_WEBHOOK}' } }
      - name: mail
        type: email
        email: { host: 127.0.0.1, port: ${smtp.port}, username: ${SMTP_USER}, password: '\${SMTP_PASSWORD}', from: shipway@example.com }
      - name: hook
        type: webhook
        webhook: { url: '${hookUrl}', headers: { authorization: 'Bearer \${HOOK_TOKEN}', x-team: '\${TEAM}' } }${extra}`;

function release(ns: string, o: { version?: string; environments?: string; notifications: string; variables?: string; pipeline?: string }) {
  return `
apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: r, namespace: ${ns} }
spec:
  project: shop
  version: ${o.version ?? '1.1.0'}
${o.pipeline ? `  pipelineRef: { name: ${o.pipeline} }\n` : ''}  environments: ${o.environments ?? '[{ name: pre, promotion: auto }]'}
  variables:${SECRET_VARIABLES}
    - { name: TEAM, value: shop-team }
    - { name: CHANGE_TICKET, value: CHG-4711 }${o.variables ?? ''}
  notifications:${o.notifications}
`;
}

/** What DingTalk computes for the request's timestamp: base64(HMAC-SHA256(secret, `${timestamp}\n${secret}`)). */
function expectSignedAsDingTalkWants(request: ReceivedRequest, secret: string) {
  // The raw query, decoded the way DingTalk decodes it: a sign with `+` left unencoded would read as a space.
  const query = new URLSearchParams(request.url.slice(request.url.indexOf('?') + 1));
  const timestamp = query.get('timestamp')!;
  expect(timestamp).toMatch(/^\d{13}$/);
  expect(Math.abs(Date.now() - Number(timestamp))).toBeLessThan(60 * 60 * 1000);
  expect(query.get('sign')).toBe(createHmac('sha256', secret).update(`${timestamp}\n${secret}`).digest('base64'));
}

type Details = { event?: string; channels?: string[]; problems?: string[]; results?: { channel: string; ok: boolean; attempts: number; error?: string }[] };
const details = (e: AuditEvent) => (e.details ?? {}) as Details;

/** The audit events of the release's notifications, once the result of `event` is recorded. */
async function notified(ns: string, event: string, timeoutMs = 30_000): Promise<{ claims: AuditEvent[]; results: AuditEvent[]; result: Details }> {
  let events: AuditEvent[] = [];
  await eventually(async () => {
    events = (await engine.history(ns, 'r')).auditEvents;
    return events.some((e) => e.action === 'notified' && details(e).event === event);
  }, { timeoutMs, message: () => `no notified audit event for ${event}; audit: ${JSON.stringify(events.map((e) => [e.action, e.details]))}\n${engine.logs.slice(-20).join('\n')}` });
  const claims = events.filter((e) => e.action === 'notify');
  const results = events.filter((e) => e.action === 'notified');
  return { claims, results, result: details(results.find((e) => details(e).event === event)!) };
}

const finished = (r: { status?: { phase?: string } }) => ['Succeeded', 'Failed', 'RolledBack'].includes(r.status?.phase ?? '');

describe('release notifications', () => {
  it('sends release_start and release_success to DingTalk (signed), WeCom, email and a webhook, each once, with secrets from a Secret', async () => {
    const ns = await engine.namespace('notify');
    const robot = robotAccounts(ns);
    const mailTo = [`ops+${ns}@example.com`, `lead+${ns}@example.com`];
    await engine.apply(`${workloads(ns, 'pre', ['a'])}---${robot.secret}`);
    await engine.apply(release(ns, {
      notifications: `${channels(`${robots.base}${robot.hookPath}`)}
    templates:
      release_start: 'Starting \${PROJECT_NAME} \${RELEASE_VERSION} in \${RELEASE_ENV} for \${CHANGE_TICKET}'
      release_success: '\${PROJECT_NAME} \${RELEASE_VERSION} is out in \${RELEASE_ENV} (\${CHANGE_TICKET}), by \${TEAM} in \${DURATION}'
    rules:
      - { events: [release_start, release_success], channels: [ding, wecom, hook], recipients: ['13800138000', zhangsan] }
      - { events: [release_start, release_success], channels: [mail], recipients: ${JSON.stringify(mailTo)} }`,
    }));
    const done = await engine.waitFor(ns, 'r', finished, 'the release finishes');
    expect(done.status.phase).toBe('Succeeded');
    const { claims, results, result } = await notified(ns, 'release_success');
    await notified(ns, 'release_start');

    // Each event claimed once, and every channel took it at the first try.
    expect(claims.map((e) => details(e).event).sort()).toEqual(['release_start', 'release_success']);
    expect(results).toHaveLength(2);
    for (const r of results) {
      expect(details(r).results!.map((x) => `${x.channel}:${x.ok}:${x.attempts}`).sort()).toEqual(['ding:true:1', 'hook:true:1', 'mail:true:1', 'wecom:true:1']);
    }
    expect(result.event).toBe('release_success');

    const startText = 'Starting shop 1.1.0 in pre for CHG-4711';
    const successText = (robot.received.hook()[1]?.body as { text?: string } | undefined)?.text ?? '';
    expect(successText).toMatch(/^shop 1\.1\.0 is out in pre \(CHG-4711\), by shop-team in \d+s$/);
    // DingTalk: signed with the secret variable, text and mentions split into mobiles and user ids.
    const ding = robot.received.dingTalk();
    expect(ding.map((r) => (r.body as { text: { content: string } }).text.content)).toEqual([startText, successText]);
    for (const r of ding) {
      expectSignedAsDingTalkWants(r, robot.dingTalkSecret);
      expect(r.body).toMatchObject({ msgtype: 'text', at: { atMobiles: ['13800138000'], atUserIds: ['zhangsan'], isAtAll: false } });
    }
    // WeCom: the key came from the secret variable.
    const wecom = robot.received.weCom();
    expect(wecom.map((r) => r.body)).toEqual([startText, successText].map((content) => ({
      msgtype: 'text', text: { content, mentioned_list: ['zhangsan'], mentioned_mobile_list: ['13800138000'] },
    })));
    // Webhook: headers with values from a secret and a plain variable, one idempotency key per event.
    const hook = robot.received.hook();
    expect(hook.map((r) => r.body)).toEqual([
      { event: 'release_start', release: { namespace: ns, name: 'r', project: 'shop', version: '1.1.0' }, environment: 'pre', text: startText, recipients: ['13800138000', 'zhangsan'] },
      { event: 'release_success', release: { namespace: ns, name: 'r', project: 'shop', version: '1.1.0' }, environment: 'pre', text: successText, recipients: ['13800138000', 'zhangsan'] },
    ]);
    for (const r of hook) {
      expect(r.method).toBe('POST');
      expect(r.headers.authorization).toBe(`Bearer ${robot.hookToken}`);
      expect(r.headers['x-team']).toBe('shop-team');
      expect(r.headers['content-type']).toBe('application/json');
    }
    expect(new Set(hook.map((r) => r.headers['idempotency-key'])).size).toBe(2);
    // Email: logged in with the password from the secret variable, to the rule's recipients.
    const mails = smtp.mails.filter((m) => m.to.includes(mailTo[0]!));
    expect(mails.map((m) => ({ user: m.user, from: m.from, to: m.to, subject: m.subject, text: m.text }))).toEqual([
      { user: SMTP_USER, from: 'shipway@example.com', to: mailTo, subject: '[shipway] shop 1.1.0: release started in pre', text: startText },
      { user: SMTP_USER, from: 'shipway@example.com', to: mailTo, subject: '[shipway] shop 1.1.0: release succeeded in pre', text: successText },
    ]);
    expect(smtp.refusedLogins).toBe(0);

    // Later passes (the release is finished, its status settles) send nothing again.
    await new Promise((r) => setTimeout(r, 1500));
    expect([robot.received.dingTalk().length, robot.received.weCom().length, robot.received.hook().length, smtp.mails.filter((m) => m.to.includes(mailTo[0]!)).length]).toEqual([2, 2, 2, 2]);
    // The secrets went to the receivers only, never to the operator's log.
    for (const value of [robot.dingTalkToken, robot.dingTalkSecret, robot.weComKey, robot.hookToken, SMTP_PASSWORD]) {
      expect(engine.logs.filter((l) => l.includes(value))).toEqual([]);
    }
  }, 90_000);

  it('sends release_failed with the error message', async () => {
    const ns = await engine.namespace('notify-failed');
    const robot = robotAccounts(ns);
    await engine.apply(`${workloads(ns, 'pre', ['a'], { progressDeadlineSeconds: 1 })}---${robot.secret}`);
    await engine.apply(release(ns, {
      version: '1.1.0-broken',
      notifications: `${channels(`${robots.base}${robot.hookPath}`)}
    templates:
      release_failed: '\${PROJECT_NAME} \${RELEASE_VERSION} failed in \${RELEASE_ENV}: \${ERROR_MESSAGE}'
    rules:
      - { events: [release_start, release_failed], channels: [hook] }`,
    }));
    const done = await engine.waitFor(ns, 'r', finished, 'the release finishes');
    expect(['Failed', 'RolledBack']).toContain(done.status.phase);
    expect(done.status.message).toContain('exceeded its progress deadline');
    const { claims, result } = await notified(ns, 'release_failed');
    expect(result.results).toEqual([{ channel: 'hook', ok: true, attempts: 1 }]);
    expect(claims.map((e) => details(e).event).sort()).toEqual(['release_failed', 'release_start']);
    const failed = robot.received.hook().filter((r) => (r.body as { event: string }).event === 'release_failed');
    expect(failed).toHaveLength(1);
    expect((failed[0]!.body as { text: string }).text).toBe(`shop 1.1.0-broken failed in pre: ${done.status.message}`);
  }, 90_000);

  it('sends approval_required to the approvers of an environment that needs an approval, a group as its members', async () => {
    const ns = await engine.namespace('notify-approval');
    const robot = robotAccounts(ns);
    await engine.apply(`${workloads(ns, 'prod', ['a'])}---${robot.secret}---
apiVersion: v1
kind: ConfigMap
metadata: { name: shipway-groups, namespace: ${ns} }
data: { sre: 'alice, bob' }
`);
    await engine.apply(release(ns, {
      environments: '[{ name: prod, promotion: auto, approval: { required: true, approvers: [lead], groups: [sre] } }]',
      notifications: `${channels(`${robots.base}${robot.hookPath}`)}
    templates:
      approval_required: 'Please approve \${PROJECT_NAME} \${RELEASE_VERSION} for \${RELEASE_ENV}: \${APPROVERS}'
    rules:
      - { events: [approval_required], channels: [hook, ding], recipients: ['\${APPROVERS}'] }
      - { events: [approval_required], channels: [mail], recipients: ['\${APPROVERS}+${ns}@example.com'] }`,
    }));
    const waiting = await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Approving', 'waits for the approval');
    expect(waiting.status.environments[0].waitingFor).toBe('approval by lead, group sre');
    const { result } = await notified(ns, 'approval_required');
    expect(result.results!.map((x) => `${x.channel}:${x.ok}`).sort()).toEqual(['ding:true', 'hook:true', 'mail:true']);
    const text = 'Please approve shop 1.1.0 for prod: lead, alice, bob';
    expect(robot.received.hook().map((r) => r.body)).toEqual([
      { event: 'approval_required', release: { namespace: ns, name: 'r', project: 'shop', version: '1.1.0' }, environment: 'prod', text, recipients: ['lead', 'alice', 'bob'] },
    ]);
    expect(robot.received.dingTalk().map((r) => r.body)).toEqual([
      { msgtype: 'text', text: { content: text }, at: { atMobiles: [], atUserIds: ['lead', 'alice', 'bob'], isAtAll: false } },
    ]);
    const mails = smtp.mails.filter((m) => m.to.some((to) => to.endsWith(`+${ns}@example.com`)));
    expect(mails.map((m) => [m.to, m.subject, m.text])).toEqual([
      [['lead', 'alice', 'bob'].map((who) => `${who}+${ns}@example.com`), '[shipway] shop 1.1.0: approval required in prod', text],
    ]);
    await engine.annotate(ns, 'r', { 'shipway.dev/action': 'approve', 'shipway.dev/actor': 'alice' });
    await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Succeeded', 'deploys after the approval');
    expect(robot.received.hook()).toHaveLength(1);
  }, 90_000);

  it('retries a receiver that answers 500 twice: the third try delivers', async () => {
    const ns = await engine.namespace('notify-retry');
    const robot = robotAccounts(ns);
    robots.script(robot.hookPath, { status: 500, body: 'busy' }, { status: 500, body: 'still busy' });
    await engine.apply(`${workloads(ns, 'pre', ['a'])}---${robot.secret}`);
    await engine.apply(release(ns, {
      notifications: `${channels(`${robots.base}${robot.hookPath}`)}
    rules:
      - { events: [release_start], channels: [hook] }
    retry: { attempts: 3, backoffSeconds: 1 }`,
    }));
    const { result } = await notified(ns, 'release_start');
    expect(result.results).toEqual([{ channel: 'hook', ok: true, attempts: 3 }]);
    const tries = robot.received.hook();
    expect(tries).toHaveLength(3);
    // The same message each time, with the same key, so a receiver that saw one can drop the others.
    expect(new Set(tries.map((r) => r.headers['idempotency-key'])).size).toBe(1);
    expect(new Set(tries.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect((tries[0]!.body as { text: string }).text).toBe('Release started\nProject: shop\nEnvironment: pre\nVersion: 1.1.0');
    await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Succeeded', 'the release succeeds');
  }, 90_000);

  it('keeps release_start until the Secret its channel needs exists, then sends it once (GitOps may apply the Release first)', async () => {
    const ns = await engine.namespace('notify-late-secret');
    const robot = robotAccounts(ns);
    await engine.apply(workloads(ns, 'pre', ['a']));
    await engine.apply(release(ns, {
      notifications: `${channels(`${robots.base}${robot.hookPath}`)}
    rules:
      - { events: [release_start], channels: [hook] }`,
    }));
    const stalled = await engine.waitFor(ns, 'r', (r) => r.status?.conditions?.some((c: { type: string; status: string; message: string }) => c.type === 'Stalled' && c.status === 'True' && c.message.includes('robots')), 'the release says which Secret it waits for');
    expect(stalled.status.startedAt).toBeDefined();
    expect(robot.received.hook()).toHaveLength(0);
    await engine.apply(robot.secret);
    const { result } = await notified(ns, 'release_start', 40_000);
    expect(result.results).toEqual([{ channel: 'hook', ok: true, attempts: 1 }]);
    expect(robot.received.hook()).toHaveLength(1);
    expect(robot.received.hook()[0]!.headers.authorization).toBe(`Bearer ${robot.hookToken}`);
    await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Succeeded', 'the release succeeds', 40_000);
    expect(robot.received.hook()).toHaveLength(1);
  }, 120_000);

  it('never fails or delays a release for a channel that is down for good, and records the failure', async () => {
    const ns = await engine.namespace('notify-down');
    const robot = robotAccounts(ns);
    await engine.apply(`${workloads(ns, 'pre', ['a'])}---${robot.secret}`);
    // Three tries 4 s then 8 s apart: the release is done long before the notifier gives up.
    await engine.apply(release(ns, {
      notifications: `${channels(`${robots.base}${robot.hookPath}`, `
      - { name: down, type: webhook, webhook: { url: 'http://127.0.0.1:${deadPort}/hook' } }`)}
    rules:
      - { events: [release_start], channels: [down, wecom] }
    retry: { attempts: 3, backoffSeconds: 4 }`,
    }));
    const started = Date.now();
    const done = await engine.waitFor(ns, 'r', finished, 'the release finishes');
    expect(done.status.phase).toBe('Succeeded');
    expect(Date.now() - started).toBeLessThan(10_000);
    // The working channel of the same rule was not held back either.
    expect(robot.received.weCom()).toHaveLength(1);
    let audit = (await engine.history(ns, 'r')).auditEvents;
    expect(audit.filter((e) => e.action === 'notify').map((e) => details(e))).toEqual([{ event: 'release_start', channels: ['down', 'wecom'], problems: [] }]);
    expect(audit.some((e) => e.action === 'notified')).toBe(false);

    const { result } = await notified(ns, 'release_start', 40_000);
    expect(result.results).toEqual([
      { channel: 'down', ok: false, attempts: 3, error: expect.stringContaining(`POST http://127.0.0.1:${deadPort}/hook: `) },
      { channel: 'wecom', ok: true, attempts: 1 },
    ]);
    expect(result.results![0]!.error).toMatch(/ECONNREFUSED/);
    expect(engine.logs.some((l) => l.includes(`notification release_start of ${ns}/r to down failed after 3 attempt(s)`))).toBe(true);
    audit = (await engine.history(ns, 'r')).auditEvents;
    expect((await engine.release(ns, 'r')).status.phase).toBe('Succeeded');
    expect(audit.filter((e) => e.action === 'notify' || e.action === 'notified')).toHaveLength(2);
  }, 90_000);

  it("sends a Pipeline's notify task through a channel the Pipeline's policy names", async () => {
    const ns = await engine.namespace('notify-task');
    const robot = robotAccounts(ns);
    await engine.apply(`${workloads(ns, 'pre', ['a', 'b'])}---${robot.secret}`);
    await engine.apply(`
apiVersion: shipway.dev/v1alpha1
kind: Pipeline
metadata: { name: announce, namespace: ${ns} }
spec:
  notifications:
    channels:
      - { name: team-room, type: wecom, wecom: { url: '\${WECOM_WEBHOOK}' } }
  stages:
    - name: ship
      phase: release
      tasks:
        - { id: deploy, type: deploy }
        - { id: tell, type: notify, dependsOn: [deploy], notify: { channels: [team-room], template: 'deployed \${APP_VERSION} to \${TARGET_NAME} for \${CHANGE_TICKET}' } }
`);
    await engine.apply(release(ns, { pipeline: 'announce', notifications: `
    rules: []` }));
    const done = await engine.waitFor(ns, 'r', finished, 'the release finishes');
    expect(done.status.phase).toBe('Succeeded');
    const texts = robot.received.weCom().map((r) => (r.body as { text: { content: string } }).text.content).sort();
    expect(texts).toEqual(['deployed 1.1.0 to a for CHG-4711', 'deployed 1.1.0 to b for CHG-4711']);
    const tasks = (await engine.history(ns, 'r')).deployments.flatMap((d) => d.stageRuns.flatMap((s) => s.taskRuns)).filter((t) => t.taskId === 'tell');
    expect(tasks.map((t) => `${t.status}:${t.outputTail}`).sort()).toEqual(['succeeded:deployed 1.1.0 to a for CHG-4711', 'succeeded:deployed 1.1.0 to b for CHG-4711']);
    // No rule names an event: the lifecycle sends nothing.
    expect((await engine.history(ns, 'r')).auditEvents.filter((e) => e.action === 'notify')).toEqual([]);
  }, 90_000);
});
