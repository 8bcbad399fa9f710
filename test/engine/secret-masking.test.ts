/**
 * Secret values never leave the operator in the clear (SPEC "Variables": masked in every log, status and
 * history row). Four long random values, each in a Secret and reaching the release a different way: a
 * `secret` variable of the Release, the project Secret `shipway-project-<project>`, an environment
 * variable of type template built from one, and an `external` variable from a Secret. A pipeline echoes
 * them from a script Job (its log is served by the pod-log proxy, test/support/pod-log-proxy.ts), fails
 * once with one of them in the error (a health check URL, a receiver quoting the token back), and a webhook
 * notification carries one in a header. Then everything the operator wrote is scanned for each value, its
 * base64 and its JSON-escaped form: every operator log line, every Event of the namespace, the Release and
 * ReleaseApp objects (and the other objects of the namespace), and every row of every table of the
 * database. The user's Secrets and the Job's own Secret hold the values by design and are left out — but
 * the scan is shown to find them there, and `******` to stand where the values were. A second Release is
 * deleted while its notification is still being retried: the receiver's answer quoting its token back
 * is masked all the same.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRobotReceiver, type RobotReceiver } from '../notifications/chat-robot-receiver.ts';
import { startPodLogProxy, type PodLogProxy } from '../support/pod-log-proxy.ts';
import { useEngine } from './engine-fixture.ts';
import { databaseDump } from '../support/database-dump.ts';

let proxy: PodLogProxy | undefined;
let receiver: RobotReceiver;
// Before useEngine's hooks: the operator talks to the emulator through the proxy (started first, it
// finds the cluster when the first request comes), so the Jobs' logs hold what their scripts printed.
beforeAll(async () => {
  proxy = await startPodLogProxy(() => engine.cluster.kubeConfig());
  receiver = await startRobotReceiver({ dingTalk: {}, weCom: [] });
});
const engine = useEngine({
  get kubeConfig() {
    return proxy!.kubeConfig();
  },
});
afterAll(async () => {
  await receiver?.close();
  await proxy?.close();
});

const MASK = '******';
const random = (prefix: string) => `${prefix}${randomBytes(24).toString('base64url')}`;
const SECRETS = {
  /** Release `secret` variable API_TOKEN. */
  release: random('rel'),
  /** Project Secret key DB_PASSWORD; DATABASE_URL (environment, template) is built from it. */
  project: random('prj'),
  /** `external` variable SIGNING_KEY from a Secret; a quote and a backslash make its JSON form differ. */
  external: `${random('ext')}"q\\b`,
  /** Release `secret` variable LICENSE_KEY from a Secret made from a file, so it ends in a newline. */
  file: `${random('lic')}\n`,
  /** Only in a Release that is deleted while its notification is still being retried. */
  gone: random('gon'),
};

/** The forms a value takes in text: as is, JSON-escaped, base64, and without the newline it ends in. */
function forms(value: string): [form: string, text: string][] {
  const all: [string, string][] = [['raw', value], ['json', JSON.stringify(value).slice(1, -1)], ['base64', Buffer.from(value, 'utf8').toString('base64')], ['trimmed', value.trim()]];
  return all.filter(([, text], i) => all.findIndex(([, other]) => other === text) === i);
}

/** Where any form of any secret occurs in `text`, as `place: secret (form)`. */
function findSecrets(place: string, text: string): string[] {
  const found: string[] = [];
  for (const [name, value] of Object.entries(SECRETS)) {
    for (const [form, needle] of forms(value)) if (text.includes(needle)) found.push(`${place}: ${name} (${form})`);
  }
  return found;
}

interface KubeItem {
  kind: string;
  metadata: { name: string; ownerReferences?: { kind: string }[] };
}

const ns = `masking-${randomBytes(3).toString('hex')}`;
const b64 = (value: string) => Buffer.from(value, 'utf8').toString('base64');

