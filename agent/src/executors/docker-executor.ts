/**
 * The docker executor: one container per app on the agent's Docker engine, named after the app (or
 * `containerName`) and labelled with app, version and image.
 *
 * install/update pull `<image>:<version>` and swap containers; the old one is not removed but stopped and parked
 * under another name until the new one has passed its health check, so a failed update puts back the very
 * container that was running (its own settings, not today's). rollback runs the previous image (or the given
 * version) the same way; uninstall removes the container and, unless keepData, its named volumes.
 *
 * What the executor must remember across tasks (current and previous image, a swap in progress, the images it
 * pulled) lives in `<stateDir>/docker/<container>.json`; the labels on the container are the truth about what
 * runs now.
 *
 * Image retention: after each successful deploy the images of the app beyond `keepImages` (most recently used
 * first) are removed from the engine. Only images this executor deployed are candidates — whatever else the host
 * holds is not ours to judge — and the running and previous ones always stay, so a rollback never needs the
 * registry.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Type, type Static } from '@sinclair/typebox';
import type Docker from 'dockerode';
import { PATTERNS } from '../../../operator/src/api/patterns.ts';
import { ReleaseAppSpec } from '../../../operator/src/api/release-app.ts';
import { Obj } from '../../../operator/src/api/schema-helpers.ts';
import type { AgentExecutor, AgentTaskContext, AgentTaskResult } from './agent-executor.ts';
import {
  connectDocker,
  containerLogTail,
  engineMessage,
  engineStatus,
  imageExists,
  ImageNotFoundError,
  pullImage,
} from './docker-engine.ts';

export const DOCKER_LABELS = {
  app: 'shipway.dev/app',
  version: 'shipway.dev/version',
  image: 'shipway.dev/image',
} as const;

const Pem = Type.String({ minLength: 1, maxLength: 65536 });

export const DockerExecutorConfig = Obj({
  image: Type.String({
    minLength: 1,
    maxLength: 512,
    pattern: PATTERNS.imageRepository.regex,
    description: "The ReleaseApp's artifact.image (repository without tag); the tag is the task's version.",
  }),
  /** The ReleaseApp's `docker` block, the very schema of the CRD. */
  settings: ReleaseAppSpec.properties.docker,
  engine: Type.Optional(
    Obj({
      host: Type.Optional(Type.String({ maxLength: 1024, pattern: PATTERNS.dockerHost.regex, description: "The Target's docker.host; default DOCKER_HOST, else the local socket." })),
      tls: Type.Optional(Obj({ ca: Pem, cert: Pem, key: Pem }, { description: "Contents of the Target's tlsSecretRef Secret." })),
    }),
  ),
});
export type DockerExecutorConfig = Static<typeof DockerExecutorConfig>;
export type DockerSettings = NonNullable<DockerExecutorConfig['settings']>;

export interface DockerExecutorOptions {
  /** How long `docker stop` lets the process end before killing it (default 10 s). */
  stopTimeoutSeconds?: number;
  /** Without a health URL, how long the new container must stay up to count as started (default 2 s). */
  startupGraceMs?: number;
  /** Pause between two health probes (default 500 ms). */
  healthIntervalMs?: number;
}

const DEFAULTS = { restartPolicy: 'unless-stopped', healthTimeoutSeconds: 60, keepData: true, keepImages: 10 } as const;
const OUTPUT_LINES = 100;
const OUTPUT_BYTES = 16 * 1024;
const CONTAINER_LOG_LINES = 30;

interface Deployed {
  /** Full reference, repository:tag. */
  image: string;
  version: string;
}

interface RestartPolicy {
  Name: string;
  MaximumRetryCount?: number;
}

interface DockerAppState {
  current?: Deployed;
  previous?: Deployed;
  /** Set while the old container is parked: the restart policy it gets back when it is restored. */
  parked?: { restartPolicy: RestartPolicy };
  /** Images this executor deployed for the app, most recently used first: the candidates of image retention. */
  images?: { image: string; usedAt: string }[];
}

export class DockerExecutor implements AgentExecutor<DockerExecutorConfig> {
  readonly type = 'docker';
  readonly configSchema = DockerExecutorConfig;

