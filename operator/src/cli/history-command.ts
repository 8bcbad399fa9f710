/**
 * `history <release>`: the deployments of a release and the actions taken on it. By default from the
 * Kubernetes objects, which anyone with read access has: the Release's status (one row per environment,
 * target and app), its ReleaseApps' recent deployments and last actions, and the Events of the Release.
 * With `--database-url` (or DATABASE_URL) the full history from the operator's database instead: every
 * deployment with its operation and superseded flag, and every action in the audit log.
 *
 * The report is built by pure functions (tested without a cluster) and printed as tables or `-o json|yaml`.
 */
import { CoreV1Api, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import { kubeTime } from '../api/kube-time.ts';
import type { ReleaseSpec, ReleaseStatus } from '../api/release.ts';
import type { ReleaseAppSpec, ReleaseAppStatus } from '../api/release-app.ts';
import type { TargetSpec } from '../api/target.ts';
import { CustomResources, type CustomObject } from '../controllers/custom-resources.ts';
import { selectsTarget } from '../planning/target-resolution.ts';
import { createRepository, openDatabase, type ReleaseHistory } from '../storage/index.ts';
import { kubeConfigOf, namespaceOf, type KubeAccessOptions } from './kube-access.ts';
import { duration, formatObject, outputFormat, secondsBetween, table } from './output-format.ts';

export interface HistoryCommandOptions extends KubeAccessOptions {
  namespace?: string;
  databaseUrl?: string;
  /** The Release's uid, to find its history in the database once the Release has been deleted (retention). */
  uid?: string;
  output?: string;
}

export interface HistoryDeployment {
  environment: string;
  target?: string;
  app?: string;
  operation?: string;
  version?: string;
  previousVersion?: string;
  status: string;
  superseded?: boolean;
  attempt?: number;
  startedAt?: string;
  finishedAt?: string;
  durationSeconds?: number;
  error?: string;
}

/** A ReleaseApp's recent deployments, as its status lists them (cluster source only; no target there). */
export interface AppDeployment {
  app: string;
  releaseApp: string;
  environment: string;
  version: string;
  status: string;
  superseded: boolean;
  startedAt?: string;
}

export interface HistoryAction {
  at?: string;
  /** The object acted on when not the Release itself (a ReleaseApp's switch-version). */
  object?: string;
  action?: string;
  actor?: string;
  target?: string;
  result?: string;
  message?: string;
  comment?: string;
}

export interface HistoryReport {
  release: { namespace: string; name: string; version?: string; phase?: string; uid?: string };
  source: 'cluster' | 'database';
  deployments: HistoryDeployment[];
  appDeployments?: AppDeployment[];
  actions: HistoryAction[];
}

type Out = (line: string) => void;
type Obj<S, T> = Omit<CustomObject, 'spec' | 'status'> & { spec: S; status?: T };
/** The parts of a Release and of its ReleaseApps the report reads. */
type ReleaseObject = Obj<Pick<ReleaseSpec, 'project' | 'version'>, ReleaseStatus>;
type AppObject = Obj<Pick<ReleaseAppSpec, 'release' | 'app' | 'version' | 'artifact' | 'targets'>, ReleaseAppStatus>;

const compact = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null && v !== '')) as T;

/** The apps a target deploys, as the operator picks them: those whose selection takes it, else the project. */
function appsOf(target: string, spec: ReleaseObject['spec'], apps: readonly AppObject[], targets: ReadonlyMap<string, { labels: Record<string, string>; type?: string }>): { app: string; version?: string }[] {
  const known = targets.get(target);
  const chosen = apps.filter((a) => (known?.type !== 'kubernetes' || a.spec.artifact?.image) && selectsTarget(a.spec.targets, { name: target, labels: known?.labels ?? {} }));
  return chosen.length > 0 ? chosen.map((a) => ({ app: a.spec.app, version: a.spec.version })) : [{ app: spec.project }];
}

/** Events the operator writes when it takes an action: ActionApplied's message, ActionRejected's "action: why". */
function actionOfEvent(event: CoreV1Event): HistoryAction | undefined {
  const at = String(event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp ?? event.metadata?.creationTimestamp ?? '');
  const time = at ? kubeTime(new Date(at)) : undefined;
  if (event.reason === 'ActionApplied') return compact({ at: time, result: 'Applied', message: event.message });
  if (event.reason === 'ActionRejected') {
    const m = /^([\w-]+): (.*)$/s.exec(event.message ?? '');
    return compact({ at: time, action: m?.[1], result: 'Rejected', message: m ? m[2] : event.message });
  }
  if (event.reason === 'EmergencyRelease') return compact({ at: time, action: 'emergency', result: 'Applied', message: event.message });
  return undefined;
}