function manifests(base: string): string {
  return `
apiVersion: v1
kind: Secret
metadata: { name: app-secrets, namespace: ${ns} }
data: { api-token: ${b64(SECRETS.release)} }
---
apiVersion: v1
kind: Secret
metadata: { name: shipway-project-shop, namespace: ${ns} }
data: { DB_PASSWORD: ${b64(SECRETS.project)} }
---
apiVersion: v1
kind: Secret
metadata: { name: vault-copy, namespace: ${ns} }
data: { signing-key: ${b64(SECRETS.external)} }
---
apiVersion: v1
kind: Secret
metadata: { name: license, namespace: ${ns} }
data: { license.txt: ${b64(SECRETS.file)} }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: shipway-project-shop, namespace: ${ns} }
data: { LOG_LEVEL: debug }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: a, namespace: ${ns} }
spec:
  replicas: 1
  selector: { matchLabels: { app: a } }
  template:
    metadata: { labels: { app: a } }
    spec: { containers: [{ name: web, image: registry.local/web:1.0.0 }] }
---
apiVersion: shipway.dev/v1alpha1
kind: Target
metadata: { name: a, namespace: ${ns} }
spec: { type: kubernetes, environment: pre, kubernetes: { namespace: ${ns}, name: a, container: web } }
---
apiVersion: shipway.dev/v1alpha1
kind: Pipeline
metadata: { name: leaky, namespace: ${ns} }
spec:
  stages:
    - name: prepare
      phase: pre_release
      onError: continue
      tasks:
        - id: show
          type: script
          script: { image: 'busybox:1', script: 'echo "token=$API_TOKEN"; echo "password=$DB_PASSWORD"; echo "url=$DATABASE_URL"; echo "key=$SIGNING_KEY"; echo "level=$LOG_LEVEL"; echo "license=$LICENSE_KEY"' }
        - id: crash
          type: script
          dependsOn: [show]
          script: { image: 'busybox:1-fail', script: 'echo "cannot reach $DATABASE_URL with $API_TOKEN and $SIGNING_KEY" >&2; exit 1' }
    - name: ship
      phase: release
      tasks:
        - { id: deploy, type: deploy }
        - id: tell
          type: notify
          dependsOn: [deploy]
          retry: 1
          retryDelaySeconds: 0
          notify:
            webhook: { url: '${base}/task-hook', headers: { authorization: 'Bearer \${API_TOKEN}', x-signature: '\${SIGNING_KEY}' } }
            template: 'deployed \${APP_VERSION} with \${DB_PASSWORD} and \${DATABASE_URL}'
    - name: check
      phase: post_release
      tasks:
        - { id: health, type: health_check, healthCheck: { type: http, url: '${base}/healthz?token=\${API_TOKEN}', retry: 0, timeoutSeconds: 2 } }
---
apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: r, namespace: ${ns} }
spec:
  project: shop
  version: 1.1.0
  pipelineRef: { name: leaky }
  environments:
    - name: pre
      promotion: auto
      variables:
        - { name: DATABASE_URL, type: template, value: 'postgres://app:\${DB_PASSWORD}@db:5432/shop' }
  variables:
    - { name: API_TOKEN, type: secret, secretKeyRef: { name: app-secrets, key: api-token } }
    - { name: LICENSE_KEY, type: secret, secretKeyRef: { name: license, key: license.txt } }
    - { name: SIGNING_KEY, type: external, external: { source: secret, secretName: vault-copy, key: signing-key } }
  notifications:
    channels:
      - name: hook
        type: webhook
        webhook: { url: '${base}/release-hook', headers: { authorization: 'Bearer \${API_TOKEN}', x-signature: '\${SIGNING_KEY}' } }
      - name: quoting
        type: webhook
        webhook: { url: '${base}/quoting-hook', headers: { authorization: 'Bearer \${API_TOKEN}' } }
    templates:
      release_start: 'starting with \${API_TOKEN} / \${DB_PASSWORD} / \${SIGNING_KEY}'
      release_failed: 'failed: \${ERROR_MESSAGE} (token \${API_TOKEN})'
      release_success: 'done: \${DATABASE_URL}'
    rules:
      - { events: [release_start, release_failed, release_success], channels: [hook] }
      - { events: [release_failed], channels: [quoting] }
    retry: { attempts: 2, backoffSeconds: 1 }
---
apiVersion: shipway.dev/v1alpha1
kind: ReleaseApp
metadata: { name: r-web, namespace: ${ns} }
spec: { release: r, app: web, version: 1.1.0, artifact: { image: registry.local/web } }
`;
}

const USER_SECRETS = ['app-secrets', 'vault-copy', 'license', 'shipway-project-shop', 'gone-secrets'];
const isUserSecret = (o: KubeItem) => o.kind === 'Secret' && USER_SECRETS.includes(o.metadata.name);
const isJobSecret = (o: KubeItem) => o.kind === 'Secret' && (o.metadata.ownerReferences ?? []).some((r) => r.kind === 'Job');

/**
 * Every place the operator writes to, searched for every form of every secret: the operator's log, the
 * Events and the objects of the namespace (the user's Secrets and the Jobs' Secrets left out), and every
 * row of every table of the database.
 */
