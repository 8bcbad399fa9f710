/**
 * Agent hosts end to end, Release → operator → a real `shipway-agent` over QUIC → the host: one agent process
 * (started from the credential Secret the operator issued) serves every Target of this file, each case with
 * Targets and apps of its own.
 *
 * - docker: a Release runs an image pulled from the local registry that scripts/with-docker.sh started, a
 *   second one updates it to another tag (the container carries the app's labels and the version), a tag the
 *   registry does not have fails the Release naming the image, and an uninstall Release removes the container;
 * - gitpull: a bare repository on disk with two tags; install, update, and a rollback action back to the
 *   first tag's commit, the build and restart commands run each time;
 * - uninstall: a Release with `operation: uninstall` runs the uninstall script, the Target shows the app
 *   uninstalled, and the next deploy installs it again;
 * - a failing update script: with `rollback.auto` the target is rolled back (rollback script, previous
 *   version on the host, RolledBack, history); without it the Release just fails;
 * - a secret variable reaches the script as an environment variable, and its value appears nowhere the
 *   operator or the agent writes: logs, objects and their status, Events, every database table.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_GROUP, API_VERSION } from '../../operator/src/api/common.ts';
import type { ReleaseHistory } from '../../operator/src/storage/index.ts';
import { connectDocker } from '../../agent/src/executors/docker-engine.ts';
import { DOCKER_LABELS } from '../../agent/src/executors/docker-executor.ts';
import { describeWithDocker, requireTestDocker, testDockerEnvironment } from '../support/test-docker.ts';
import { freePort } from '../support/ports.ts';
import { eventually } from '../support/until.ts';
import { useEngine } from './engine-fixture.ts';
import { databaseDump } from '../support/database-dump.ts';
import { startAgentProcess } from './agent-process.ts';

const run = promisify(execFile);
const engine = useEngine({ agentPort: 0, agentHeartbeatSeconds: 1, agentNamespace: 'default' });
const AGENT = 'host-a';
const MASK = '******';

let dir: string;
let ns: string;
let agent: ChildProcess | undefined;
const agentOutput: string[] = [];
/** Docker apps this file ran, removed at the end. */
const dockerApps: string[] = [];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- kubectl -o json
type Json = any;

/** The value of the secret variable (case 5), in a Secret from the start. */
const SECRET = `sek${randomBytes(24).toString('base64url')}`;

/** Every Target of the file, served by the one agent; the docker one only with a test Docker engine. */
function targets(): string {
  const target = (name: string, type: string, extra = '') => `
apiVersion: shipway.dev/v1alpha1
kind: Target
metadata: { name: ${name}, namespace: ${ns} }
spec: { type: ${type}, environment: prod, host: 127.0.0.1, agent: ${AGENT}${extra} }
`;
  const docker = testDockerEnvironment();
  return [
    target('git-a', 'gitpull'),
    target('script-u', 'script'),
    target('script-r', 'script'),
    target('script-s', 'script'),
    target('script-c', 'script'),
    target('script-n1', 'script'),
    target('script-n2', 'script'),
    ...(docker ? [target('docker-a', 'docker', `, docker: { host: '${docker.dockerHost}' }`)] : []),
    `
apiVersion: v1
kind: Secret
metadata: { name: host-secrets, namespace: ${ns} }
data: { token: ${Buffer.from(SECRET).toString('base64')} }
`,
  ].join('---');
}

/** A Release of project `shop` on one target, with the given extra spec lines, and its ReleaseApps. */
function release(name: string, target: string, options: { version?: string; spec?: string; apps: string[] }): string {
  return `
apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: ${name}, namespace: ${ns} }
spec:
  project: shop
  version: ${options.version ?? '1.0.0'}
  environments:
    - { name: prod, promotion: auto, targets: { names: [${target}] } }
${options.spec ?? ''}
${options.apps.map((app) => `---\n${app}`).join('\n')}`;
}

