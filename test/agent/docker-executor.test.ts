/**
 * The docker executor against a real engine and a real registry (scripts/with-docker.sh starts both and pushes
 * the busybox test image in tags v1, v2 and broken). Containers use the host network: each test serves on a
 * port of its own on 127.0.0.1 and has an app name of its own, and everything it made is removed afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { AgentOperation, AgentTaskContext, AgentTaskResult } from '../../agent/src/executors/agent-executor.ts';
import { connectDocker, imageExists, pullImage } from '../../agent/src/executors/docker-engine.ts';
import {
  DOCKER_LABELS,
  DockerExecutor,
  type DockerExecutorConfig,
  type DockerSettings,
} from '../../agent/src/executors/docker-executor.ts';
import { describeWithDocker, requireTestDocker, type TestDockerEnvironment } from '../support/test-docker.ts';
import { eventually } from '../support/until.ts';
import { freePort } from '../support/ports.ts';

const executor = new DockerExecutor({ stopTimeoutSeconds: 2, startupGraceMs: 1000, healthIntervalMs: 100 });

describeWithDocker('docker executor', () => {
  let environment: TestDockerEnvironment;
  let docker: Docker;
  let stateDir: string;
  const apps: string[] = [];

  beforeAll(async () => {
    environment = requireTestDocker();
    docker = connectDocker({ host: environment.dockerHost });
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'shipway-docker-state-'));
  });

  afterEach(async () => {
    for (const app of apps.splice(0)) {
      const containers = await docker.listContainers({ all: true, filters: { label: [`${DOCKER_LABELS.app}=${app}`] } });
      for (const { Id } of containers) await docker.getContainer(Id).remove({ force: true, v: true });
      const { Volumes } = await docker.listVolumes({ filters: { label: [`${DOCKER_LABELS.app}=${app}`] } });
      for (const { Name } of Volumes ?? []) await docker.getVolume(Name).remove();
    }
  });

  afterAll(async () => {
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  /** An app of its own, served on a free port. */
  async function newApp(): Promise<{ app: string; port: number; url: (file: string) => string }> {
    const app = `web-${randomBytes(4).toString('hex')}`;
    apps.push(app);
    const port = await freePort();
    return { app, port, url: (file) => `http://127.0.0.1:${port}/${file}` };
  }

  function config(port: number, settings: Partial<DockerSettings> = {}): DockerExecutorConfig {
    return {
      image: environment.image,
      engine: { host: environment.dockerHost },
      settings: {
        network: 'host',
        restartPolicy: 'unless-stopped',
        keepData: true,
        keepImages: 10,
        ...settings,
        env: { HTTP_PORT: String(port), ...settings.env },
      },
    };
  }

  interface Run {
    result: AgentTaskResult;
    logs: string[];
    progress: number[];
  }

  async function run(
    operation: AgentOperation,
    app: string,
    version: string,
    taskConfig: DockerExecutorConfig,
    options: { env?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<Run> {
    const logs: string[] = [];
    const progress: number[] = [];
    const context: AgentTaskContext = {
      taskId: `task-${randomBytes(4).toString('hex')}`,
      operation,
      app,
      version,
      env: options.env ?? {},
      signal: options.signal ?? new AbortController().signal,
      log: (line) => logs.push(line),
      progress: (percent) => progress.push(percent),
      stateDir,
    };
    const result = await executor.run(taskConfig, context);
    return { result, logs, progress };
  }

  async function containerOf(app: string): Promise<Docker.ContainerInspectInfo> {
    const containers = await docker.listContainers({ all: true, filters: { label: [`${DOCKER_LABELS.app}=${app}`] } });
    expect(containers.map((c) => c.Names[0])).toEqual([`/${app}`]);
    return docker.getContainer(app).inspect();
  }

  async function served(url: string): Promise<string> {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    expect(response.status).toBe(200);
    return (await response.text()).trim();
  }

  it('first install pulls the tag from the registry and runs it with its env, labels and restart policy', async () => {
    const { app, port, url } = await newApp();
    await docker.getImage(`${environment.image}:v1`).remove({ force: true }).catch(() => undefined);

    const { result, logs, progress } = await run(
      'install',
      app,
      'v1',
      config(port, { env: { GREETING: 'from-settings' }, labels: { team: 'shop' }, restartPolicy: 'on-failure', healthCheck: { url: url('health'), timeoutSeconds: 10 } }),
      { env: { APP_ENV: 'pre', GREETING: 'from-release' } },
    );

    expect(result).toMatchObject({ status: 'succeeded', version: 'v1', installed: true });
    expect(result.previousVersion).toBeUndefined();
    expect(logs.some((line) => line.startsWith('pull '))).toBe(true);
    expect(logs).toContain(`health check ${url('health')} passed (HTTP 200)`);
    expect(progress.at(-1)).toBe(100);
    const info = await containerOf(app);
    expect(info.Config.Labels).toMatchObject({
      [DOCKER_LABELS.app]: app,
      [DOCKER_LABELS.version]: 'v1',
      [DOCKER_LABELS.image]: `${environment.image}:v1`,
      team: 'shop',
    });
    expect(info.HostConfig.RestartPolicy?.Name).toBe('on-failure');
    expect(info.HostConfig.NetworkMode).toBe('host');
    expect(await served(url('version'))).toBe('v1');
    const processEnv = (await served(url('env'))).split('\n');
    expect(processEnv).toEqual(expect.arrayContaining(['APP_ENV=pre', 'GREETING=from-settings', `HTTP_PORT=${port}`]));
  });

  it('update to a second tag replaces the container and remembers the first version as previous', async () => {
    const { app, port, url } = await newApp();
    const settings = config(port, { healthCheck: { url: url('health'), timeoutSeconds: 10 } });
    expect((await run('install', app, 'v1', settings)).result.status).toBe('succeeded');

    const { result } = await run('update', app, 'v2', settings);

    expect(result).toMatchObject({ status: 'succeeded', version: 'v2', previousVersion: 'v1', installed: true });
    expect(await served(url('version'))).toBe('v2');
    const info = await containerOf(app);
    expect(info.Config.Labels?.[DOCKER_LABELS.version]).toBe('v2');
    expect(info.State.Running).toBe(true);
    const state = JSON.parse(await readFile(path.join(stateDir, 'docker', `${app}.json`), 'utf8')) as Record<string, unknown>;
    expect(state).toMatchObject({ current: { version: 'v2' }, previous: { version: 'v1', image: `${environment.image}:v1` } });
  });

  it('a failing health check on update puts the very container of the previous version back', async () => {
    const { app, port, url } = await newApp();
    const settings = config(port, { healthCheck: { url: url('health'), timeoutSeconds: 3 } });
    await run('install', app, 'v1', settings);
    const before = await containerOf(app);

    const started = Date.now();
    const { result } = await run('update', app, 'broken', settings);

    expect(result.status).toBe('failed');
    expect(result.error).toBe(`health check ${url('health')} did not answer 2xx within 3 s (last: HTTP 404); the previous version v1 is running again`);
    expect(result).toMatchObject({ version: 'v1', installed: true });
    expect(Date.now() - started).toBeLessThan(15_000);
    const after = await containerOf(app);
    expect(after.Id).toBe(before.Id);
    expect(after.State.Running).toBe(true);
    expect(after.HostConfig.RestartPolicy?.Name).toBe('unless-stopped');
    expect(await served(url('version'))).toBe('v1');
  });

  it('a container that exits at start fails the update at once and the previous version keeps serving', async () => {
    const { app, port, url } = await newApp();
    await run('install', app, 'v1', config(port));

    const { result, logs } = await run('update', app, 'v2', config(port, { command: ['/bin/sh', '-c', 'echo cannot open config >&2; exit 3'], restartPolicy: 'no' }));

    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/^the container exited with code 3; the previous version v1 is running again$/);
    expect(logs).toContain(`${app}| cannot open config`);
    expect(result.outputTail).toContain('cannot open config');
    expect(await served(url('version'))).toBe('v1');
  });

  it('a first install whose health check finds nothing listening fails and leaves nothing installed', async () => {
    const { app, port } = await newApp();
    const wrongPort = await freePort();

    const { result } = await run('install', app, 'v1', config(port, { healthCheck: { url: `http://127.0.0.1:${wrongPort}/health`, timeoutSeconds: 2 } }));

    expect(result).toMatchObject({ status: 'failed', installed: false });
    expect(result.error).toBe(`health check http://127.0.0.1:${wrongPort}/health did not answer 2xx within 2 s (last: ECONNREFUSED)`);
    expect(await docker.listContainers({ all: true, filters: { label: [`${DOCKER_LABELS.app}=${app}`] } })).toEqual([]);
  });

  it('rollback without a version runs the previous image, from the engine when the registry is not needed', async () => {
    const { app, port, url } = await newApp();
    const settings = config(port, { healthCheck: { url: url('health'), timeoutSeconds: 10 } });
    await run('install', app, 'v1', settings);
    await run('update', app, 'v2', settings);

    const back = await run('rollback', app, '', settings);

    expect(back.result).toMatchObject({ status: 'succeeded', version: 'v1', previousVersion: 'v2', installed: true });
    expect(back.logs).toContain(`${environment.image}:v1 is present, not pulling`);
    expect(await served(url('version'))).toBe('v1');

    const forth = await run('rollback', app, 'v2', settings);
    expect(forth.result).toMatchObject({ status: 'succeeded', version: 'v2', previousVersion: 'v1' });
    expect(await served(url('version'))).toBe('v2');
  });

  it('rollback with nothing to go back to fails and says so', async () => {
    const { app, port } = await newApp();
    const { result } = await run('rollback', app, '', config(port));
    expect(result).toMatchObject({ status: 'failed', installed: false });
    expect(result.error).toBe(`nothing to roll back to: no version was given and no previous version of ${app} is known`);
  });

  it('uninstall removes the container and keeps its named volume by default', async () => {
    const { app, port } = await newApp();
    const volume = `${app}-data`;
    const settings = config(port, { volumes: [{ source: volume, target: '/data', readOnly: false }] });
    await run('install', app, 'v1', settings);
    expect((await containerOf(app)).Mounts.map((m) => m.Name)).toContain(volume);

    const { result } = await run('uninstall', app, 'v1', settings);

    expect(result).toMatchObject({ status: 'succeeded', installed: false, previousVersion: 'v1' });
    expect(await docker.listContainers({ all: true, filters: { label: [`${DOCKER_LABELS.app}=${app}`] } })).toEqual([]);
    expect((await docker.getVolume(volume).inspect()).Labels).toMatchObject({ [DOCKER_LABELS.app]: app });
  });

  it('uninstall with keepData false removes the named volumes too', async () => {
    const { app, port } = await newApp();
    const volume = `${app}-data`;
    const settings = config(port, { volumes: [{ source: volume, target: '/data', readOnly: false }] });
    await run('install', app, 'v1', settings);

    const { result } = await run('uninstall', app, 'v1', { ...settings, settings: { ...settings.settings!, keepData: false } });

    expect(result).toMatchObject({ status: 'succeeded', installed: false });
    expect((await docker.listVolumes({ filters: { name: [volume] } })).Volumes ?? []).toEqual([]);
    expect(await docker.listContainers({ all: true, filters: { label: [`${DOCKER_LABELS.app}=${app}`] } })).toEqual([]);
  });

  it('an unknown tag fails with an error naming the image and tag, and the running version is not touched', async () => {
    const { app, port, url } = await newApp();
    await run('install', app, 'v1', config(port));
    const before = await containerOf(app);

    const { result } = await run('update', app, 'v9-missing', config(port));

    expect(result).toMatchObject({ status: 'failed', version: 'v1', installed: true });
    expect(result.error).toContain(`image ${environment.image}:v9-missing was not found`);
    expect(result.error).toContain('manifest unknown');
    const after = await containerOf(app);
    expect(after.Id).toBe(before.Id);
    expect(after.State.StartedAt).toBe(before.State.StartedAt);
    expect(await served(url('version'))).toBe('v1');
  });

  it('cancelling during the health wait ends the task promptly and restores the previous version', async () => {
    const { app, port, url } = await newApp();
    const settings = config(port, { healthCheck: { url: url('health'), timeoutSeconds: 120 } });
    await run('install', app, 'v1', settings);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error('cancelled by the operator')), 1500);

    const started = Date.now();
    const { result } = await run('update', app, 'broken', settings, { signal: controller.signal });
    clearTimeout(timer);

    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result).toMatchObject({ status: 'failed', version: 'v1', installed: true });
    expect(result.error).toBe('cancelled: cancelled by the operator; the previous version v1 is running again');
    // A cancelled task restarts the old container without waiting for it to serve.
    await eventually(async () => (await fetch(url('version')).then((r) => r.text(), () => '')).trim() === 'v1', { timeoutMs: 5000 });
  });

  it('cancelling while the pull hangs ends the task promptly and leaves the running version alone', async () => {
    const { app, port, url } = await newApp();
    await run('install', app, 'v1', config(port));
    const before = await containerOf(app);
    // A "registry" that accepts connections and never answers: the engine's pull hangs on it.
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentRegistry = `127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error('cancelled by the operator')), 1000);
    try {
      const started = Date.now();
      const { result } = await run('update', app, 'v2', { ...config(port), image: `${silentRegistry}/shipway-test/web` }, { signal: controller.signal });

      expect(Date.now() - started).toBeLessThan(5000);
      expect(result).toMatchObject({ status: 'failed', error: 'cancelled: cancelled by the operator', version: 'v1', installed: true });
      expect(sockets.length).toBeGreaterThan(0);
      expect((await containerOf(app)).Id).toBe(before.Id);
      expect(await served(url('version'))).toBe('v1');
    } finally {
      clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('an engine that cannot be reached fails the task with its address', async () => {
    const { app, port } = await newApp();
    const { result } = await run('install', app, 'v1', { ...config(port), engine: { host: `unix://${stateDir}/no-such-docker.sock` } });
    expect(result).toMatchObject({ status: 'failed', installed: false });
    expect(result.error).toMatch(new RegExp(`^cannot reach the Docker engine at unix://${stateDir}/no-such-docker.sock: connect ENOENT`));
  });

  it('after each deploy the app\'s images beyond keepImages are removed, never the running or the previous one', async () => {
    const { app, port, url } = await newApp();
    // A repository of its own in the registry (tags r1..r4 of the v1 image), so no other test's images are pruned.
    const repository = `${environment.registry}/prune-${randomBytes(4).toString('hex')}`;
    const tags = ['r1', 'r2', 'r3', 'r4'];
    await pullImage(docker, environment.image, 'v1', { signal: AbortSignal.timeout(60_000), log: () => undefined });
    for (const tag of tags) {
      await docker.getImage(`${environment.image}:v1`).tag({ repo: repository, tag });
      const pushed = (await docker.getImage(`${repository}:${tag}`).push({ authconfig: { serveraddress: environment.registry } })) as NodeJS.ReadableStream;
      await new Promise((resolve, reject) => docker.modem.followProgress(pushed, (error) => (error ? reject(error) : resolve(undefined))));
      await docker.getImage(`${repository}:${tag}`).remove();
    }
    const settings = { ...config(port, { keepImages: 2, healthCheck: { url: url('health'), timeoutSeconds: 10 } }), image: repository };
    const present = async () => {
      const found: string[] = [];
      for (const tag of tags) if (await imageExists(docker, `${repository}:${tag}`)) found.push(tag);
      return found;
    };

    await run('install', app, 'r1', settings);
    await run('update', app, 'r2', settings);
    expect(await present()).toEqual(['r1', 'r2']);
    const third = await run('update', app, 'r3', settings);
    expect(third.logs).toContain(`removed image ${repository}:r1 (keeping the 2 most recently used)`);
    expect(await present()).toEqual(['r2', 'r3']);
    await run('update', app, 'r4', settings);
    expect(await present()).toEqual(['r3', 'r4']);

    // The previous image stayed, so the rollback needs no registry; going back to r3 makes r4 the previous one.
    const back = await run('rollback', app, '', settings);
    expect(back.result).toMatchObject({ status: 'succeeded', version: 'r3', previousVersion: 'r4' });
    expect(back.logs).toContain(`${repository}:r3 is present, not pulling`);
    expect(await present()).toEqual(['r3', 'r4']);
  });

  it("installs through a TLS-verified tcp:// engine with the PEMs of the Target's tlsSecretRef, and a wrong client certificate is refused", async () => {
    const { app, port, url } = await newApp();
    expect(environment.tls, 'scripts/with-docker.sh exports SHIPWAY_TEST_DOCKER_TLS_HOST and _DIR').toBeDefined();
    const pem = async (file: string) => readFile(path.join(environment.tls!.dir, file), 'utf8');
    const tls = { ca: await pem('ca.pem'), cert: await pem('cert.pem'), key: await pem('key.pem') };
    const settings = { ...config(port, { healthCheck: { url: url('health'), timeoutSeconds: 10 } }), engine: { host: environment.tls!.host, tls } };

    const { result } = await run('install', app, 'v1', settings);
    expect(result).toMatchObject({ status: 'succeeded', version: 'v1', installed: true });
    expect(await served(url('version'))).toBe('v1');

    // The server's own certificate is no client certificate: the engine's TLS refuses it.
    const wrong = { ...settings, engine: { host: environment.tls!.host, tls: { ...tls, cert: await pem('server-cert.pem'), key: await pem('server-key.pem') } } };
    const refused = await run('update', app, 'v2', wrong);
    expect(refused.result.status).toBe('failed');
    expect(refused.result.error).toMatch(new RegExp(`^TLS with the Docker engine at ${environment.tls!.host} failed \\(check the ca.pem, cert.pem and key.pem of the Target's tlsSecretRef\\): .*bad certificate`));
    expect(await served(url('version'))).toBe('v1');
  });

  it('a swap interrupted by an agent crash is undone by the next task', async () => {
    const { app, port, url } = await newApp();
    const settings = config(port, { healthCheck: { url: url('health'), timeoutSeconds: 10 } });
    await run('install', app, 'v1', settings);
    // What a crash between parking the old container and starting the new one leaves behind.
    const old = docker.getContainer(app);
    await old.update({ RestartPolicy: { Name: 'no' } });
    await old.stop({ t: 2 });
    await old.rename({ name: `${app}-shipway-previous` });

    const { result, logs } = await run('update', app, 'v2', settings);

    expect(logs).toContain(`restoring the previous container ${app}`);
    expect(result).toMatchObject({ status: 'succeeded', version: 'v2', previousVersion: 'v1' });
    expect(await served(url('version'))).toBe('v2');
    await containerOf(app);
  });
});