/** Pure: the report from the Kubernetes objects. */
export function historyFromCluster(
  release: ReleaseObject,
  apps: readonly AppObject[],
  targets: ReadonlyMap<string, { labels: Record<string, string>; type?: string }>,
  events: readonly CoreV1Event[],
): HistoryReport {
  const status = release.status ?? {};
  const deployments: HistoryDeployment[] = (status.environments ?? []).flatMap((env) =>
    (env.targets ?? []).flatMap((run) =>
      appsOf(run.name, release.spec, apps, targets).map(({ app, version }) => compact({
        environment: env.name, target: run.name, app,
        version: run.rollbackTo && (run.phase === 'RolledBack' || run.phase === 'RollingBack') ? run.rollbackTo : version ?? run.version ?? status.version,
        previousVersion: run.previousVersion, status: run.phase, attempt: run.attempt, startedAt: run.startedAt, finishedAt: run.finishedAt,
        durationSeconds: secondsBetween(run.startedAt, run.finishedAt), error: run.error,
      }))));
  const appDeployments: AppDeployment[] = apps.flatMap((a) => (a.status?.deployments ?? []).map((d) => compact({
    app: a.spec.app, releaseApp: String(a.metadata.name), environment: d.environment, version: d.version, status: d.status, superseded: d.superseded, startedAt: d.startedAt,
  })));
  const actions: HistoryAction[] = events.map(actionOfEvent).filter((a): a is HistoryAction => a !== undefined);
  const last = status.lastAction;
  // Events expire (an hour, by default); the last action stays in status, with its actor.
  if (last && !actions.some((a) => a.at === last.at && a.result === last.result)) actions.push(compact({ at: last.at, action: last.action, actor: last.actor, target: last.target, result: last.result, message: last.message }));
  for (const a of apps) {
    const l = a.status?.lastAction;
    if (l) actions.push(compact({ at: l.at, object: `releaseapp/${a.metadata.name}`, action: l.action, actor: l.actor, result: l.result, message: l.message }));
  }
  actions.sort((x, y) => (x.at ?? '').localeCompare(y.at ?? ''));
  return {
    release: compact({ namespace: String(release.metadata.namespace), name: String(release.metadata.name), version: status.version ?? release.spec.version, phase: status.phase, uid: release.metadata.uid as string | undefined }),
    source: 'cluster',
    deployments,
    appDeployments,
    actions,
  };
}

const time = (d: Date | null | undefined) => (d ? kubeTime(d) : undefined);

/** Pure: the report from the operator's database. Targets of the Release's own namespace show by name. */
export function historyFromDatabase(history: ReleaseHistory): HistoryReport {
  const { release } = history;
  const shortTarget = (t: string) => (t.startsWith(`${release.namespace}/`) ? t.slice(release.namespace.length + 1) : t);
  return {
    release: compact({ namespace: release.namespace, name: release.name, version: release.version, phase: release.phase, uid: release.uid }),
    source: 'database',
    deployments: history.deployments.map((d) => compact({
      environment: d.environment, target: shortTarget(d.target), app: d.app, operation: d.operation, version: d.version, previousVersion: d.previousVersion ?? undefined,
      status: d.status, superseded: d.superseded, startedAt: time(d.startedAt), finishedAt: time(d.finishedAt), durationSeconds: secondsBetween(d.startedAt, d.finishedAt), error: d.error ?? undefined,
    })),
    actions: history.auditEvents.map((e) => {
      const details = (e.details ?? {}) as { result?: string; message?: string };
      return compact({
        at: time(e.occurredAt), object: e.kind === 'Release' ? undefined : `${e.kind.toLowerCase()}/${e.name}`, action: e.action, actor: e.actor ?? undefined,
        target: e.target ?? undefined, result: details.result, message: details.message, comment: e.comment ?? undefined,
      });
    }),
  };
}

