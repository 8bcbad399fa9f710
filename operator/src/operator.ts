/**
 * The operator process: history database, informers for the four kinds, leader election, one keyed work
 * queue per kind, the controllers and the target runner. Only the leader reconciles; a replica that
 * loses the lease stops its queues and its running work at once (it resumes from history when it leads
 * again), so two replicas never act on the same release.
 *
 * @dot-i/k8s-operator is not used in the hot path: its 1.3.9 release builds on @kubernetes/client-node
 * 0.20 while this project uses 1.x, its watches end the process on an error, and it funnels every event
 * of every kind through one queue. Informers, queues, finalizers and leader election are therefore our
 * own (operator/src/runtime); the library registers the CRDs at start-up (runtime/crd-registration.ts).
 */
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { GROUP_VERSION } from './api/common.ts';
import { KINDS } from './api/kinds.ts';
import { isTerminal } from './planning/release-machine.ts';
import { EventRecorder } from './runtime/event-recorder.ts';
import { Informer, type InformerEvent, type KubeObject } from './runtime/informer.ts';
import { LeaderElector } from './runtime/leader-election.ts';
import { LeaderPodLabel, type PodRef } from './runtime/leader-pod-label.ts';
import { registerCrds } from './runtime/crd-registration.ts';
import { WorkQueue } from './runtime/work-queue.ts';
import { SecretRegistry } from './runtime/secret-registry.ts';
import { dockerTlsReader } from './agents/docker-tls-secrets.ts';
import { createNotifier } from './notifications/notifier.ts';
import { ReleaseNotifications } from './controllers/release-notifications.ts';
import { startAgentEndpoint, type AgentEndpoint } from './agents/agent-endpoint.ts';
import type { AgentDispatcher } from './tasks/agent-dispatch.ts';
import { openDatabase, createRepository, type OpenedDatabase, type Repository } from './storage/index.ts';
import { createTaskRegistry } from './tasks/registry.ts';
import { createWorkloadDriver } from './kubernetes/workload-driver.ts';
import { apiErrorMessage } from './kubernetes/api-errors.ts';
import { TargetRunner } from './engine/target-runner.ts';
import { CustomResources } from './controllers/custom-resources.ts';
import { ReleaseController } from './controllers/release-controller.ts';
import { PipelineController } from './controllers/pipeline-controller.ts';
import { TargetController } from './controllers/target-controller.ts';
import { ReleaseAppController } from './controllers/release-app-controller.ts';
import { activeReleaseApps, annotateReleaseApp } from './controllers/build-annotations.ts';
import { startOperatorHttpServer } from './server/http-server.ts';
import { handleBuildNotify } from './server/build-notify.ts';
import { createOperatorMetrics } from './server/metrics.ts';

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  /** PostgreSQL URL; without it an embedded PGlite database (in `dataDir`, or in memory). */
  databaseUrl?: string;
  dataDir?: string;
  /** An already opened database (tests); the operator then leaves closing it to the caller. */
  database?: OpenedDatabase;
  /** Watch one namespace; all when absent. */
  namespace?: string;
  /** Where the leader-election Lease lives. */
  leaseNamespace?: string;
  leaseName?: string;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  concurrency?: number;
  /** Finished Releases kept per namespace (history stays in the database). */
  keepFinished?: number;
  /** How often workloads are polled while a rollout runs. */
  pollIntervalMs?: number;
  approvalPollIntervalMs?: number;
  /** Create the CRDs that do not exist yet (existing ones are left alone) before watching. */
  installCrds?: boolean;
  /** Serve agents (docker, script, gitpull targets) on this UDP port (QUIC); 0 picks a free one. */
  agentPort?: number;
  /** Address the agent endpoint binds (default 0.0.0.0). */
  agentHost?: string;
  /** Names and addresses agents dial (the endpoint certificate's SANs; default localhost and 127.0.0.1). */
  agentHostnames?: string[];
  /** The operator's own namespace: agent credential and certificate Secrets (default: the lease namespace). */
  agentNamespace?: string;
  agentHeartbeatSeconds?: number;
  /** Serve /healthz, /readyz, /metrics and the build webhook on this TCP port; 0 picks one; absent: none. */
  httpPort?: number;
  httpHost?: string;
  /** The build webhook's shared secret (bearer or HMAC key); without one the webhook refuses every call. */
  webhookSecret?: string;
  /** This replica's own pod (downward API): labelled shipway.dev/leader=true while it leads. */
  pod?: PodRef;
  log?: (message: string) => void;
}

/** The CRDs shipped with the operator, next to its sources. */
export const crdDirectory = fileURLToPath(new URL('../../crds/', import.meta.url));

