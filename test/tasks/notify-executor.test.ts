import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { NotificationChannel, Notifications } from '../../operator/src/api/notifications.ts';
import type { Task } from '../../operator/src/api/pipeline.ts';
import { createNotifyExecutor } from '../../operator/src/tasks/notify-executor.ts';
import { recordingSleep } from '../notifications/delivery-fixtures.ts';
import { SECRET, task, taskContext } from './task-context.ts';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

const executor = createNotifyExecutor({ requestTimeoutMs: 1000 });
const notify = (block: NonNullable<Task['notify']>) => task({ id: 'tell-team', type: 'notify', notify: block });

describe('notify executor', () => {
  let server: Server;
  let base: string;
  let received: Received[] = [];
  /** What the receiver answers next. */
  let answer: { status: number; body: string } = { status: 204, body: '' };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: text ? JSON.parse(text) : undefined });
        if (req.url === '/hang') return;
        res.writeHead(answer.status).end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    received = [];
    answer = { status: 204, body: '' };
  });

  it('POSTs the release, environment, target and resolved text as JSON, keyed by the run', async () => {
    const context = taskContext(notify({ webhook: { url: `${base}/hooks/\${RELEASE_VERSION}`, method: 'POST' }, template: 'Shipped ${RELEASE_VERSION} to ${TARGET_HOST}' }));
    const outcome = await executor.run(context);
    expect(outcome).toEqual({ status: 'succeeded', output: 'Shipped 1.1.0 to ${TARGET_HOST}' });
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request).toMatchObject({ method: 'POST', url: '/hooks/1.1.0' });
    expect(request!.headers).toMatchObject({ 'content-type': 'application/json', 'idempotency-key': context.runKey });
    expect(request!.body).toEqual({
      release: { namespace: 'shop', name: 'shop-1-1-0', project: 'shop', version: '1.1.0' },
      environment: 'pre',
      target: { namespace: 'shop', name: 'web-pre', labels: { region: 'eu-west' } },
      text: 'Shipped 1.1.0 to ${TARGET_HOST}',
    });
  });

  it('sends the configured method and headers, resolving ${VAR} in header values', async () => {
    await executor.run(taskContext(notify({ webhook: { url: `${base}/put`, method: 'PUT', headers: { Authorization: 'Bearer ${API_TOKEN}', 'X-Release': '${RELEASE_VERSION}' } } })));
    expect(received[0]).toMatchObject({ method: 'PUT', headers: { authorization: `Bearer ${SECRET}`, 'x-release': '1.1.0' } });
  });

  it('keeps its own content type and idempotency key over headers of the same name', async () => {
    const context = taskContext(notify({ webhook: { url: base, method: 'POST', headers: { 'Content-Type': 'text/plain', 'Idempotency-Key': 'mine' } } }));
    await executor.run(context);
    expect(received[0]!.headers).toMatchObject({ 'content-type': 'application/json', 'idempotency-key': context.runKey });
  });

  it('describes the release when there is no template', async () => {
    const outcome = await executor.run(taskContext(notify({ webhook: { url: base, method: 'POST' } })));
    expect(outcome).toEqual({ status: 'succeeded', output: 'Release shop-1-1-0 (shop 1.1.0) on target web-pre in pre' });
  });

  it('masks secret values in the text it sends and reports', async () => {
    const outcome = await executor.run(taskContext(notify({ webhook: { url: base, method: 'POST' }, template: 'token=${API_TOKEN}' })));
    expect(outcome).toEqual({ status: 'succeeded', output: 'token=******' });
    expect(JSON.stringify(received[0]!.body)).not.toContain(SECRET);
  });

  it('fails, retryably, when the receiver answers non-2xx, quoting the answer', async () => {
    answer = { status: 503, body: 'maintenance until 14:00' };
    const outcome = await executor.run(taskContext(notify({ webhook: { url: `${base}/x?key=\${API_TOKEN}`, method: 'POST' } })));
    expect(outcome).toEqual({
      status: 'failed',
      retryable: true,
      error: `POST ${base}/x?key=****** answered 503 Service Unavailable: maintenance until 14:00`,
      output: 'Release shop-1-1-0 (shop 1.1.0) on target web-pre in pre',
    });
  });

  it('fails, retryably, when the receiver does not answer in time', async () => {
    const outcome = await executor.run(taskContext(notify({ webhook: { url: `${base}/hang`, method: 'POST' } })));
    expect(outcome).toMatchObject({ status: 'failed', retryable: true, error: `POST ${base}/hang: no answer within 1s` });
  });

  describe('named channels', () => {
    const policy = (channels: NotificationChannel[], retry = { attempts: 1, backoffSeconds: 1 }): Notifications => ({ channels, retry });
    const hookChannel = (name: string, url: string): NotificationChannel => ({ name, type: 'webhook', webhook: { url, method: 'POST' } });

    it("sends its text to the policy's channels of those names, keyed by the run and channel", async () => {
      const lines: string[] = [];
      const context = taskContext(notify({ channels: ['ops'], template: 'Shipped ${RELEASE_VERSION}' }), {
        notifications: policy([hookChannel('ops', `${base}/channel/\${RELEASE_VERSION}`), hookChannel('other', `${base}/other`)]),
        log: (line) => lines.push(line),
      });
      const outcome = await executor.run(context);
      expect(outcome).toEqual({ status: 'succeeded', output: 'Shipped 1.1.0' });
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({ method: 'POST', url: '/channel/1.1.0', headers: { 'idempotency-key': `${context.runKey}/ops` } });
      expect(received[0]!.body).toEqual({
        event: 'notify',
        release: { namespace: 'shop', name: 'shop-1-1-0', project: 'shop', version: '1.1.0' },
        environment: 'pre',
        text: 'Shipped 1.1.0',
        recipients: [],
      });
      expect(lines).toEqual(['channel ops (webhook) took the message after 1 try']);
    });

    it('sends to its channels and its webhook both', async () => {
      const outcome = await executor.run(taskContext(notify({ channels: ['ops'], webhook: { url: `${base}/task-hook`, method: 'POST' } }), { notifications: policy([hookChannel('ops', `${base}/channel`)]) }));
      expect(outcome).toMatchObject({ status: 'succeeded' });
      expect(received.map((r) => r.url).sort()).toEqual(['/channel', '/task-hook']);
    });

    it.each<[string, Notifications | undefined]>([
      ['without a notification policy', undefined],
      ['when the policy has no channel of that name', policy([hookChannel('ops', 'http://127.0.0.1:1/never')])],
    ])('fails for good on an undefined channel name %s, sending nothing', async (_name, notifications) => {
      const context = taskContext(notify({ channels: ['ops', 'dingtalk'], webhook: { url: base, method: 'POST' } }), notifications ? { notifications } : {});
      const outcome = await executor.run(context);
      expect(outcome).toMatchObject({ status: 'failed', retryable: false, error: expect.stringContaining('channel dingtalk is not defined in the notification policy') });
      expect(received).toHaveLength(0);
    });

    it('fails for good when a channel refers to a variable that is not set, naming it and no value', async () => {
      const outcome = await executor.run(taskContext(notify({ channels: ['ops'] }), { notifications: policy([hookChannel('ops', `${base}/x?token=\${OPS_TOKEN}`)]) }));
      expect(outcome).toMatchObject({ status: 'failed', retryable: false, error: 'notify channel ops: webhook.url refers to ${OPS_TOKEN}, which is not set' });
      expect(received).toHaveLength(0);
    });

    it("retries a channel with the policy's retry, then offers the engine a retry when nothing arrived", async () => {
      answer = { status: 503, body: 'busy' };
      const { sleep, waits } = recordingSleep();
      const outcome = await createNotifyExecutor({ requestTimeoutMs: 1000, sleep }).run(
        taskContext(notify({ channels: ['ops'] }), { notifications: policy([hookChannel('ops', `${base}/channel?key=\${API_TOKEN}`)], { attempts: 2, backoffSeconds: 3 }) }),
      );
      expect(outcome).toEqual({
        status: 'failed',
        retryable: true,
        error: `channel ops (webhook) failed after 2 tries: POST ${base}/channel answered 503 Service Unavailable: busy`,
        output: 'Release shop-1-1-0 (shop 1.1.0) on target web-pre in pre',
      });
      expect(waits).toEqual([3000]);
      expect(received).toHaveLength(2);
    });

    it('offers no retry once part of the audience has the message, so nobody hears it twice', async () => {
      const outcome = await executor.run(
        taskContext(notify({ channels: ['down'], webhook: { url: base, method: 'POST' } }), { notifications: policy([hookChannel('down', 'http://127.0.0.1:1/refused')]) }),
      );
      expect(outcome).toMatchObject({ status: 'failed', retryable: false, error: expect.stringContaining('channel down (webhook) failed after 1 try') });
      expect(received).toHaveLength(1);
    });

    it('passes a permanent channel failure on as permanent', async () => {
      answer = { status: 404, body: 'no such hook' };
      const outcome = await executor.run(taskContext(notify({ channels: ['ops'] }), { notifications: policy([hookChannel('ops', `${base}/gone`)], { attempts: 3, backoffSeconds: 1 }) }));
      expect(outcome).toMatchObject({ status: 'failed', retryable: false });
      expect(received).toHaveLength(1);
    });
  });

  it('is never repeated by a restarted operator', () => {
    expect(executor.onRestart).toBe('at-most-once');
  });
});