/** Pure: the report as text, one table for deployments and one for actions. */
export function renderHistory(report: HistoryReport): string[] {
  const r = report.release;
  const lines = [`Release ${r.namespace}/${r.name}${r.version ? `  ${r.version}` : ''}${r.phase ? `  ${r.phase}` : ''}  (${report.source === 'database' ? "from the operator's database" : 'from the cluster; --database-url for the full history'})`, ''];
  const versions = (d: HistoryDeployment) => (d.previousVersion && d.previousVersion !== d.version ? `${d.previousVersion} → ${d.version ?? '?'}` : d.version);
  lines.push('DEPLOYMENTS');
  if (report.deployments.length === 0) lines.push('(none yet)');
  else {
    const database = report.source === 'database';
    lines.push(table(
      ['ENVIRONMENT', 'TARGET', 'APP', ...(database ? ['OPERATION'] : []), 'VERSION', 'STATUS', ...(database ? ['SUPERSEDED'] : ['ATTEMPT']), 'STARTED', 'FINISHED', 'DURATION'],
      report.deployments.map((d) => [d.environment, d.target, d.app, ...(database ? [d.operation] : []), versions(d), d.status, ...(database ? [d.superseded ? 'yes' : 'no'] : [d.attempt ?? 1]), d.startedAt, d.finishedAt, duration(d.durationSeconds)]),
    ));
    const failed = report.deployments.filter((d) => d.error && /fail|rolled|cancel/i.test(d.status));
    for (const d of failed) lines.push(`  ${d.environment}/${d.target ?? '?'}${d.app ? ` (${d.app})` : ''}: ${d.error}`);
  }
  if (report.appDeployments?.length) {
    lines.push('', 'RECENT DEPLOYMENTS OF THE APPS');
    lines.push(table(['APP', 'RELEASEAPP', 'ENVIRONMENT', 'VERSION', 'STATUS', 'SUPERSEDED', 'STARTED'], report.appDeployments.map((d) => [d.app, d.releaseApp, d.environment, d.version, d.status, d.superseded ? 'yes' : 'no', d.startedAt])));
  }
  lines.push('', 'ACTIONS');
  if (report.actions.length === 0) lines.push('(none)');
  else lines.push(table(['TIME', 'ACTION', 'ON', 'ACTOR', 'TARGET', 'RESULT', 'MESSAGE'], report.actions.map((a) => [a.at, a.action, a.object ?? 'release', a.actor, a.target, a.result, [a.message, a.comment && !a.message?.includes(a.comment) ? `(${a.comment})` : undefined].filter(Boolean).join(' ')])));
  return lines;
}

async function fromCluster(config: KubeConfig, namespace: string, name: string): Promise<HistoryReport | undefined> {
  const release = (await new CustomResources(config, 'releases').get(namespace, name)) as ReleaseObject | undefined;
  if (!release) return undefined;
  const [apps, targetList, events] = await Promise.all([
    new CustomResources(config, 'releaseapps').list(namespace),
    new CustomResources(config, 'targets').list(namespace),
    config.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` }),
  ]);
  const targets = new Map(targetList.map((t) => [String(t.metadata.name), { labels: (t.metadata.labels ?? {}) as Record<string, string>, type: (t.spec as TargetSpec).type }]));
  // An Event outlives a Release deleted and created again under the same name: only this one's count.
  const own = (events.items ?? []).filter((e) => e.involvedObject.kind === 'Release' && (!e.involvedObject.uid || e.involvedObject.uid === release.metadata.uid));
  return historyFromCluster(release, (apps as AppObject[]).filter((a) => a.spec.release === name), targets, own);
}

async function fromDatabase(config: KubeConfig | undefined, options: HistoryCommandOptions, namespace: string, name: string): Promise<HistoryReport | string> {
  let uid = options.uid;
  if (!uid) {
    const release = await new CustomResources(config!, 'releases').get(namespace, name);
    if (!release) return `release ${namespace}/${name} not found in the cluster; once deleted, its history is found by its uid (--uid)`;
    uid = String(release.metadata.uid);
  }
  const database = await openDatabase({ url: options.databaseUrl! });
  try {
    const repo = createRepository(database.db);
    const row = await repo.getReleaseByUid(uid);
    if (!row) return `release ${namespace}/${name} (uid ${uid}) is not in the database (is it the operator's?)`;
    return historyFromDatabase((await repo.getReleaseHistory(row.id))!);
  } finally {
    await database.close();
  }
}

export async function runHistory(name: string, options: HistoryCommandOptions, out: Out, err: Out = out): Promise<number> {
  const format = outputFormat(options.output);
  // With the uid and the database the cluster is not asked at all: the Release may be long gone, or the
  // cluster out of reach, and the history is still there.
  const config = options.databaseUrl && options.uid ? undefined : kubeConfigOf(options);
  const namespace = config ? namespaceOf(options, config) : options.namespace ?? 'default';
  const report = options.databaseUrl ? await fromDatabase(config, options, namespace, name) : await fromCluster(config!, namespace, name);
  if (report === undefined || typeof report === 'string') {
    err(report ?? `release ${namespace}/${name} not found`);
    return 1;
  }
  if (format === 'table') for (const line of renderHistory(report)) out(line);
  else out(formatObject(report, format));
  return 0;
}