export interface RunningOperator {
  readonly identity: string;
  /** The agent endpoint while this replica leads (agents dial the leader), else undefined. */
  readonly agents: () => AgentEndpoint | undefined;
  readonly repo: Repository;
  readonly database: OpenedDatabase;
  /** The port of the HTTP endpoint, when it serves one. */
  readonly httpPort: number | undefined;
  stop(): Promise<void>;
}

const plural = (kind: string) => KINDS.find((k) => k.kind === kind)!.plural;

export async function startOperator(o: OperatorOptions): Promise<RunningOperator> {
  // Every line the operator logs goes through the masker of the secret values in play.
  const secrets = new SecretRegistry();
  const mask = secrets.masker();
  const rawLog = o.log ?? ((m: string) => console.log(m));
  const log = (message: string) => rawLog(mask(message));
  const identity = o.identity ?? `${hostname()}-${process.pid}`;
  if (o.installCrds) log(`CRDs registered: ${(await registerCrds(o.kubeConfig, crdDirectory, log)).join(', ')}`);
  const database = o.database ?? (await openDatabase({ ...(o.databaseUrl ? { url: o.databaseUrl } : {}), ...(o.dataDir ? { dataDir: o.dataDir } : {}) }));
  const repo = createRepository(database.db);
  const recorder = new EventRecorder(o.kubeConfig, 'shipway-operator', identity, (e) => log(`event: ${apiErrorMessage(e)}`));
  const driver = createWorkloadDriver({ kubeConfig: o.kubeConfig, ...(o.pollIntervalMs ? { pollIntervalMs: o.pollIntervalMs } : {}) });
  const registry = createTaskRegistry({ ...(o.approvalPollIntervalMs ? { approvalPollIntervalMs: o.approvalPollIntervalMs } : {}) });

  let leading = false;
  let queues: Record<string, WorkQueue> = {};
  const enqueue = (kind: string, key: string) => {
    if (leading) queues[kind]?.add(key);
  };
  const requeueAfter = (kind: string) => (key: string, ms: number) => {
    if (leading) queues[kind]?.addAfter(key, ms);
  };

  // Agents dial the leader: only the leading replica serves the agent endpoint, and the runner (which only
  // works while leading) reaches agents through whichever endpoint is up.
  let endpoint: AgentEndpoint | undefined;
  const agentsServed = o.agentPort !== undefined;
  const core = o.kubeConfig.makeApiClient(CoreV1Api);
  const dispatcher: AgentDispatcher = {
    dispatch: (agentId, task, handlers, signal) => {
      if (!endpoint) return Promise.reject(new Error(`agent ${agentId}: this replica does not serve agents (not leading)`));
      return endpoint.hub.dispatch(agentId, task, handlers, signal);
    },
    cancel: async (agentId, taskId) => {
      if (!endpoint) throw new Error('this replica does not serve agents (not leading)');
      const ack = await endpoint.hub.control(agentId, 'cancel', taskId);
      if (!ack.accepted) throw new Error(`the agent refused: ${ack.reason ?? 'no reason given'}`);
    },
    dockerTls: dockerTlsReader(core, secrets),
  };

  const runner = new TargetRunner({
    repo,
    registry,
    driver,
    mask,
    ...(agentsServed ? { agents: dispatcher } : {}),
    onChange: (key) => enqueue('Release', key),
    log,
  });

  const informer = (kind: string, onEvent: (type: InformerEvent, object: KubeObject) => void) =>
    new Informer({
      kubeConfig: o.kubeConfig,
      apiVersion: GROUP_VERSION,
      kind,
      plural: plural(kind),
      ...(o.namespace ? { namespace: o.namespace } : {}),
      onEvent,
      onError: (e) => log(`watch ${kind}: ${apiErrorMessage(e)}`),
    });
  const keyOf = (obj: KubeObject) => `${obj.metadata?.namespace}/${obj.metadata?.name}`;
  const releaseInformer: Informer = informer('Release', (_type, obj) => enqueue('Release', keyOf(obj)));

  /**
   * A change to a Target, Pipeline or ReleaseApp can unblock active Releases of its namespace — but only a
   * change of what they read: a status-only update (same generation, our own status writes included) does
   * not, and a Target matters only to Releases with an environment of its name.
   */
  const generations = new Map<string, number>();
  const specChanged = (kind: string, type: InformerEvent, obj: KubeObject) => {
    const key = `${kind}/${keyOf(obj)}`;
    if (type === 'DELETED') {
      generations.delete(key);
      return true;
    }
    const generation = Number(obj.metadata?.generation ?? 0);
    const changed = generations.get(key) !== generation;
    generations.set(key, generation);
    return changed;
  };
  const touchReleases = (namespace: string | undefined, environment?: string) => {
    for (const r of releaseInformer.list()) {
      const release = r as KubeObject & { status?: { phase?: string }; spec?: { environments?: { name: string }[] } };
      if (release.metadata?.namespace !== namespace || isTerminal(release.status?.phase)) continue;
      if (environment && !(release.spec?.environments ?? []).some((e) => e.name === environment)) continue;
      enqueue('Release', keyOf(r));
    }
  };

  const targetInformer = informer('Target', (type, obj) => {
    enqueue('Target', keyOf(obj));
    if (specChanged('Target', type, obj)) touchReleases(obj.metadata?.namespace, (obj as KubeObject & { spec?: { environment?: string } }).spec?.environment);
  });
  const pipelineInformer = informer('Pipeline', (type, obj) => {
    enqueue('Pipeline', keyOf(obj));
    if (specChanged('Pipeline', type, obj)) touchReleases(obj.metadata?.namespace);
  });
  const appInformer = informer('ReleaseApp', (type, obj) => {
    enqueue('ReleaseApp', keyOf(obj));
    const parent = (obj as KubeObject & { spec?: { release?: string } }).spec?.release;
    if (specChanged('ReleaseApp', type, obj) && parent) enqueue('Release', `${obj.metadata?.namespace}/${parent}`);
  });
  const informers = [releaseInformer, targetInformer, pipelineInformer, appInformer];

  const notifications = new ReleaseNotifications({ repo, notifier: createNotifier({ mask }), mask, log, secrets });
  const releases = new ReleaseController({
    releases: new CustomResources(o.kubeConfig, plural('Release')),
    targets: targetInformer,
    pipelines: pipelineInformer,
    releaseApps: appInformer,
    releaseCache: releaseInformer,
    repo,
    runner,
    recorder,
    requeueAfter: requeueAfter('Release'),
    ...(o.keepFinished !== undefined ? { keepFinished: o.keepFinished } : {}),
    log,
    core,
    agentsServed,
    releaseAppResources: new CustomResources(o.kubeConfig, plural('ReleaseApp')),
    secrets,
    notifications,
  });
  const pipelines = new PipelineController(new CustomResources(o.kubeConfig, plural('Pipeline')));
  const agentDirectory = {
    ensureCredential: async (agentId: string) => endpoint?.credentials.ensure(agentId),
    view: async (agentId: string, target: string) => endpoint?.directory.view(agentId, target),
  };
  const targets = new TargetController(new CustomResources(o.kubeConfig, plural('Target')), driver, requeueAfter('Target'), undefined, agentsServed ? agentDirectory : undefined);
  /** Targets served by an agent are looked at again when it connects or goes. */
  const touchTargetsOf = (agentId: string) => {
    for (const t of targetInformer.list()) if ((t as KubeObject & { spec?: { agent?: string } }).spec?.agent === agentId) enqueue('Target', keyOf(t));
  };
  const apps = new ReleaseAppController(new CustomResources(o.kubeConfig, plural('ReleaseApp')), releaseInformer, repo, undefined, targetInformer);
  // A Release's progress changes its apps' status.
  const releaseToApps = (key: string) => {
    const [ns, name] = key.split('/');
    for (const a of appInformer.list()) {
      if (a.metadata?.namespace === ns && (a as KubeObject & { spec?: { release?: string } }).spec?.release === name) enqueue('ReleaseApp', keyOf(a));
    }
  };

  const onError = (kind: string) => (key: string, error: unknown, how: string) => {
    metrics.reconcileError(kind);
    log(`${kind} ${key}: ${how} error: ${apiErrorMessage(error)}`);
  };
  const podLabel = o.pod ? new LeaderPodLabel(o.kubeConfig, o.pod, log) : undefined;
  const startLeading = () => {
    log(`${identity}: leading`);
    leading = true;
    void podLabel?.set(true);
    queues = {
      Release: new WorkQueue(async (key) => {
        await releases.reconcile(key);
        releaseToApps(key);
      }, { concurrency: o.concurrency ?? 8, onError: onError('Release') }),
      Pipeline: new WorkQueue((key) => pipelines.reconcile(key), { concurrency: 2, onError: onError('Pipeline') }),
      Target: new WorkQueue((key) => targets.reconcile(key), { concurrency: 4, onError: onError('Target') }),
      ReleaseApp: new WorkQueue((key) => apps.reconcile(key), { concurrency: 4, onError: onError('ReleaseApp') }),
    };
    for (const [kind, inf] of [['Release', releaseInformer], ['Target', targetInformer], ['Pipeline', pipelineInformer], ['ReleaseApp', appInformer]] as const) {
      for (const obj of inf.list()) enqueue(kind, keyOf(obj));
    }
    if (agentsServed) endpointStarting = startEndpoint();
  };
  let endpointStarting: Promise<void> = Promise.resolve();
  const startEndpoint = async () => {
    try {
      const started = await startAgentEndpoint({
        core, repo, namespace: o.agentNamespace ?? o.leaseNamespace ?? o.namespace ?? 'default', host: o.agentHost ?? '0.0.0.0', port: o.agentPort!,
        hostnames: o.agentHostnames ?? ['localhost', '127.0.0.1'], ...(o.agentHeartbeatSeconds ? { heartbeatSeconds: o.agentHeartbeatSeconds } : {}),
        onAgentChange: touchTargetsOf, log, mask,
      });
      if (!leading) return void (await started.stop());
      endpoint = started;
      for (const t of targetInformer.list()) if ((t as KubeObject & { spec?: { type?: string } }).spec?.type !== 'kubernetes') enqueue('Target', keyOf(t));
    } catch (error) {
      // Agent targets then wait (their Targets stay Unknown) and say why in the log; Kubernetes targets go on.
      log(`agent endpoint did not start: ${apiErrorMessage(error)}`);
    }
  };
  let shuttingDown = false;
  let stopped: Promise<void> = Promise.resolve();
  /** Stops the queues, waits for the reconciles in flight, then stops the target work (resumed by the next leader). */
  const stopLeading = () => {
    if (!leading) return stopped;
    log(`${identity}: stopped leading`);
    leading = false;
    const unlabelled = podLabel?.set(false);
    const running = Object.values(queues);
    for (const q of running) q.stop();
    queues = {};
    stopped = Promise.all(running.map((q) => q.idle()))
      .then(() => runner.stop())
      .then(() => endpointStarting)
      .then(async () => {
        const closing = endpoint;
        endpoint = undefined;
        await closing?.stop();
      })
      .then(() => unlabelled)
      .then(() => {
        if (!shuttingDown) runner.restart();
      });
    return stopped;
  };

  // Served before the informers sync, so probes see the process alive and not yet ready.
  let synced = false;
  const metrics = createOperatorMetrics({
    releasePhases: () => releaseInformer.list().map((r) => (r as KubeObject & { status?: { phase?: string } }).status?.phase),
    connectedAgents: () => endpoint?.hub.connectedAgents().length ?? 0,
    leading: () => leading,
  });
  const releaseAppObjects = new CustomResources(o.kubeConfig, plural('ReleaseApp'));
  const http = o.httpPort === undefined ? undefined : await startOperatorHttpServer({
    port: o.httpPort,
    ...(o.httpHost ? { host: o.httpHost } : {}),
    notReady: () => (synced ? undefined : 'the informers have not synced yet'),
    metrics: metrics.registry,
    log,
    buildNotify: (request) => handleBuildNotify(request, {
      secret: () => o.webhookSecret,
      activeReleaseApps: (app) => activeReleaseApps(appInformer, releaseInformer, app),
      annotate: (target, annotations) => annotateReleaseApp(releaseAppObjects, target, annotations),
      count: (result) => metrics.buildNotification(result),
      log,
    }),
  });
  if (http) log(`HTTP endpoint on port ${http.port}: /healthz /readyz /metrics POST /api/v1/builds/notify${o.webhookSecret ? '' : ' (not configured: no webhook secret)'}`);
  try {
    await Promise.all(informers.map((i) => i.start()));
  } catch (error) {
    await http?.close();
    throw error;
  }
  synced = true;
  // A container restarted in the same pod must not keep the label of the leader it was.
  await podLabel?.set(false);
  const elector = new LeaderElector({
    kubeConfig: o.kubeConfig,
    namespace: o.leaseNamespace ?? o.namespace ?? 'default',
    name: o.leaseName ?? 'shipway-operator',
    identity,
    ...(o.leaseDurationMs ? { leaseDurationMs: o.leaseDurationMs } : {}),
    ...(o.renewDeadlineMs ? { renewDeadlineMs: o.renewDeadlineMs } : {}),
    ...(o.retryPeriodMs ? { retryPeriodMs: o.retryPeriodMs } : {}),
    onStartedLeading: startLeading,
    onStoppedLeading: () => void stopLeading(),
    onError: (e) => log(`leader election: ${apiErrorMessage(e)}`),
  });
  elector.start();

  return {
    identity,
    agents: () => endpoint,
    repo,
    database,
    httpPort: http?.port,
    stop: async () => {
      shuttingDown = true;
      await http?.close();
      await elector.stop();
      await stopLeading();
      for (const i of informers) i.stop();
      await runner.stop();
      await notifications.stop();
      // Only now: a reconcile still running would otherwise write to a closed database.
      if (!o.database) await database.close();
    },
  };
}
