import { describe, expect, it } from 'vitest';
import { approverNames, ReleaseNotifications } from '../../operator/src/controllers/release-notifications.ts';
import type { Delivery } from '../../operator/src/planning/notification-plan.ts';
import { createMasker, MASK } from '../../operator/src/planning/masking.ts';
import type { Notifier } from '../../operator/src/notifications/notifier.ts';
import { SecretRegistry } from '../../operator/src/runtime/secret-registry.ts';
import type { AuditEvent, Repository } from '../../operator/src/storage/index.ts';

const groups = (entries: Record<string, string[]>) => async () => new Map(Object.entries(entries));

describe('approverNames', () => {
  it('turns a group into its members, keeping the order and each person once', async () => {
    expect(await approverNames(['lead', 'group sre', 'alice'], groups({ sre: ['alice', 'bob'] }))).toEqual(['lead', 'alice', 'bob']);
  });

  it('keeps a group it cannot resolve as named, and reads no groups for named approvers only', async () => {
    expect(await approverNames(['lead', 'group nobody'], groups({ sre: ['alice'] }))).toEqual(['lead', 'group nobody']);
    expect(await approverNames(['lead', 'group sre'], groups({ sre: [] }))).toEqual(['lead', 'group sre']);
    expect(await approverNames(['group sre'])).toEqual(['group sre']);
    const unread = async () => {
      throw new Error('must not be read');
    };
    expect(await approverNames(['lead', 'ops'], unread)).toEqual(['lead', 'ops']);
  });
});

describe('ReleaseNotifications', () => {
  it('mentions and mails the members of an approver group, and names them in the text', async () => {
    const sent: Delivery[] = [];
    const notifier: Notifier = { send: async (deliveries) => (sent.push(...deliveries), deliveries.map((d) => ({ key: d.key, channel: d.channel.name, ok: true, attempts: 1 }))) };
    const repo = { claimAuditEvent: async () => true, recordAuditEvent: async () => ({}) } as unknown as Repository;
    const notifications = new ReleaseNotifications({ repo, notifier, mask: createMasker([]) });
    await notifications.dispatch(
      { kind: 'notify', event: 'approval_required', key: 'approval_required/env/prod', environment: 'prod', approvers: ['lead', 'group sre'] },
      {
        uid: 'uid-1', namespace: 'shop', name: 'r', project: 'shop', version: '1.2.0', releaseId: 'row-1', variables: {},
        config: {
          channels: [
            { name: 'hook', type: 'webhook', webhook: { url: 'http://127.0.0.1:1/hook', method: 'POST' } },
            { name: 'mail', type: 'email', email: { host: 'smtp.example.com', port: 587, secure: false, from: 'shipway@example.com' } },
          ],
          templates: { approval_required: 'Approve ${RELEASE_VERSION}: ${APPROVERS}' },
          rules: [
            { events: ['approval_required'], channels: ['hook'], recipients: ['${APPROVERS}'] },
            { events: ['approval_required'], channels: ['mail'], recipients: ['${APPROVERS}@example.com'] },
          ],
        },
        groupMembers: groups({ sre: ['alice', 'bob'] }),
      },
    );
    await notifications.settled();
    expect(sent.map((d) => [d.channel.name, d.recipients, d.text])).toEqual([
      ['hook', ['lead', 'alice', 'bob'], 'Approve 1.2.0: lead, alice, bob'],
      ['mail', ['lead@example.com', 'alice@example.com', 'bob@example.com'], 'Approve 1.2.0: lead, alice, bob'],
    ]);
  });

  it('keeps the secrets of a release masked while its deliveries are retried, even after the release is deleted', async () => {
    const secrets = new SecretRegistry();
    secrets.set('uid-1', ['token-of-the-robot']);
    let fail!: (results: Awaited<ReturnType<Notifier['send']>>) => void;
    const notifier: Notifier = { send: () => new Promise((resolve) => (fail = resolve)) };
    const recorded: AuditEvent[] = [];
    const logs: string[] = [];
    const repo = { claimAuditEvent: async () => true, recordAuditEvent: async (e: AuditEvent) => (recorded.push(e), e) } as unknown as Repository;
    const notifications = new ReleaseNotifications({ repo, notifier, mask: secrets.masker(), secrets, log: (l) => logs.push(l) });
    await notifications.dispatch(
      { kind: 'notify', event: 'release_failed', key: 'release_failed/1', message: 'rollout failed' },
      {
        uid: 'uid-1', namespace: 'shop', name: 'r', project: 'shop', version: '1.2.0', releaseId: 'row-1', variables: { TOKEN: 'token-of-the-robot' },
        config: { channels: [{ name: 'hook', type: 'webhook', webhook: { url: 'http://127.0.0.1:1/hook', method: 'POST', headers: { authorization: '${TOKEN}' } } }], rules: [{ events: ['release_failed'], channels: ['hook'] }] },
      },
    );
    // The release is deleted while the channel is still being retried.
    secrets.forget('uid-1');
    fail([{ key: 'k', channel: 'hook', ok: false, attempts: 3, error: 'POST http://127.0.0.1:1/hook answered 401: unknown token token-of-the-robot' }]);
    await notifications.settled();
    expect(logs).toEqual([`notification release_failed of shop/r to hook failed after 3 attempt(s): POST http://127.0.0.1:1/hook answered 401: unknown token ${MASK}`]);
    expect(JSON.stringify(recorded.map((e) => e.details))).toContain(`unknown token ${MASK}`);
    // Once the deliveries are done, the deleted release's values go.
    expect(secrets.masker()('token-of-the-robot')).toBe('token-of-the-robot');
  });
});