async function startAgent(): Promise<void> {
  agent = await startAgentProcess(engine, AGENT, { credentialDir: join(dir, 'agent-credential'), stateDir: join(dir, 'agent-state'), output: agentOutput });
}

let custom: CustomObjectsApi | undefined;

/** A Shipway object read in-process (kubectl is for what a user does; polling with it costs a process a try). */
async function get(plural: 'releases' | 'targets', name: string): Promise<Json> {
  custom ??= engine.cluster.kubeConfig().makeApiClient(CustomObjectsApi);
  return custom.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace: ns, plural, name });
}

/** Polls `read` every 100 ms until `check` holds; the failure shows the last value and the logs. */
async function poll(read: () => Promise<Json>, check: (value: Json) => boolean, what: string, timeoutMs = 90_000): Promise<Json> {
  let last: Json;
  await eventually(async () => check((last = await read().catch(() => undefined))), {
    timeoutMs,
    intervalMs: 100,
    message: () => `${what}; last seen: ${JSON.stringify(last?.status ?? last, null, 1)}\nagent:\n${agentOutput.slice(-15).join('\n')}\noperator:\n${engine.logs.slice(-25).join('\n')}`,
  });
  return last;
}

const waitOnline = (target: string) => poll(() => get('targets', target), (t) => t?.status?.phase === 'Online', `Target ${target} goes Online`, 30_000);

/** The Target's installation of `app`, once it satisfies `check`. */
async function installation(target: string, app: string, check: (i: Json) => boolean): Promise<Json> {
  const find = (t: Json) => t?.status?.installations?.find((i: Json) => i.app === app);
  return find(await poll(() => get('targets', target), (t) => find(t) !== undefined && check(find(t)), `Target ${target} shows the installation of ${app}`, 20_000));
}

const FINISHED = ['Succeeded', 'Failed', 'RolledBack', 'Cancelled'];

/** Waits until the Release finishes and says how, with the status when it is not the one expected. */
async function finish(name: string, phase: string, what: string): Promise<Json> {
  const r = await poll(() => get('releases', name), (x) => FINISHED.includes(x?.status?.phase), what);
  expect(r.status.phase, `${what}: ${JSON.stringify(r.status, null, 1)}\nagent:\n${agentOutput.slice(-15).join('\n')}`).toBe(phase);
  return r;
}

/** Everything the operator recorded about a Release, from its database. */
async function history(name: string): Promise<ReleaseHistory> {
  const row = await engine.operator.repo.getReleaseByUid((await get('releases', name)).metadata.uid);
  return (await engine.operator.repo.getReleaseHistory(row!.id))!;
}

const deploymentsOf = async (name: string) => (await history(name)).deployments.map((d) => [d.operation, d.version, d.status]).sort();

const lines = async (file: string) => (await readFile(file, 'utf8')).trim().split('\n');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shipway-agent-hosts-'));
  await eventually(async () => engine.operator.agents() !== undefined, { timeoutMs: 30_000, message: () => `the agent endpoint did not start\n${engine.logs.slice(-20).join('\n')}` });
  ns = await engine.namespace('hosts');
  await engine.apply(targets());
  await startAgent();
  await Promise.all(['git-a', 'script-u', 'script-r', 'script-s', 'script-c', 'script-n1', 'script-n2', ...(testDockerEnvironment() ? ['docker-a'] : [])].map(waitOnline));
}, 60_000);

