import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthCheckSpec } from '../../operator/src/api/common.ts';
import { createHealthCheckExecutor } from '../../operator/src/tasks/health-check-executor.ts';
import { SECRET, task, taskContext } from './task-context.ts';
import { closedPort } from '../support/ports.ts';

const executor = createHealthCheckExecutor();

function check(spec: Partial<HealthCheckSpec>) {
  return task({
    id: 'smoke',
    type: 'health_check',
    healthCheck: { type: 'http', timeoutSeconds: 2, retry: 0, intervalSeconds: 1, successThreshold: 1, ...spec },
  });
}

describe('health_check executor', () => {
  let http: HttpServer;
  let base: string;
  /** Status codes the /flaky path answers in turn, then 200. */
  let flaky: number[] = [];
  const requests: string[] = [];
  let tcp: TcpServer;
  let tcpPort: number;

  beforeAll(async () => {
    http = createHttpServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.url === '/hang') return; // never answers
      if (req.url?.startsWith('/status/')) {
        res.writeHead(Number(req.url.slice('/status/'.length))).end('status');
        return;
      }
      if (req.url === '/flaky') {
        res.writeHead(flaky.shift() ?? 200).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    tcp = createTcpServer((socket) => socket.end());
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    tcpPort = (tcp.address() as AddressInfo).port;
  });
  afterAll(async () => {
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
    await new Promise((resolve) => tcp.close(resolve));
  });

  it('passes an http check answered with a 2xx status', async () => {
    const outcome = await executor.run(taskContext(check({ url: `${base}/healthz` })));
    expect(outcome).toEqual({ status: 'succeeded', output: `GET ${base}/healthz: 200 OK` });
  });

  it('fails an http check answered with 503 when no retry is left, as retryable', async () => {
    const outcome = await executor.run(taskContext(check({ url: `${base}/status/503` })));
    expect(outcome).toEqual({ status: 'failed', retryable: true, error: `GET ${base}/status/503: 503 Service Unavailable, expected a 2xx status (the only try failed)` });
  });

  it('passes only on the expected status when expectStatus is set', async () => {
    expect(await executor.run(taskContext(check({ url: `${base}/status/204`, expectStatus: 204 })))).toMatchObject({ status: 'succeeded' });
    expect(await executor.run(taskContext(check({ url: `${base}/healthz`, expectStatus: 204 })))).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('200 OK, expected 204'),
    });
  });

  it('tries again intervalSeconds later, up to retry extra tries', async () => {
    flaky = [503, 502];
    const lines: string[] = [];
    const started = Date.now();
    const outcome = await executor.run(taskContext(check({ url: `${base}/flaky`, retry: 2 }), { log: (line) => lines.push(line) }));
    expect(outcome).toMatchObject({ status: 'succeeded' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(lines).toEqual([
      expect.stringContaining('503 Service Unavailable, expected a 2xx status (try 1, failure 1 of at most 3)'),
      expect.stringContaining('502 Bad Gateway, expected a 2xx status (try 2, failure 2 of at most 3)'),
      expect.stringContaining('200 OK (try 3, 1/1 consecutive successes)'),
    ]);
  });

  it('gives up after retry extra tries', async () => {
    flaky = [500, 500, 200];
    const outcome = await executor.run(taskContext(check({ url: `${base}/flaky`, retry: 1 })));
    expect(outcome).toMatchObject({ status: 'failed', error: expect.stringContaining('500 Internal Server Error, expected a 2xx status (2 tries failed)') });
    flaky = [];
  });

  it('needs successThreshold consecutive successes, a failure starting the count again', async () => {
    flaky = [200, 503];
    const lines: string[] = [];
    const outcome = await executor.run(taskContext(check({ url: `${base}/flaky`, retry: 1, successThreshold: 2 }), { log: (line) => lines.push(line) }));
    expect(outcome).toEqual({ status: 'succeeded', output: `GET ${base}/flaky: 200 OK (2 consecutive successes)` });
    expect(lines.map((line) => line.replace(/^.*\(/, '('))).toEqual([
      '(try 1, 1/2 consecutive successes)',
      '(try 2, failure 1 of at most 2)',
      '(try 3, 1/2 consecutive successes)',
      '(try 4, 2/2 consecutive successes)',
    ]);
  });

  it('fails a try that gets no answer within timeoutSeconds', async () => {
    const started = Date.now();
    const outcome = await executor.run(taskContext(check({ url: `${base}/hang`, timeoutSeconds: 1 })));
    expect(outcome).toMatchObject({ status: 'failed', error: `GET ${base}/hang: no answer within 1 s (the only try failed)` });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('names the connection problem when nothing listens', async () => {
    const port = await closedPort();
    const outcome = await executor.run(taskContext(check({ url: `http://127.0.0.1:${port}/` })));
    expect(outcome).toMatchObject({ status: 'failed', retryable: true, error: expect.stringContaining(`ECONNREFUSED 127.0.0.1:${port}`) });
  });

  it('resolves ${VAR} in the url and masks secret values in what it reports', async () => {
    const outcome = await executor.run(taskContext(check({ url: `${base}/healthz?v=\${RELEASE_VERSION}&token=\${API_TOKEN}` })));
    expect(requests).toContain(`/healthz?v=1.1.0&token=${SECRET}`);
    expect(outcome).toEqual({ status: 'succeeded', output: `GET ${base}/healthz?v=1.1.0&token=******: 200 OK` });
  });

  it('passes a tcp check when the port accepts a connection', async () => {
    const outcome = await executor.run(taskContext(check({ type: 'tcp', host: '127.0.0.1', port: tcpPort })));
    expect(outcome).toEqual({ status: 'succeeded', output: `tcp 127.0.0.1:${tcpPort}: connected` });
  });

  it('fails a tcp check when the connection is refused', async () => {
    const port = await closedPort();
    const outcome = await executor.run(taskContext(check({ type: 'tcp', host: '127.0.0.1', port })));
    expect(outcome).toMatchObject({ status: 'failed', retryable: true, error: expect.stringContaining('ECONNREFUSED') });
  });

  it('refuses script health checks: they run on agent targets', async () => {
    const outcome = await executor.run(taskContext(check({ type: 'script', script: 'curl -f localhost' })));
    expect(outcome).toEqual({ status: 'failed', retryable: false, error: expect.stringContaining('script health checks run on agent targets') });
  });

  it('stops waiting between tries when the engine aborts, with the abort reason', async () => {
    flaky = [503, 503, 503];
    const controller = new AbortController();
    const running = executor.run(taskContext(check({ url: `${base}/flaky`, retry: 5, intervalSeconds: 10 }), { signal: controller.signal }));
    setTimeout(() => controller.abort(new Error('task timed out')), 100);
    const started = Date.now();
    await expect(running).rejects.toThrow('task timed out');
    expect(Date.now() - started).toBeLessThan(1000);
    flaky = [];
  });
});
