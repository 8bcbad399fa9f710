/**
 * `shipway rollback <release>` and `shipway rollback-status <release>`: the release executor's single and batch
 * rollback (SPEC "Release executor queries"). The command does what kubectl would: it writes the action
 * annotations on the Release (`shipway.dev/action: rollback`, `action-target` with the targets separated by
 * commas, `rollback-version`, ...) and the operator acts on them; then it follows the Release's status until the
 * targets it rolled back have ended, printing each change. The operator's verdict on the request is
 * `status.lastAction`; the per-target outcome is `status.environments[].targets[]`.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import Table from 'cli-table3';
import { userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReleaseStatus, TargetRun } from '../api/release.ts';
import type { ReleaseAppSpec } from '../api/release-app.ts';
import { CustomResources, type CustomObject } from '../controllers/custom-resources.ts';
import { awaitAction, requestAction } from './action-request.ts';
import { kubeConfigOf, parseSeconds, UsageError } from './kube-access.ts';
import {
  ACTION_ANNOTATION, ACTION_TARGET_ANNOTATION, ACTOR_ANNOTATION, COMMENT_ANNOTATION, FORCE_ANNOTATION,
  ROLLBACK_KIND_ANNOTATION, ROLLBACK_VERSION_ANNOTATION,
} from '../planning/release-actions.ts';

export interface RollbackCommandOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  /** Targets to roll back (repeatable, or comma-separated); none: every target the release updated. */
  target?: string[];
  /** The version to go back to; default the version each target ran before. */
  toVersion?: string;
  kind?: string;
  force?: boolean;
  actor?: string;
  comment?: string;
  /** Follow the rollback until it ends (default); false returns once the operator has accepted the request. */
  wait?: boolean;
  timeout?: string;
  output?: string;
  /** Poll interval in ms (tests shorten it). */
  pollMs?: number;
}

type Out = (line: string) => void;
type ReleaseObject = CustomObject & { status?: ReleaseStatus };

const ENDED = new Set<TargetRun['phase']>(['RolledBack', 'Failed', 'Succeeded', 'Cancelled', 'Skipped']);

interface RollbackRow {
  environment: string;
  target: string;
  phase: TargetRun['phase'];
  version?: string;
  to?: string;
  /** The package the rollback installs, for script targets whose app ships one (`${APP_VERSION}` filled in). */
  packages?: string[];
  message?: string;
}

function targetsOf(status: ReleaseStatus | undefined): { environment: string; run: TargetRun }[] {
  return (status?.environments ?? []).flatMap((e) => (e.targets ?? []).map((run) => ({ environment: e.name, run })));
}

/** The version a rolling-back or rolled-back target goes (went) to, as the operator decides it. */
function rollbackVersion(run: TargetRun, release: ReleaseObject): string | undefined {
  return run.rollbackTo ?? (release.spec?.rollback?.targetVersion as string | undefined) ?? run.previousVersion;
}

async function packageUrls(config: KubeConfig, release: ReleaseObject): Promise<(version: string) => string[]> {
  const apps = new CustomResources(config, 'releaseapps');
  const list = await apps.list(release.metadata.namespace as string).catch(() => [] as CustomObject[]);
  const urls = list
    .filter((a) => (a.spec as ReleaseAppSpec).release === release.metadata.name && (a.spec as ReleaseAppSpec).artifact?.package?.url)
    .map((a) => (a.spec as ReleaseAppSpec).artifact.package!.url);
  // APP_VERSION is the one variable a package URL is written around; others are the agent's to fill in.
  return (version) => urls.map((url) => url.replaceAll('${APP_VERSION}', version).replaceAll('$APP_VERSION', version));
}

function rows(release: ReleaseObject, names: ReadonlySet<string> | undefined, packages: (version: string) => string[]): RollbackRow[] {
  const wanted = ({ run }: { run: TargetRun }) =>
    names ? names.has(run.name) : run.phase === 'RollingBack' || run.phase === 'RolledBack' || (run.phase === 'Failed' && (run.error ?? '').startsWith('rollback failed'));
  return targetsOf(release.status).filter(wanted).map(({ environment, run }) => {
    const to = rollbackVersion(run, release);
    const urls = to ? packages(to) : [];
    return {
      environment, target: run.name, phase: run.phase,
      ...(run.version ? { version: run.version } : {}), ...(to ? { to } : {}), ...(urls.length ? { packages: urls } : {}),
      ...(run.error ? { message: run.error } : run.currentStep ? { message: run.currentStep } : {}),
    };
  });
}

function print(out: Out, release: ReleaseObject, result: RollbackRow[], output: string | undefined): void {
  if (output === 'json') {
    out(JSON.stringify({ release: release.metadata.name, namespace: release.metadata.namespace, phase: release.status?.phase, lastAction: release.status?.lastAction ?? null, targets: result }, null, 2));
    return;
  }
  if (result.length === 0) {
    out(`no target of ${release.metadata.name} is rolling back or rolled back`);
    return;
  }
  const table = new Table({ head: ['ENVIRONMENT', 'TARGET', 'PHASE', 'FROM', 'TO', 'PACKAGE', 'MESSAGE'], style: { head: [], border: [] }, wordWrap: true, colWidths: [null, null, null, null, null, null, 60] });
  for (const r of result) table.push([r.environment, r.target, r.phase, r.version ?? '-', r.to ?? '-', r.packages?.join('\n') ?? '-', r.message ?? '']);
  out(table.toString());
}