afterAll(async () => {
  if (agent && agent.exitCode === null && agent.signalCode === null) {
    const exited = new Promise((resolve) => agent!.once('exit', resolve));
    agent.kill('SIGKILL');
    await exited;
  }
  const environment = testDockerEnvironment();
  if (environment && dockerApps.length > 0) {
    const docker = connectDocker({ host: environment.dockerHost });
    for (const app of dockerApps) {
      const containers = await docker.listContainers({ all: true, filters: { label: [`${DOCKER_LABELS.app}=${app}`] } });
      for (const { Id } of containers) await docker.getContainer(Id).remove({ force: true, v: true });
    }
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------------------------- docker

describeWithDocker('docker target', () => {
  it('deploys an image from the registry, updates it to another tag, refuses an unknown tag naming the image, and uninstalls', async () => {
    const environment = requireTestDocker();
    const docker = connectDocker({ host: environment.dockerHost });
    const app = `web-${randomBytes(3).toString('hex')}`;
    dockerApps.push(app);
    const port = await freePort();
    const url = (file: string) => `http://127.0.0.1:${port}/${file}`;
    const dockerApp = (name: string, version: string) => `
apiVersion: shipway.dev/v1alpha1
kind: ReleaseApp
metadata: { name: ${name}-web, namespace: ${ns} }
spec:
  release: ${name}
  app: ${app}
  version: ${version}
  artifact: { image: ${environment.image} }
  docker:
    network: host
    restartPolicy: unless-stopped
    env: { HTTP_PORT: '${port}' }
    labels: { tier: frontend }
    healthCheck: { url: '${url('health')}', timeoutSeconds: 30 }
`;
    const dockerRelease = (name: string, version: string, tag: string, spec = '') =>
      release(name, 'docker-a', { version, spec: `  variables: [{ name: GREETING, value: "hello from ${name}" }]\n${spec}`, apps: [dockerApp(name, tag)] });
    const served = async (file: string) => {
      const response = await fetch(url(file), { signal: AbortSignal.timeout(2000) });
      expect(response.status).toBe(200);
      return (await response.text()).trim();
    };
    const container = async (): Promise<Docker.ContainerInspectInfo> => {
      const all = await docker.listContainers({ all: true, filters: { label: [`${DOCKER_LABELS.app}=${app}`] } });
      expect(all.map((c) => c.Names[0])).toEqual([`/${app}`]);
      return docker.getContainer(app).inspect();
    };

    // Install: the tag is pulled from the registry (the set-up removed it from the engine after pushing).
    await engine.apply(dockerRelease('d1', '1.0.0', 'v1'));
    const d1 = await finish('d1', 'Succeeded', 'the first release runs v1');
    expect(d1.status.environments[0].targets[0]).toMatchObject({ name: 'docker-a', phase: 'Succeeded', version: 'v1' });
    let info = await container();
    expect(info.State.Running).toBe(true);
    expect(info.Config.Image).toBe(`${environment.image}:v1`);
    expect(info.Config.Labels).toMatchObject({ [DOCKER_LABELS.app]: app, [DOCKER_LABELS.version]: 'v1', [DOCKER_LABELS.image]: `${environment.image}:v1`, tier: 'frontend' });
    expect(info.HostConfig.RestartPolicy?.Name).toBe('unless-stopped');
    expect(await served('version')).toBe('v1');
    const env1 = await served('env');
    expect(env1).toContain('GREETING=hello from d1');
    expect(env1).toContain(`APP_NAME=${app}`);
    expect(env1).toContain('APP_VERSION=v1');
    await installation('docker-a', app, (i) => i.state === 'installed' && i.version === 'v1');

    // Update to the second tag.
    await engine.apply(dockerRelease('d2', '1.1.0', 'v2'));
    const d2 = await finish('d2', 'Succeeded', 'the second release updates to v2');
    expect(d2.status.environments[0].targets[0]).toMatchObject({ phase: 'Succeeded', version: 'v2', previousVersion: 'v1' });
    info = await container();
    expect(info.Config.Image).toBe(`${environment.image}:v2`);
    expect(info.Config.Labels).toMatchObject({ [DOCKER_LABELS.version]: 'v2', tier: 'frontend' });
    expect(await served('version')).toBe('v2');
    expect(await served('env')).toContain('CURRENT_VERSION=v1');
    await installation('docker-a', app, (i) => i.state === 'installed' && i.version === 'v2');
    expect(await deploymentsOf('d2')).toEqual([['deploy', 'v2', 'succeeded']]);

    // A tag the registry does not have: the release fails saying which image, and v2 keeps running.
    const missing = `v404-${randomBytes(2).toString('hex')}`;
    await engine.apply(dockerRelease('d3', '1.2.0', missing));
    const d3 = await finish('d3', 'Failed', 'an unknown tag fails the release');
    const notFound = `image ${environment.image}:${missing} was not found`;
    expect(d3.status.message).toContain(notFound);
    expect(d3.status.environments[0].targets[0]).toMatchObject({ phase: 'Failed', error: expect.stringContaining(notFound) });
    expect(d3.status.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Failed', status: 'True', reason: 'Failed', message: expect.stringContaining(notFound) })]));
    const d3History = await history('d3');
    expect(d3History.deployments.map((d) => [d.operation, d.version, d.status])).toEqual([['deploy', missing, 'failed']]);
    expect(d3History.deployments[0]!.error).toContain(notFound);
    info = await container();
    expect(info.Config.Labels?.[DOCKER_LABELS.version]).toBe('v2');
    expect(await served('version')).toBe('v2');
    await installation('docker-a', app, (i) => i.state === 'installed' && i.version === 'v2');

    // Uninstall through a Release: the container goes.
    await engine.apply(dockerRelease('d4', '1.2.1', 'v2', '  operation: uninstall'));
    await finish('d4', 'Succeeded', 'the uninstall release succeeds');
    expect(await docker.listContainers({ all: true, filters: { label: [`${DOCKER_LABELS.app}=${app}`] } })).toEqual([]);
    await installation('docker-a', app, (i) => i.state === 'uninstalled');
    expect(await deploymentsOf('d4')).toEqual([['uninstall', 'v2', 'succeeded']]);
  }, 180_000);
});

// ------------------------------------------------------------------------------------------------ gitpull

describe('gitpull target', () => {
  it('checks out a tag of a real repository and builds, updates to the next tag, and rolls back to the first commit', async () => {
    // A repository with two tagged commits, served as a bare repository on disk.
    const source = join(dir, 'git-source');
    const bare = join(dir, 'git', 'site.git');
    const git = (cwd: string, ...args: string[]) => run('git', args, { cwd }).then((r) => r.stdout.trim());
    await run('bash', ['-euc', `
export GIT_AUTHOR_NAME=Test GIT_AUTHOR_EMAIL=test@example.com GIT_COMMITTER_NAME=Test GIT_COMMITTER_EMAIL=test@example.com
git init -q -b main "$1"; cd "$1"
echo one > page.txt; git add page.txt; git commit -q -m first; git tag v1
echo two > page.txt; git commit -q -am second; git tag v2
git clone -q --bare "$1" "$2"`, 'bash', source, bare]);
    const v1 = await git(bare, 'rev-parse', 'v1^{commit}');
    const v2 = await git(bare, 'rev-parse', 'v2^{commit}');

    const host = join(dir, 'git-host');
    const checkout = join(host, 'site');
    const ops = join(host, 'ops.log');
    const gitApp = (name: string, version: string) => `
apiVersion: shipway.dev/v1alpha1
kind: ReleaseApp
metadata: { name: ${name}-site, namespace: ${ns} }
spec:
  release: ${name}
  app: site
  version: ${version}
  artifact: { git: { repo: '${bare}' } }
  gitpull:
    workDir: ${checkout}
    build: 'echo "build $APP_VERSION $GIT_COMMIT $(cat page.txt)" >> ../ops.log'
    restart: 'echo "restart $APP_VERSION" >> ../ops.log'
`;
    await engine.apply(release('g1', 'git-a', { version: '1.0.0', apps: [gitApp('g1', 'v1')] }));
    await finish('g1', 'Succeeded', 'the first release checks out v1');
    expect(await git(checkout, 'rev-parse', 'HEAD')).toBe(v1);
    expect(await lines(ops)).toEqual([`build v1 ${v1} one`, 'restart v1']);
    await installation('git-a', 'site', (i) => i.state === 'installed' && i.version === 'v1');

    await engine.apply(release('g2', 'git-a', { version: '1.1.0', apps: [gitApp('g2', 'v2')] }));
    const g2 = await finish('g2', 'Succeeded', 'the second release updates to v2');
    expect(g2.status.environments[0].targets[0]).toMatchObject({ version: 'v2', previousVersion: 'v1' });
    expect(await git(checkout, 'rev-parse', 'HEAD')).toBe(v2);
    expect((await lines(ops)).slice(2)).toEqual([`build v2 ${v2} two`, 'restart v2']);

    await engine.annotate(ns, 'g2', { 'shipway.dev/action': 'rollback', 'shipway.dev/actor': 'alice' });
    const back = await poll(() => get('releases', 'g2'), (r) => r?.status?.phase === 'RolledBack', 'the rollback returns to v1');
    expect(back.status.environments[0].targets[0]).toMatchObject({ name: 'git-a', phase: 'RolledBack' });
    expect(await git(checkout, 'rev-parse', 'HEAD')).toBe(v1);
    expect(await readFile(join(checkout, 'page.txt'), 'utf8')).toBe('one\n');
    expect((await lines(ops)).slice(4)).toEqual([`build v1 ${v1} one`, 'restart v1']);
    await installation('git-a', 'site', (i) => i.state === 'installed' && i.version === 'v1');
    expect(await deploymentsOf('g2')).toEqual([['deploy', 'v2', 'rolled_back'], ['rollback', 'v1', 'succeeded']]);
  }, 180_000);
});

// ------------------------------------------------------------------------------------------------ scripts

/** A script app whose scripts append what they do to `<work>/ops.log` and keep the version in `<work>/VERSION`. */
function scriptApp(name: string, app: string, version: string, work: string, scripts: { update?: string; rollback?: boolean; uninstall?: boolean } = {}): string {
  const indent = (text: string) => text.trim().split('\n').map((l) => `      ${l}`).join('\n');
  return `
apiVersion: shipway.dev/v1alpha1
kind: ReleaseApp
metadata: { name: ${name}-${app}, namespace: ${ns} }
spec:
  release: ${name}
  app: ${app}
  version: ${version}
  artifact: { package: { url: "file:///srv/${app}-\${APP_VERSION}.tgz" } }
  script:
    workDir: ${work}
    install: |
${indent(`set -eu
echo "install $APP_VERSION" >> ops.log
echo "$APP_VERSION" > VERSION
mkdir -p data && echo keep > data/file`)}
    update: |
${indent(scripts.update ?? `set -eu
echo "update $CURRENT_VERSION -> $APP_VERSION" >> ops.log
echo "$APP_VERSION" > VERSION`)}
${scripts.rollback === false ? '' : `    rollback: |
${indent(`set -eu
echo "rollback to $APP_VERSION (ROLLBACK_VERSION=$ROLLBACK_VERSION)" >> ops.log
echo "$APP_VERSION" > VERSION`)}`}
${scripts.uninstall ? `    uninstall: |
${indent(`set -eu
echo "uninstall $APP_VERSION (KEEP_DATA=$KEEP_DATA)" >> ops.log
[ "$KEEP_DATA" = true ] || rm -rf data
rm -f VERSION`)}` : ''}
`;
}

describe('uninstall', () => {
  it('a Release with operation uninstall runs the uninstall script, the Target shows the app uninstalled, and the next deploy installs again', async () => {
    const work = join(dir, 'script-u', 'tool');
    await engine.apply(release('u1', 'script-u', { apps: [scriptApp('u1', 'tool', '1.0.0', work, { uninstall: true })] }));
    await finish('u1', 'Succeeded', 'the app is installed');
    await installation('script-u', 'tool', (i) => i.state === 'installed' && i.version === '1.0.0');

    // keepData: false reaches the uninstall script as KEEP_DATA=false, and the script removes the data.
    await engine.apply(release('u2', 'script-u', { spec: '  operation: uninstall', apps: [scriptApp('u2', 'tool', '1.0.0', work, { uninstall: true }).replace('    workDir:', '    keepData: false\n    workDir:')] }));
    const u2 = await finish('u2', 'Succeeded', 'the uninstall release succeeds');
    expect(u2.status.environments[0].targets[0]).toMatchObject({ name: 'script-u', phase: 'Succeeded' });
    expect(await lines(join(work, 'ops.log'))).toEqual(['install 1.0.0', 'uninstall 1.0.0 (KEEP_DATA=false)']);
    expect(await readdir(work)).toEqual(['ops.log']);
    await installation('script-u', 'tool', (i) => i.state === 'uninstalled');
    expect(await deploymentsOf('u2')).toEqual([['uninstall', '1.0.0', 'succeeded']]);

    await engine.apply(release('u3', 'script-u', { version: '1.1.0', apps: [scriptApp('u3', 'tool', '1.1.0', work, { uninstall: true })] }));
    await finish('u3', 'Succeeded', 'the app is installed again');
    expect((await lines(join(work, 'ops.log'))).at(-1)).toBe('install 1.1.0');
    await installation('script-u', 'tool', (i) => i.state === 'installed' && i.version === '1.1.0');
  }, 180_000);
});

describe('a failing update script', () => {
  const failing = `set -eu
echo "update $CURRENT_VERSION -> $APP_VERSION (half done)" >> ops.log
echo "$APP_VERSION-partial" > VERSION
echo "migration step 2 failed" >&2
exit 7`;

  it('is rolled back when the Release rolls back automatically, and only fails when it does not', async () => {
    const work = join(dir, 'script-r', 'svc');
    await engine.apply(release('f1', 'script-r', { apps: [scriptApp('f1', 'svc', '1.0.0', work)] }));
    await finish('f1', 'Succeeded', 'the app is installed');

    // rollback.auto: the failed update is undone by the rollback script, back to 1.0.0.
    await engine.apply(release('f2', 'script-r', { version: '1.1.0', spec: '  rollback: { auto: true }', apps: [scriptApp('f2', 'svc', '1.1.0', work, { update: failing })] }));
    const f2 = await finish('f2', 'RolledBack', 'the failed update is rolled back');
    const target2 = f2.status.environments[0].targets[0];
    expect(target2).toMatchObject({ name: 'script-r', phase: 'RolledBack', version: '1.1.0', previousVersion: '1.0.0' });
    expect(target2.error).toContain('update script exited with code 7; stderr:\nmigration step 2 failed');
    expect(f2.status.message).toContain('rolled back');
    expect(await lines(join(work, 'ops.log'))).toEqual(['install 1.0.0', 'update 1.0.0 -> 1.1.0 (half done)', 'rollback to 1.0.0 (ROLLBACK_VERSION=1.0.0)']);
    expect((await readFile(join(work, 'VERSION'), 'utf8')).trim()).toBe('1.0.0');
    expect(await deploymentsOf('f2')).toEqual([['deploy', '1.1.0', 'rolled_back'], ['rollback', '1.0.0', 'succeeded']]);
    const f2Failed = (await history('f2')).deployments.find((d) => d.operation === 'deploy')!;
    expect(f2Failed.error).toContain('update of svc 1.1.0 on script-r: update script exited with code 7');
    await installation('script-r', 'svc', (i) => i.state === 'installed' && i.version === '1.0.0');

    // No automatic rollback: the release fails, the rollback script does not run, the half-done state stays.
    await engine.apply(release('f3', 'script-r', { version: '1.2.0', apps: [scriptApp('f3', 'svc', '1.2.0', work, { update: failing })] }));
    const f3 = await finish('f3', 'Failed', 'the failed update fails the release');
    expect(f3.status.environments[0].targets[0]).toMatchObject({ name: 'script-r', phase: 'Failed', error: expect.stringContaining('update script exited with code 7') });
    expect(await lines(join(work, 'ops.log'))).toEqual(['install 1.0.0', 'update 1.0.0 -> 1.1.0 (half done)', 'rollback to 1.0.0 (ROLLBACK_VERSION=1.0.0)', 'update 1.0.0 -> 1.2.0 (half done)']);
    expect((await readFile(join(work, 'VERSION'), 'utf8')).trim()).toBe('1.2.0-partial');
    expect(await deploymentsOf('f3')).toEqual([['deploy', '1.2.0', 'failed']]);
  }, 180_000);
});

describe('a Target new to an app its host already has', () => {
  it('updates the app from the version the agent reports instead of installing over it', async () => {
    const work = join(dir, 'shared', 'portal');
    await engine.apply(release('n1', 'script-n1', { apps: [scriptApp('n1', 'portal', '1.0.0', work)] }));
    await finish('n1', 'Succeeded', 'the app is installed through the first Target');
    // The second Target names the same agent (and the same work dir): its own history knows nothing of portal.
    await engine.apply(release('n2', 'script-n2', { version: '1.1.0', apps: [scriptApp('n2', 'portal', '1.1.0', work)] }));
    await finish('n2', 'Succeeded', 'the second Target updates the app');
    expect(await lines(join(work, 'ops.log'))).toEqual(['install 1.0.0', 'update 1.0.0 -> 1.1.0']);
    expect(await deploymentsOf('n2')).toEqual([['deploy', '1.1.0', 'succeeded']]);
    await installation('script-n2', 'portal', (i) => i.state === 'installed' && i.version === '1.1.0');
  }, 120_000);
});

describe('a cancelled release', () => {
  it('stops the script running on the host: its process group is killed and the deployment recorded cancelled', async () => {
    const work = join(dir, 'script-c', 'batch');
    const slow = `set -eu
echo $$ > script.pid
echo "update started" >> ops.log
sleep 120
echo "update finished" >> ops.log`;
    await engine.apply(release('c1', 'script-c', { apps: [scriptApp('c1', 'batch', '1.0.0', work)] }));
    await finish('c1', 'Succeeded', 'the app is installed');
    await engine.apply(release('c2', 'script-c', { version: '1.1.0', apps: [scriptApp('c2', 'batch', '1.1.0', work, { update: slow })] }));
    await eventually(async () => (await readFile(join(work, 'ops.log'), 'utf8')).includes('update started'), { timeoutMs: 60_000, message: () => `the update script starts\n${agentOutput.slice(-10).join('\n')}` });
    const pid = Number((await readFile(join(work, 'script.pid'), 'utf8')).trim());
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(alive()).toBe(true);

    await engine.annotate(ns, 'c2', { 'shipway.dev/action': 'cancel', 'shipway.dev/comment': 'wrong build' });
    await finish('c2', 'Cancelled', 'the release is cancelled');
    // The agent got the cancel: the script (and its sleep) is gone long before its 120 s.
    await eventually(async () => !alive(), { timeoutMs: 20_000, message: () => `the update script (pid ${pid}) is still running after the cancel\nagent:\n${agentOutput.slice(-15).join('\n')}\noperator:\n${engine.logs.slice(-15).join('\n')}` });
    expect(agentOutput.join('\n')).toMatch(/cancel requested/);
    expect(await lines(join(work, 'ops.log'))).toEqual(['install 1.0.0', 'update started']);
    await expect.poll(async () => (await history('c2')).deployments.map((d) => d.status), { timeout: 10_000 }).toEqual(['cancelled']);
  }, 180_000);
});

// ------------------------------------------------------------------------------------------------ secrets

/** The text forms a value takes: as is, base64, and its sha256 (which the script writes on the host). */
function forms(value: string): [string, string][] {
  return [['raw', value], ['base64', Buffer.from(value, 'utf8').toString('base64')]];
}

describe('a secret variable', () => {
  it('reaches the script as an environment variable and appears in no log, status, Event or table', async () => {
    const secret = SECRET;
    const work = join(dir, 'script-s', 'vault');
    const secretApp = (name: string, version: string, update: string) => `
apiVersion: shipway.dev/v1alpha1
kind: ReleaseApp
metadata: { name: ${name}-vault, namespace: ${ns} }
spec:
  release: ${name}
  app: vault
  version: ${version}
  artifact: { package: { url: "file:///srv/vault-\${APP_VERSION}.tgz" } }
  script:
    workDir: ${work}
    install: |
      set -eu
      printf '%s' "$API_TOKEN" | sha256sum | cut -d' ' -f1 > token.sha256
      echo "connecting with token $API_TOKEN"
      echo "token on stderr: $API_TOKEN" >&2
    update: |
${update.split('\n').map((l) => `      ${l}`).join('\n')}
`;
    const secretRelease = (name: string, version: string, update: string) =>
      release(name, 'script-s', { version, spec: '  variables: [{ name: API_TOKEN, type: secret, secretKeyRef: { name: host-secrets, key: token } }]', apps: [secretApp(name, version, update)] });

    await engine.apply(secretRelease('s1', '1.0.0', 'true'));
    const s1 = await finish('s1', 'Succeeded', 'the script runs with the secret');
    expect((await readFile(join(work, 'token.sha256'), 'utf8')).trim()).toBe(createHash('sha256').update(secret).digest('hex'));
    // What the script printed reached the operator, masked.
    const s1Deploy = (await history('s1')).deployments.flatMap((d) => d.stageRuns.flatMap((s) => s.taskRuns)).find((t) => t.type === 'deploy')!;
    expect(s1Deploy.outputTail).toContain(`connecting with token ${MASK}`);
    expect(JSON.stringify(s1.status)).not.toContain(secret);

    // A failure that quotes the secret: the error goes to the status, the Events and history, masked.
    await engine.apply(secretRelease('s2', '1.1.0', `echo "cannot authenticate with $API_TOKEN" >&2
exit 3`));
    const s2 = await finish('s2', 'Failed', 'the failing update fails the release');
    expect(s2.status.environments[0].targets[0].error).toContain(`cannot authenticate with ${MASK}`);

    // ---- the scan: everything the operator and the agent wrote.
    const found: string[] = [];
    const search = (place: string, text: string) => {
      for (const [form, needle] of forms(secret)) if (text.includes(needle)) found.push(`${place} (${form})`);
    };
    engine.logs.forEach((line, i) => search(`operator log line ${i}`, line));
    agentOutput.forEach((line, i) => search(`agent output line ${i}`, line));
    let events = 0;
    for (const kind of ['events', 'events.events.k8s.io']) {
      const items = (await engine.json(['get', kind, '-n', ns])).items as Json[];
      events += items.length;
      for (const event of items) search(`${kind} ${event.metadata.name}`, JSON.stringify(event));
    }
    expect(events).toBeGreaterThan(0);
    const objects = (await engine.json(['get', 'releases,releaseapps,targets', '-n', ns])).items as Json[];
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(expect.arrayContaining(['Release/s1', 'Release/s2', 'ReleaseApp/s2-vault', 'Target/script-s']));
    for (const object of objects) search(`${object.kind} ${object.metadata.name}`, JSON.stringify(object));
    const dump = await databaseDump(engine.operator.database.db);
    expect(Object.keys(dump)).toEqual(expect.arrayContaining(['public.releases', 'public.task_runs', 'public.deployments', 'public.status_reports']));
    for (const [table, rows] of Object.entries(dump)) search(`table ${table}`, rows);
    // The agent's journal on the host: the operator names the secret variables, and the agent masks them.
    const journalDir = join(dir, 'agent-state', 'journal');
    const journal = await readdir(journalDir);
    expect(journal.length).toBeGreaterThan(0);
    for (const file of journal) search(`agent journal ${file}`, await readFile(join(journalDir, file), 'utf8'));
    expect(agentOutput.join('\n')).toContain('deploy install of vault 1.0.0 (script) started');
    expect(found).toEqual([]);
    // The scan does find the value where it is by design: the user's Secret.
    const userSecret = await engine.json(['get', 'secret', 'host-secrets', '-n', ns]);
    expect(JSON.stringify(userSecret)).toContain(Buffer.from(secret).toString('base64'));
  }, 180_000);
});