  constructor(private readonly options: DockerExecutorOptions = {}) {}

  run(config: DockerExecutorConfig, context: AgentTaskContext): Promise<AgentTaskResult> {
    return new DockerTask(config, context, this.options).run();
  }
}

/** Fails the task with this message; no stack or engine prefix is added. */
class TaskFailure extends Error {}

class DockerTask {
  private readonly docker: Docker;
  private readonly settings: DockerSettings;
  private readonly name: string;
  private readonly parkedName: string;
  private readonly statePath: string;
  private readonly output: string[] = [];

  constructor(
    private readonly config: DockerExecutorConfig,
    private readonly context: AgentTaskContext,
    private readonly options: DockerExecutorOptions,
  ) {
    this.docker = connectDocker(config.engine);
    this.settings = config.settings ?? ({} as DockerSettings);
    this.name = this.settings.containerName ?? context.app;
    this.parkedName = `${this.name}-shipway-previous`;
    this.statePath = path.join(context.stateDir, 'docker', `${this.name}.json`);
  }

  async run(): Promise<AgentTaskResult> {
    const { operation, signal } = this.context;
    try {
      if (signal.aborted) throw signal.reason;
      await this.recoverInterruptedSwap();
      switch (operation) {
        case 'install':
        case 'update':
          if (!this.context.version) throw new TaskFailure(`${operation} needs a version (the image tag)`);
          return await this.deploy(`${this.config.image}:${this.context.version}`, this.context.version, 'always');
        case 'rollback':
          return await this.rollback();
        case 'uninstall':
          return await this.uninstall();
      }
    } catch (error) {
      return this.failed(this.describe(error), await this.installedNow());
    }
  }

  /** What runs after an unexpected failure; when the engine cannot tell, what was known before the task. */
  private async installedNow(): Promise<Deployed | undefined> {
    try {
      const running = await this.inspect(this.name);
      return running ? deployedOf(running) : undefined;
    } catch {
      const state = await this.readState().catch((): DockerAppState => ({}));
      const version = state.current?.version ?? this.context.currentVersion;
      return version ? { image: state.current?.image ?? `${this.config.image}:${version}`, version } : undefined;
    }
  }

  private async rollback(): Promise<AgentTaskResult> {
    const state = await this.readState();
    const version = this.context.version || state.previous?.version;
    if (!version) throw new TaskFailure(`nothing to roll back to: no version was given and no previous version of ${this.name} is known`);
    // The image that ran before, even if the app's repository has changed since.
    const image = state.previous?.version === version ? state.previous.image : `${this.config.image}:${version}`;
    return this.deploy(image, version, 'if-missing');
  }

  private async deploy(image: string, version: string, pull: 'always' | 'if-missing'): Promise<AgentTaskResult> {
    const { signal } = this.context;
    const state = await this.readState();
    const current = await this.inspect(this.name);
    const before = current ? deployedOf(current) : undefined;
    if (before) this.log(`${this.name} runs ${before.image}`);

    this.progress(5, `pulling ${image}`);
    // A rollback must work while the registry is away: the image it goes back to is usually still here.
    if (pull === 'always' || !(await imageExists(this.docker, image))) {
      const [repository, tag] = splitReference(image);
      try {
        await pullImage(this.docker, repository, tag, { signal, log: (line) => this.log(line) });
      } catch (error) {
        if (error instanceof ImageNotFoundError) return this.failed(error.message, before);
        throw error;
      }
    } else {
      this.log(`${image} is present, not pulling`);
    }
    this.progress(30, `pulled ${image}`);
    // On record from now on, also if the deploy fails: the image is on the host either way.
    state.images = [{ image, usedAt: new Date().toISOString() }, ...(state.images ?? []).filter((entry) => entry.image !== image)];
    await this.writeState(state);
    await this.ensureNamedVolumes();

    const parked = current ? await this.park(current, state) : undefined;
    this.progress(50, `starting ${image}`);
    try {
      const created = await this.docker.createContainer(this.createOptions(image, version));
      await created.start();
      this.log(`started ${this.name} (${image})`);
      this.progress(60, 'waiting for health');
      await this.waitHealthy(created);
    } catch (error) {
      const why = this.describe(error);
      this.log(`${image} failed: ${why}`);
      await this.discardNew();
      if (!parked) {
        await this.writeState({ ...state, current: undefined, parked: undefined });
        return this.failed(why);
      }
      try {
        await this.unpark(parked.container, parked.restartPolicy, current?.State.Running === true);
      } catch (restoreError) {
        const running = (await this.inspect(this.name).catch(() => undefined))?.State.Running === true;
        // `parked` stays recorded while the old container may still be parked: the next task finishes the restore.
        await this.writeState({ ...state, current: running ? before : undefined, parked: { restartPolicy: parked.restartPolicy } });
        return this.failed(`${why}; restoring ${before?.image ?? 'the previous container'} failed too: ${this.describe(restoreError)}`, running ? before : undefined);
      }
      await this.writeState({ ...state, current: before, parked: undefined });
      return this.failed(`${why}; the previous version ${before?.version} is running again`, before);
    }

    if (parked) await removeIgnoringMissing(parked.container, { force: true });
    const deployed = { image, version };
    const previous = before && before.version !== version ? before : state.previous;
    const done = { current: deployed, previous, images: state.images };
    await this.writeState(done);
    await this.pruneImages(done);
    this.progress(100, `${this.name} runs ${image}`);
    return {
      status: 'succeeded',
      version,
      ...(before ? { previousVersion: before.version } : {}),
      installed: true,
      outputTail: this.outputTail(),
    };
  }

