import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Task } from '../../operator/src/api/pipeline.ts';
import { createNotifyExecutor } from '../../operator/src/tasks/notify-executor.ts';
import { SECRET, task, taskContext } from './task-context.ts';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

const executor = createNotifyExecutor({ requestTimeoutMs: 1000 });
const notify = (block: NonNullable<Task['notify']>) => task({ id: 'tell-team', type: 'notify', notify: block });

describe('notify executor (webhook)', () => {
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

  it('fails for good with only named channels: they arrive with the notification policy', async () => {
    const outcome = await executor.run(taskContext(notify({ channels: ['ops', 'dingtalk'] })));
    expect(outcome).toEqual({ status: 'failed', retryable: false, error: expect.stringContaining('named channels arrive with the notification policy') });
    expect(received).toHaveLength(0);
  });

  it('sends the webhook when channels are named too, saying the channels were not sent', async () => {
    const lines: string[] = [];
    const outcome = await executor.run(taskContext(notify({ channels: ['ops'], webhook: { url: base, method: 'POST' } }), { log: (line) => lines.push(line) }));
    expect(outcome).toMatchObject({ status: 'succeeded' });
    expect(received).toHaveLength(1);
    expect(lines[0]).toContain('channels ops are not sent yet');
  });

  it('is never repeated by a restarted operator', () => {
    expect(executor.onRestart).toBe('at-most-once');
  });
});
