/**
 * The operator's HTTP endpoint on loopback: probes, metrics, and every way a build notification can be wrong
 * (refused with a status and a reason, nothing annotated). The ReleaseApps here are a list in memory; the
 * cluster side is covered by test/engine/version-switch.test.ts.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOperatorHttpServer, type OperatorHttpServer } from '../../operator/src/server/http-server.ts';
import { handleBuildNotify, type NotifiedApp } from '../../operator/src/server/build-notify.ts';
import { createOperatorMetrics } from '../../operator/src/server/metrics.ts';

const SECRET = 'unit-secret';
let secret: string | undefined = SECRET;
let ready = false;
const annotated: string[] = [];
const apps: NotifiedApp[] = [
  { namespace: 'shop', name: 'r1-web', release: 'r1', annotations: {} },
  { namespace: 'shop', name: 'r2-web', release: 'r2', annotations: { 'shipway.dev/new-tag': '2.0.0', 'shipway.dev/build': '9' } },
  { namespace: 'shop', name: 'r3-web', release: 'r3', annotations: {} },
];
let server: OperatorHttpServer;
const metrics = createOperatorMetrics({ releasePhases: () => ['Waiting', 'Waiting', 'Succeeded', undefined], connectedAgents: () => 3, leading: () => true });

beforeAll(async () => {
  server = await startOperatorHttpServer({
    port: 0,
    host: '127.0.0.1',
    notReady: () => (ready ? undefined : 'the informers have not synced yet'),
    metrics: metrics.registry,
    log: () => undefined,
    maxBodyBytes: 64 * 1024,
    buildNotify: (request) => handleBuildNotify(request, {
      secret: () => secret,
      activeReleaseApps: (app) => (app === 'web' ? apps : []),
      annotate: async (target, annotations) => {
        if (target.name === 'r3-web') throw new Error('the API server refused: forbidden');
        annotated.push(`${target.name} ${JSON.stringify(annotations)}`);
      },
      count: (result) => metrics.buildNotification(result),
      log: () => undefined,
    }),
  });
});
afterAll(() => server.close());

const url = (path: string) => `http://127.0.0.1:${server.port}${path}`;
const sign = (body: string) => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;

type Answer = { error?: string; [k: string]: unknown };

async function post(body: string, headers: Record<string, string>): Promise<{ status: number; body: Answer }> {
  const response = await fetch(url('/api/v1/builds/notify'), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: response.status, body: (await response.json()) as Answer };
}

describe('probes and metrics', () => {
  it('is alive at once, ready only once the operator says so', async () => {
    expect((await fetch(url('/healthz'))).status).toBe(200);
    const notYet = await fetch(url('/readyz'));
    expect([notYet.status, await notYet.text()]).toEqual([503, 'not ready: the informers have not synced yet\n']);
    ready = true;
    expect((await fetch(url('/readyz'))).status).toBe(200);
  });

  it('serves Prometheus text with the Shipway gauges read at scrape time', async () => {
    const response = await fetch(url('/metrics'));
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('shipway_releases{phase="Waiting"} 2');
    expect(text).toContain('shipway_releases{phase="Pending"} 1');
    expect(text).toContain('shipway_agents_connected 3');
    expect(text).toContain('shipway_leader 1');
    expect(text).toContain('shipway_operator_process_cpu_user_seconds_total');
  });

  it('answers unknown paths with 404 and wrong methods with 405 naming the allowed one', async () => {
    expect((await fetch(url('/nope'))).status).toBe(404);
    const wrong = await fetch(url('/api/v1/builds/notify'));
    expect([wrong.status, wrong.headers.get('allow')]).toEqual([405, 'POST']);
  });
});

describe('build notifications', () => {
  const good = JSON.stringify({ build_number: 12, build_status: 'success', apps: [{ name: 'web', image_tag: '2.0.0' }] });

  it.each<[string, string, Record<string, string>, number, string]>([
    ['no credentials', good, {}, 401, 'no credentials'],
    ['a signature of another body', good, { 'x-shipway-signature': sign(`${good} `) }, 401, 'does not match the body'],
    ['a malformed signature', good, { 'x-shipway-signature': 'md5=abc' }, 401, 'must be sha256=<64 hex digits>'],
    ['a wrong bearer secret', good, { authorization: 'Bearer guess' }, 401, 'not the one configured'],
    ['a body that is not JSON', '{"build_number":', { authorization: `Bearer ${SECRET}` }, 400, 'the body is not JSON'],
    ['a missing field', JSON.stringify({ build_number: 1, build_status: 'success' }), { authorization: `Bearer ${SECRET}` }, 400, 'apps: Required value'],
    ['an unknown field', JSON.stringify({ build_number: 1, build_status: 'success', apps: [{ name: 'web', image_tag: '1', tag: 'x' }] }), { authorization: `Bearer ${SECRET}` }, 400, 'apps[0].tag: unknown field'],
    ['an app name that is not one', JSON.stringify({ build_number: 1, build_status: 'success', apps: [{ name: 'Web App', image_tag: '1' }] }), { authorization: `Bearer ${SECRET}` }, 400, 'apps[0].name: Invalid value: "Web App"'],
    ['a body over the limit', JSON.stringify({ pad: 'x'.repeat(70 * 1024) }), { authorization: `Bearer ${SECRET}` }, 413, 'larger than 65536 bytes'],
  ])('%s is refused with %#', async (_, body, headers, status, reason) => {
    const before = annotated.length;
    const answer = await post(body, headers);
    expect(answer.status).toBe(status);
    expect(answer.body.error).toContain(reason);
    expect(annotated).toHaveLength(before);
  });

  it('refuses every call while no secret is configured', async () => {
    secret = undefined;
    try {
      const answer = await post(good, { authorization: 'Bearer anything' });
      expect(answer.status).toBe(503);
      expect(answer.body.error).toContain('--webhook-secret-file');
    } finally {
      secret = SECRET;
    }
  });

  it('annotates what is new, skips what already carries the tag, and reports a failed annotation as a server error', async () => {
    const body = JSON.stringify({ build_number: 9, build_status: 'success', apps: [{ name: 'web', image_tag: '2.0.0' }, { name: 'api', image_tag: '1.0.0' }] });
    const answer = await post(body, { 'x-shipway-signature': sign(body) });
    expect(answer.status).toBe(500);
    expect(answer.body).toMatchObject({
      build: '9',
      annotated: [{ namespace: 'shop', name: 'r1-web', app: 'web', tag: '2.0.0' }],
      unchanged: [{ namespace: 'shop', name: 'r2-web', app: 'web', tag: '2.0.0' }],
      noActiveRelease: ['api'],
      failed: [{ name: 'r3-web', error: 'the API server refused: forbidden' }],
    });
    expect(annotated.at(-1)).toBe('r1-web {"shipway.dev/new-tag":"2.0.0","shipway.dev/build":"9"}');
    expect(await (await fetch(url('/metrics'))).text()).toMatch(/shipway_build_notifications_total\{result="unauthorized"\} [1-9]/);
  });

  it('accepts and ignores a build that did not succeed', async () => {
    const body = JSON.stringify({ build_number: '77', build_status: 'killed', apps: [{ name: 'web', image_tag: '3.0.0' }] });
    const before = annotated.length;
    expect(await post(body, { 'x-shipway-signature': sign(body) })).toEqual({ status: 202, body: { build: '77', ignored: true, reason: 'build 77 is killed: only successful builds count' } });
    expect(annotated).toHaveLength(before);
  });
});