  private async uninstall(): Promise<AgentTaskResult> {
    const keepData = this.settings.keepData ?? DEFAULTS.keepData;
    const current = await this.inspect(this.name);
    const before = current ? deployedOf(current) : undefined;
    const volumes = new Set(namedVolumes(this.settings));
    if (current) {
      for (const mount of current.Mounts ?? []) {
        if (mount.Type === 'volume' && mount.Name && !isAnonymousVolume(mount.Name)) volumes.add(mount.Name);
      }
      this.log(`removing ${this.name} (${before?.image ?? current.Config.Image})`);
      await stopIgnoringStopped(this.docker.getContainer(current.Id), this.stopTimeout());
      // v: anonymous volumes die with the container, so they go only when the data goes.
      await removeIgnoringMissing(this.docker.getContainer(current.Id), { force: true, v: !keepData });
    } else {
      this.log(`${this.name} is not installed`);
    }
    const failures: string[] = [];
    if (keepData) {
      if (volumes.size > 0) this.log(`keeping volumes ${[...volumes].join(', ')}`);
    } else {
      for (const volume of volumes) {
        try {
          await this.docker.getVolume(volume).remove();
          this.log(`removed volume ${volume}`);
        } catch (error) {
          if (engineStatus(error) !== 404) failures.push(`${volume}: ${engineMessage(error)}`);
        }
      }
    }
    // The images stay on record, so a later install of the app still prunes them.
    const { images } = await this.readState();
    if (images && images.length > 0) await this.writeState({ images });
    else await rm(this.statePath, { force: true });
    this.progress(100, `${this.name} uninstalled`);
    if (failures.length > 0) {
      return { ...this.failed(`${this.name} was removed but not all of its volumes: ${failures.join('; ')}`), installed: false };
    }
    return {
      status: 'succeeded',
      ...(before ? { previousVersion: before.version } : {}),
      installed: false,
      outputTail: this.outputTail(),
    };
  }

  /**
   * The old container steps aside without being lost: restart policy `no` (an `always` container would come
   * back on an engine restart and fight the new one for its ports), stopped, renamed. The policy it had is
   * written down first, so a restore after an agent crash gives it back.
   */
  private async park(current: Docker.ContainerInspectInfo, state: DockerAppState): Promise<{ container: Docker.Container; restartPolicy: RestartPolicy }> {
    const container = this.docker.getContainer(current.Id);
    const restartPolicy = restartPolicyOf(current);
    await this.writeState({ ...state, parked: { restartPolicy } });
    this.log(`stopping ${this.name}`);
    try {
      await container.update({ RestartPolicy: { Name: 'no' } });
      await stopIgnoringStopped(container, this.stopTimeout());
      await container.rename({ name: this.parkedName });
    } catch (error) {
      // Half parked is the worst state to leave: put the container back as it was, as far as the engine lets us.
      const now = await this.inspect(this.parkedName).catch(() => undefined);
      if (now) await container.rename({ name: this.name }).catch(() => undefined);
      await container.update({ RestartPolicy: restartPolicy }).catch(() => undefined);
      if (current.State.Running) await startIgnoringStarted(container).catch(() => undefined);
      await this.writeState({ ...state, parked: undefined });
      throw error;
    }
    return { container, restartPolicy };
  }

