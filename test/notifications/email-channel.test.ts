import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { NotificationChannel } from '../../operator/src/api/notifications.ts';
import { createNotifier } from '../../operator/src/notifications/notifier.ts';
import { createMasker } from '../../operator/src/planning/masking.ts';
import { delivery, recordingSleep } from './delivery-fixtures.ts';

const USER = 'deploy';
const PASSWORD = 'smtp-password-value';

interface Mail {
  from: string;
  to: string[];
  raw: string;
}

describe('email channel', () => {
  let smtp: SMTPServer;
  let port: number;
  let mails: Mail[] = [];
  const notifier = createNotifier({ mask: createMasker([PASSWORD]), requestTimeoutMs: 3000, sleep: recordingSleep().sleep });
  const policy = { attempts: 3, backoffSeconds: 1, signal: new AbortController().signal };

  beforeAll(async () => {
    smtp = new SMTPServer({
      secure: false,
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      authMethods: ['PLAIN', 'LOGIN'],
      disableReverseLookup: true,
      logger: false,
      onAuth(auth, _session, callback) {
        if (auth.username === USER && auth.password === PASSWORD) callback(null, { user: USER });
        else callback(new Error('Invalid username or password'));
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString('utf8'),
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    port = (smtp.server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => smtp.close(() => resolve())));
  beforeEach(() => {
    mails = [];
  });

  const mail = (email: Partial<NonNullable<NotificationChannel['email']>> = {}): NotificationChannel => ({
    name: 'mail',
    type: 'email',
    email: { host: '127.0.0.1', port, secure: false, username: USER, password: PASSWORD, from: 'deploy@example.com', ...email },
  });

  it('sends the subject and text to every recipient through SMTP, logged in', async () => {
    const results = await notifier.send(
      [delivery(mail(), { recipients: ['ops@example.com', 'lead@example.com'], subject: '[shipway] shop 1.2.0: release failed in prod', text: 'Release failed\nError: rollout timed out' })],
      policy,
    );
    expect(results).toEqual([{ key: 'uid-1/release_start/mail/0', channel: 'mail', ok: true, attempts: 1 }]);
    expect(mails).toHaveLength(1);
    const [received] = mails;
    expect(received!.from).toBe('deploy@example.com');
    expect(received!.to).toEqual(['ops@example.com', 'lead@example.com']);
    expect(received!.raw).toMatch(/^Subject: \[shipway\] shop 1\.2\.0: release failed in prod\r$/m);
    expect(received!.raw).toMatch(/^To: ops@example\.com, lead@example\.com\r$/m);
    expect(received!.raw).toContain('Release failed\r\nError: rollout timed out');
  });

  it('fails for good when the server refuses the login, without quoting the password', async () => {
    const results = await notifier.send([delivery(mail({ password: `${PASSWORD}-wrong` }), { recipients: ['ops@example.com'], subject: 's' })], policy);
    expect(results[0]).toMatchObject({ ok: false, attempts: 1, permanent: true });
    expect(results[0]!.error).toContain(`SMTP 127.0.0.1:${port}:`);
    expect(results[0]!.error).toContain('535');
    expect(results[0]!.error).not.toContain(PASSWORD);
    expect(mails).toHaveLength(0);
  });

  it('fails for good without recipients', async () => {
    const results = await notifier.send([delivery(mail(), { recipients: [] })], policy);
    expect(results[0]).toMatchObject({ ok: false, attempts: 1, permanent: true, error: 'channel mail has no recipients' });
  });

  describe('against a server that never greets', () => {
    let silent: Server;
    let silentPort: number;
    beforeAll(async () => {
      silent = createServer(() => {});
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      silentPort = (silent.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((resolve) => silent.close(() => resolve())));

    it('gives up each try at the request timeout and retries it', async () => {
      const quick = createNotifier({ mask: createMasker([PASSWORD]), requestTimeoutMs: 300, sleep: recordingSleep().sleep });
      const started = Date.now();
      const results = await quick.send([delivery(mail({ port: silentPort }), { recipients: ['ops@example.com'], subject: 's' })], { ...policy, attempts: 2 });
      expect(results[0]).toMatchObject({ ok: false, attempts: 2, error: `SMTP 127.0.0.1:${silentPort}: no answer within 0.3s` });
      expect(results[0]).not.toHaveProperty('permanent');
      expect(Date.now() - started).toBeLessThan(3000);
    });
  });
});