/** The usage error every command shares; kept under its first name for existing callers. */
export { UsageError as RollbackUsageError } from './kube-access.ts';

/** Asks for the rollback and, unless --no-wait, follows it; exit 0 when every chosen target rolled back. */
export async function runRollback(name: string, options: RollbackCommandOptions, out: Out, err: Out = out): Promise<number> {
  const namespace = options.namespace ?? 'default';
  const timeoutMs = parseSeconds('--timeout', options.timeout, 600) * 1000;
  const pollMs = options.pollMs ?? 500;
  const names = [...new Set((options.target ?? []).flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean))];
  if (options.kind && !['quick', 'redeploy'].includes(options.kind)) throw new UsageError(`--kind "${options.kind}" is not quick or redeploy`);
  if (options.kind === 'redeploy' && !options.toVersion) throw new UsageError('--kind redeploy needs --to-version');
  if (options.kind === 'redeploy' && names.length > 0) throw new UsageError('--kind redeploy makes a new Release of the whole version; it takes no --target');

  const config = kubeConfigOf(options);
  const releases = new CustomResources(config, 'releases');
  const annotations: Record<string, string> = {
    [ACTION_ANNOTATION]: 'rollback',
    [ACTOR_ANNOTATION]: options.actor ?? userInfo().username,
    ...(names.length ? { [ACTION_TARGET_ANNOTATION]: names.join(',') } : {}),
    ...(options.toVersion ? { [ROLLBACK_VERSION_ANNOTATION]: options.toVersion } : {}),
    ...(options.kind ? { [ROLLBACK_KIND_ANNOTATION]: options.kind } : {}),
    ...(options.force ? { [FORCE_ANNOTATION]: 'true' } : {}),
    ...(options.comment ? { [COMMENT_ANNOTATION]: options.comment } : {}),
  };

  const what = `release ${namespace}/${name}`;
  const requested = await requestAction(releases, namespace, name, what, annotations);
  if ('refused' in requested) {
    err(requested.refused);
    return 1;
  }
  if (options.output !== 'json') out(`rollback of ${namespace}/${name} requested${names.length ? ` for ${names.join(', ')}` : ''}${options.toVersion ? ` to ${options.toVersion}` : ''}`);

  const deadline = Date.now() + timeoutMs;
  const answer = await awaitAction(releases, namespace, name, what, 'rollback', requested.before, { timeoutMs, pollMs });
  if (answer.progress.state === 'withdrawn') {
    err(answer.progress.reason);
    return 1;
  }
  if (answer.progress.state === 'pending') {
    err(`the operator did not take the rollback of ${namespace}/${name} within ${timeoutMs / 1000} s (is it running?)`);
    return 1;
  }
  const verdict = answer.progress.verdict;
  let release = answer.object as ReleaseObject | undefined;
  if (verdict.result === 'Rejected') {
    err(`rollback refused: ${verdict.message ?? 'no reason given'}`);
    if (options.output === 'json') print(out, release!, [], 'json');
    return 1;
  }
  if (options.output !== 'json') out(`accepted: ${verdict.message ?? ''}`);
  const packages = await packageUrls(config, release!);
  if (options.kind === 'redeploy') {
    // The operator answers with a new Release going through the pipeline; that one is followed like any release.
    if (options.output === 'json') print(out, release!, [], 'json');
    return 0;
  }
  const chosen = new Set(names.length ? names : targetsOf(release!.status).filter(({ run }) => run.phase === 'RollingBack' || run.phase === 'RolledBack').map(({ run }) => run.name));
  if (options.wait === false) {
    print(out, release!, rows(release!, chosen, packages), options.output);
    return 0;
  }

  const seen = new Map<string, string>();
  for (;;) {
    const current = rows(release!, chosen, packages);
    for (const r of current) {
      const key = `${r.environment}/${r.target}`;
      if (seen.get(key) !== r.phase && options.output !== 'json') out(`${key}: ${r.phase}${r.to ? ` (to ${r.to})` : ''}${r.phase === 'Failed' && r.message ? `: ${r.message}` : ''}`);
      seen.set(key, r.phase);
    }
    if (current.every((r) => ENDED.has(r.phase))) {
      print(out, release!, current, options.output);
      return current.every((r) => r.phase === 'RolledBack') ? 0 : 1;
    }
    if (Date.now() > deadline) {
      print(out, release!, current, options.output);
      err(`the rollback of ${namespace}/${name} did not end within ${timeoutMs / 1000} s`);
      return 1;
    }
    await sleep(pollMs);
    release = ((await releases.get(namespace, name)) as ReleaseObject | undefined) ?? release;
  }
}

/** The rollback state of a release: every target rolling back, rolled back or whose rollback failed. */
export async function runRollbackStatus(name: string, options: Pick<RollbackCommandOptions, 'kubeconfig' | 'context' | 'namespace' | 'output'>, out: Out, err: Out = out): Promise<number> {
  const namespace = options.namespace ?? 'default';
  const config = kubeConfigOf(options);
  const release = (await new CustomResources(config, 'releases').get(namespace, name)) as ReleaseObject | undefined;
  if (!release) {
    err(`release ${namespace}/${name} not found`);
    return 1;
  }
  const last = release.status?.lastAction;
  if (options.output !== 'json' && last?.action === 'rollback') out(`last rollback request: ${last.result} at ${last.at}${last.actor ? ` by ${last.actor}` : ''}: ${last.message ?? ''}`);
  print(out, release, rows(release, undefined, await packageUrls(config, release)), options.output);
  return 0;
}