  /** `start`: false when the old container was not running when it was parked; it is put back as it was. */
  private async unpark(container: Docker.Container, restartPolicy: RestartPolicy, start: boolean): Promise<void> {
    this.log(`restoring the previous container ${this.name}`);
    await container.rename({ name: this.name });
    await container.update({ RestartPolicy: restartPolicy });
    if (!start) return;
    await startIgnoringStarted(container);
    // "Running again" should mean serving again; a cancelled task only starts it and does not wait.
    if (this.context.signal.aborted) return;
    await this.waitHealthy(container);
  }

  /** A task that died mid-swap (agent killed) leaves a parked container: finish or undo that swap first. */
  private async recoverInterruptedSwap(): Promise<void> {
    const parked = await this.inspect(this.parkedName);
    if (!parked) return;
    const state = await this.readState();
    if (await this.inspect(this.name)) {
      this.log(`removing ${this.parkedName}, left over from an interrupted task`);
      await removeIgnoringMissing(this.docker.getContainer(parked.Id), { force: true });
    } else {
      // Parked means it was stopped by us: it ran before the interrupted task.
      await this.unpark(this.docker.getContainer(parked.Id), state.parked?.restartPolicy ?? { Name: this.restartPolicyName() }, true);
    }
    await this.writeState({ ...state, parked: undefined });
  }

  /** The new container that failed: its last output goes to the log, then it goes (also if it never started). */
  private async discardNew(): Promise<void> {
    const container = this.docker.getContainer(this.name);
    try {
      for (const line of await containerLogTail(container, CONTAINER_LOG_LINES)) this.log(`${this.name}| ${line}`);
    } catch {
      // No container or no logs: nothing more to tell.
    }
    await removeIgnoringMissing(container, { force: true, v: true });
  }

  /**
   * Healthy means: the health URL answered 2xx before the timeout, or, without a URL, the container stayed up
   * for the start-up grace period. A container that exits or restarts meanwhile fails at once.
   */
  private async waitHealthy(container: Docker.Container): Promise<void> {
    const { signal } = this.context;
    const url = this.settings.healthCheck?.url;
    const timeoutSeconds = this.settings.healthCheck?.timeoutSeconds ?? DEFAULTS.healthTimeoutSeconds;
    const started = Date.now();
    const deadline = started + timeoutSeconds * 1000;
    const graceEnds = Math.min(started + (this.options.startupGraceMs ?? 2000), deadline);
    let last = 'no answer yet';
    let restarts: number | undefined;
    for (;;) {
      signal.throwIfAborted();
      const info = await container.inspect();
      // Counted from the first look: a restored container may bring restarts from its earlier life.
      restarts ??= info.RestartCount;
      if (!info.State.Running || info.State.Restarting || info.RestartCount > restarts) {
        throw new TaskFailure(`the container ${describeExit(info)}`);
      }
      if (url) {
        const answer = await probe(url, Math.max(deadline - Date.now(), 500), signal);
        if (answer.ok) {
          this.log(`health check ${url} passed (${answer.detail})`);
          return;
        }
        last = answer.detail;
      } else if (Date.now() >= graceEnds) {
        this.log(`${this.name} is running`);
        return;
      }
      if (Date.now() >= deadline) {
        throw new TaskFailure(`health check ${url} did not answer 2xx within ${timeoutSeconds} s (last: ${last})`);
      }
      await sleep(this.options.healthIntervalMs ?? 500, undefined, { signal });
    }
  }