async function scan(): Promise<{ found: string[]; items: KubeItem[] }> {
  const found: string[] = [];
  engine.logs.forEach((line, i) => found.push(...findSecrets(`operator log line ${i}`, line)));
  for (const kind of ['events', 'events.events.k8s.io']) {
    for (const event of (await engine.json(['get', kind, '-n', ns])).items) found.push(...findSecrets(`${kind} ${event.metadata.name}`, JSON.stringify(event)));
  }
  const items = (await engine.json(['get', 'releases,releaseapps,pipelines,targets,jobs,pods,deployments,replicasets,configmaps,secrets', '-n', ns])).items as KubeItem[];
  const scanned = items.filter((o) => !isUserSecret(o) && !isJobSecret(o));
  expect(scanned.map((o) => o.kind)).toEqual(expect.arrayContaining(['Release', 'ReleaseApp', 'Job', 'Pod']));
  for (const object of scanned) found.push(...findSecrets(`${object.kind} ${object.metadata.name}`, JSON.stringify(object)));
  const dump = await databaseDump(engine.operator.database.db);
  expect(Object.keys(dump)).toEqual(expect.arrayContaining(['public.releases', 'public.task_runs', 'public.audit_events']));
  for (const [table, rows] of Object.entries(dump)) found.push(...findSecrets(`table ${table}`, rows));
  return { found, items };
}