  private createOptions(image: string, version: string): Docker.ContainerCreateOptions {
    const settings = this.settings;
    // The app's own container env wins over release variables of the same name.
    const env = { ...this.context.env, ...settings.env };
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostPort: string }[]> = {};
    for (const port of settings.ports ?? []) {
      const key = `${port.container}/${port.protocol ?? 'tcp'}`;
      exposed[key] = {};
      (bindings[key] ??= []).push({ HostPort: String(port.host) });
    }
    const binds = (settings.volumes ?? []).map((v) => `${v.source}:${v.target}${v.readOnly ? ':ro' : ''}`);
    return {
      name: this.name,
      Image: image,
      Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
      Labels: {
        ...settings.labels,
        [DOCKER_LABELS.app]: this.context.app,
        [DOCKER_LABELS.version]: version,
        [DOCKER_LABELS.image]: image,
      },
      ...(settings.command && settings.command.length > 0 ? { Cmd: settings.command } : {}),
      ...(Object.keys(exposed).length > 0 ? { ExposedPorts: exposed } : {}),
      HostConfig: {
        RestartPolicy: { Name: this.restartPolicyName() },
        ...(settings.network ? { NetworkMode: settings.network } : {}),
        ...(Object.keys(bindings).length > 0 ? { PortBindings: bindings } : {}),
        ...(binds.length > 0 ? { Binds: binds } : {}),
      },
    };
  }

  /**
   * Removes the app's images beyond `keepImages`. A failure to remove one (in use by another container, the
   * engine busy) is logged and the image stays on record for the next deploy: retention never fails a deploy.
   */
  private async pruneImages(state: DockerAppState): Promise<void> {
    const keep = this.settings.keepImages ?? DEFAULTS.keepImages;
    const images = state.images ?? [];
    const protectedImages = new Set([state.current?.image, state.previous?.image].filter((image) => image !== undefined));
    const candidates = images.slice(keep).filter((entry) => !protectedImages.has(entry.image));
    if (candidates.length === 0) return;
    const gone = new Set<string>();
    for (const { image } of candidates) {
      try {
        await this.docker.getImage(image).remove();
        this.log(`removed image ${image} (keeping the ${keep} most recently used)`);
        gone.add(image);
      } catch (error) {
        if (engineStatus(error) === 404) gone.add(image);
        else this.log(`keeping image ${image}: ${engineMessage(error)}`);
      }
    }
    await this.writeState({ ...state, images: images.filter((entry) => !gone.has(entry.image)) });
  }

  /** Named volumes are created up front with the app's label, so it is clear whose data they hold. */
  private async ensureNamedVolumes(): Promise<void> {
    for (const name of namedVolumes(this.settings)) {
      try {
        await this.docker.getVolume(name).inspect();
      } catch (error) {
        if (engineStatus(error) !== 404) throw error;
        await this.docker.createVolume({ Name: name, Labels: { [DOCKER_LABELS.app]: this.context.app } });
        this.log(`created volume ${name}`);
      }
    }
  }

  private async inspect(name: string): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      return await this.docker.getContainer(name).inspect();
    } catch (error) {
      if (engineStatus(error) === 404) return undefined;
      throw error;
    }
  }

  private async readState(): Promise<DockerAppState> {
    try {
      return JSON.parse(await readFile(this.statePath, 'utf8')) as DockerAppState;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw error;
    }
  }

  /** Write-then-rename: a crash mid-write leaves the old state, never half a file. */
  private async writeState(state: DockerAppState): Promise<void> {
    await mkdir(path.dirname(this.statePath), { recursive: true });
    const temporary = `${this.statePath}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`);
    await rename(temporary, this.statePath);
  }

  private restartPolicyName(): string {
    return this.settings.restartPolicy ?? DEFAULTS.restartPolicy;
  }

  private stopTimeout(): number {
    return this.options.stopTimeoutSeconds ?? 10;
  }

  private failed(error: string, running?: Deployed): AgentTaskResult {
    return {
      status: 'failed',
      error,
      ...(running ? { version: running.version, previousVersion: running.version } : {}),
      installed: running !== undefined,
      outputTail: this.outputTail(),
    };
  }

  private describe(error: unknown): string {
    if (this.context.signal.aborted) {
      const reason = this.context.signal.reason as unknown;
      return `cancelled: ${reason instanceof Error ? reason.message : String(reason ?? 'aborted')}`;
    }
    if (error instanceof TaskFailure || error instanceof ImageNotFoundError) return error.message;
    const { code, syscall } = error as NodeJS.ErrnoException;
    if (syscall === 'connect' || code === 'ECONNREFUSED' || code === 'EHOSTUNREACH') {
      return `cannot reach the Docker engine at ${this.config.engine?.host ?? process.env.DOCKER_HOST ?? 'the local socket'}: ${engineMessage(error)}`;
    }
    // OpenSSL's own text names neither the engine nor what to fix.
    if ((code ?? '').startsWith('ERR_SSL') || (code ?? '').startsWith('ERR_TLS') || /SSL routines|certificate/i.test(engineMessage(error))) {
      return `TLS with the Docker engine at ${this.config.engine?.host ?? 'the local socket'} failed (check the ca.pem, cert.pem and key.pem of the Target's tlsSecretRef): ${engineMessage(error)}`;
    }
    return engineMessage(error);
  }

  private log(line: string): void {
    this.output.push(line);
    if (this.output.length > OUTPUT_LINES) this.output.shift();
    this.context.log(line);
  }

  private progress(percent: number, message: string): void {
    this.context.progress(percent, message);
  }

  private outputTail(): string {
    const text = this.output.join('\n');
    return text.length > OUTPUT_BYTES ? text.slice(-OUTPUT_BYTES) : text;
  }
}

async function probe(url: string, remainingMs: number, signal: AbortSignal): Promise<{ ok: boolean; detail: string }> {
  try {
    const response = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(Math.min(remainingMs, 5000))]) });
    await response.body?.cancel();
    return { ok: response.status >= 200 && response.status < 300, detail: `HTTP ${response.status}` };
  } catch (error) {
    signal.throwIfAborted();
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, detail: cause?.code ?? cause?.message ?? (error as Error).message };
  }
}

function deployedOf(info: Docker.ContainerInspectInfo): Deployed {
  const labels = info.Config.Labels ?? {};
  const image = labels[DOCKER_LABELS.image] ?? info.Config.Image;
  return { image, version: labels[DOCKER_LABELS.version] ?? splitReference(image)[1] };
}

function restartPolicyOf(info: Docker.ContainerInspectInfo): RestartPolicy {
  const policy = info.HostConfig.RestartPolicy;
  return policy?.Name ? { Name: policy.Name, MaximumRetryCount: policy.MaximumRetryCount ?? 0 } : { Name: 'no' };
}

function describeExit(info: Docker.ContainerInspectInfo): string {
  const { State } = info;
  const restarts = info.RestartCount > 0 ? ` (restarted ${info.RestartCount} times)` : '';
  if (State.Restarting || (State.Running && info.RestartCount > 0)) return `keeps exiting, last with code ${State.ExitCode}${restarts}`;
  return `exited with code ${State.ExitCode}${State.Error ? ` (${State.Error})` : ''}${restarts}`;
}

/** repository:tag; the tag is what follows the last ':' after the last '/' (a registry port is no tag). */
export function splitReference(reference: string): [repository: string, tag: string] {
  const slash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  if (colon > slash) return [reference.slice(0, colon), reference.slice(colon + 1)];
  return [reference, 'latest'];
}

/** A volume source that is not a path names a Docker volume. */
function namedVolumes(settings: DockerSettings): string[] {
  return (settings.volumes ?? []).map((v) => v.source).filter((source) => !/^[/.~]/.test(source));
}

function isAnonymousVolume(name: string): boolean {
  return /^[0-9a-f]{64}$/.test(name);
}

async function stopIgnoringStopped(container: Docker.Container, seconds: number): Promise<void> {
  try {
    await container.stop({ t: seconds });
  } catch (error) {
    if (engineStatus(error) !== 304) throw error;
  }
}

async function startIgnoringStarted(container: Docker.Container): Promise<void> {
  try {
    await container.start();
  } catch (error) {
    if (engineStatus(error) !== 304) throw error;
  }
}

async function removeIgnoringMissing(container: Docker.Container, options: { force?: boolean; v?: boolean }): Promise<void> {
  try {
    await container.remove(options);
  } catch (error) {
    // 409: removal already in progress.
    if (engineStatus(error) !== 404 && engineStatus(error) !== 409) throw error;
  }
}