describe('secret masking', () => {
  it('keeps every secret value out of logs, events, objects and the database', async () => {
    await engine.cluster.kubectlOk(['create', 'namespace', ns]);
    // Fails once, each with a secret in the error: the health check (its URL), the notify task (the
    // receiver quotes the token back), and the quoting channel for good.
    receiver.script('/healthz', { status: 503, body: 'down' });
    receiver.script('/task-hook', { status: 500, body: `rejected Authorization: Bearer ${SECRETS.release}` });
    receiver.script('/quoting-hook', ...Array.from({ length: 5 }, () => ({ status: 401, body: `unknown token Bearer ${SECRETS.release}` })));
    await engine.apply(manifests(receiver.base));

    const failed = await engine.waitFor(ns, 'r', (r) => ['Failed', 'RolledBack', 'Succeeded'].includes(r.status?.phase), 'the first attempt fails', 60_000);
    expect(failed.status.phase).toBe('Failed');
    expect(failed.status.message).toContain(`token=${MASK}`);
    await engine.annotate(ns, 'r', { 'shipway.dev/action': 'retry', 'shipway.dev/actor': 'ops' });
    await engine.waitFor(ns, 'r', (r) => r.status?.phase === 'Succeeded', 'the retry succeeds', 60_000);
    const history = await engine.history(ns, 'r');
    await expect.poll(async () => (await engine.history(ns, 'r')).auditEvents.filter((e) => e.action === 'notified').length, { timeout: 20_000 }).toBe(3);

    // What went out: the scripts printed the values (the pod log proxy ran them), the receivers got the
    // headers they need, and people got masked text.
    const printed = proxy!.runs.filter((run) => run.namespace === ns).map((run) => run.output).join('\n');
    expect(printed).toContain(`token=${SECRETS.release}`);
    expect(printed).toContain(`password=${SECRETS.project}`);
    expect(printed).toContain(`url=postgres://app:${SECRETS.project}@db:5432/shop`);
    expect(printed).toContain(`key=${SECRETS.external}`);
    expect(printed).toContain(`level=debug\nlicense=${SECRETS.file}`);
    const releaseHook = receiver.received.filter((r) => r.path === '/release-hook');
    expect(releaseHook.map((r) => [r.headers.authorization, r.headers['x-signature']])).toEqual(releaseHook.map(() => [`Bearer ${SECRETS.release}`, SECRETS.external]));
    expect(releaseHook.map((r) => (r.body as { event: string; text: string }).event)).toEqual(['release_start', 'release_failed', 'release_success']);
    expect((releaseHook[0]!.body as { text: string }).text).toBe(`starting with ${MASK} / ${MASK} / ${MASK}`);
    expect((releaseHook[2]!.body as { text: string }).text).toBe(`done: ${MASK}`);
    const taskHook = receiver.received.filter((r) => r.path === '/task-hook');
    expect(taskHook.length).toBeGreaterThanOrEqual(2);
    expect(taskHook[0]!.headers.authorization).toBe(`Bearer ${SECRETS.release}`);
    expect((taskHook[0]!.body as { text: string }).text).toBe(`deployed 1.1.0 with ${MASK} and ${MASK}`);

    // Masked where the values would have been.
    const tasks = history.deployments.flatMap((d) => d.stageRuns.flatMap((s) => s.taskRuns));
    const show = tasks.find((t) => t.taskId === 'show')!;
    expect(show.outputTail).toContain(`token=${MASK}\npassword=${MASK}\nurl=${MASK}\nkey=${MASK}\nlevel=debug\nlicense=${MASK}`);
    const crash = tasks.find((t) => t.taskId === 'crash')!;
    expect(crash).toMatchObject({ status: 'failed' });
    expect(crash.outputTail).toContain(`cannot reach ${MASK} with ${MASK} and ${MASK}`);
    const tell = tasks.filter((t) => t.taskId === 'tell');
    expect(tell[0]).toMatchObject({ status: 'succeeded', retryCount: 1 });
    expect(tell[0]!.outputTail).toBe(`deployed 1.1.0 with ${MASK} and ${MASK}`);
    const health = tasks.find((t) => t.taskId === 'health' && t.status === 'failed')!;
    expect(health.error).toContain(`/healthz?token=${MASK}: 503`);
    const notifiedAudit = history.auditEvents.filter((e) => e.action === 'notified');
    expect(JSON.stringify(notifiedAudit.map((e) => e.details))).toContain(`unknown token Bearer ${MASK}`);

    // ---- the scan
    const { found, items } = await scan();
    expect(found).toEqual([]);

    // The scan finds the values where they are by design: the user's Secrets and the Jobs' Secrets.
    const userSecrets = items.filter(isUserSecret);
    expect(userSecrets).toHaveLength(4);
    expect(findSecrets('user Secrets', JSON.stringify(userSecrets)).sort()).toEqual(['user Secrets: external (base64)', 'user Secrets: file (base64)', 'user Secrets: project (base64)', 'user Secrets: release (base64)']);
    const jobSecrets = items.filter(isJobSecret);
    expect(jobSecrets.length).toBeGreaterThanOrEqual(2);
    expect(findSecrets('Job Secret', JSON.stringify(jobSecrets[0]))).toEqual(expect.arrayContaining(['Job Secret: release (base64)', 'Job Secret: external (base64)']));
    expect(findSecrets('script output', printed).sort()).toEqual(['script output: external (raw)', 'script output: file (raw)', 'script output: file (trimmed)', 'script output: project (raw)', 'script output: release (raw)']);
    expect(findSecrets('as JSON', JSON.stringify({ printed }))).toContain('as JSON: external (json)');
  }, 120_000);

  it('keeps the values of a deleted Release masked while its notification is still being retried', async () => {
    // The receiver quotes the token back twice; the Release is deleted between the two tries.
    receiver.script('/gone-hook', ...Array.from({ length: 2 }, () => ({ status: 500, body: `no such token: ${SECRETS.gone}` })));
    await engine.apply(`
apiVersion: v1
kind: Secret
metadata: { name: gone-secrets, namespace: ${ns} }
data: { token: ${b64(SECRETS.gone)} }
---
apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: gone, namespace: ${ns} }
spec:
  project: shop
  version: 1.2.0
  environments: [{ name: pre, promotion: manual }]
  variables: [{ name: GONE_TOKEN, type: secret, secretKeyRef: { name: gone-secrets, key: token } }]
  notifications:
    channels: [{ name: hook, type: webhook, webhook: { url: '${receiver.base}/gone-hook', headers: { authorization: 'Bearer \${GONE_TOKEN}' } } }]
    rules: [{ events: [release_start], channels: [hook] }]
    retry: { attempts: 2, backoffSeconds: 5 }
`);
    const uid = (await engine.waitFor(ns, 'gone', (r) => Boolean(r.status?.startedAt), 'the release starts')).metadata.uid;
    await expect.poll(() => receiver.received.filter((r) => r.path === '/gone-hook').length, { timeout: 10_000 }).toBe(1);
    await engine.cluster.kubectlOk(['delete', 'release', 'gone', '-n', ns, '--wait=true', '--timeout=20s']);
    // Gone (its finalizer removed, its secrets forgotten) before the second try.
    expect(receiver.received.filter((r) => r.path === '/gone-hook')).toHaveLength(1);
    const row = (await engine.operator.repo.getReleaseByUid(uid))!;
    await expect.poll(async () => (await engine.operator.repo.getReleaseHistory(row.id))!.auditEvents.filter((e) => e.action === 'notified').length, { timeout: 20_000 }).toBe(1);
    const notified = (await engine.operator.repo.getReleaseHistory(row.id))!.auditEvents.find((e) => e.action === 'notified')!;
    expect(notified.details).toMatchObject({ results: [{ channel: 'hook', ok: false, attempts: 2, error: expect.stringContaining(`no such token: ${MASK}`) }] });
    expect(receiver.received.filter((r) => r.path === '/gone-hook').map((r) => r.headers.authorization)).toEqual([`Bearer ${SECRETS.gone}`, `Bearer ${SECRETS.gone}`]);
    expect((await scan()).found).toEqual([]);
  }, 60_000);
});
