/**
 * The imperative actions of `shipway` / `kubectl shipway`: approve, reject, start, promote, pause, resume,
 * cancel and retry on a Release, and switch-version on a ReleaseApp. Each writes the action annotations (what
 * `kubectl annotate` would), refuses while an earlier action still waits for the operator, then waits for the
 * operator's answer in `status.lastAction` unless `--no-wait`: Applied exits 0, Rejected exits 1 with the
 * operator's reason.
 */
import type { ReleaseStatus } from '../api/release.ts';
import type { ReleaseAppStatus } from '../api/release-app.ts';
import { CustomResources } from '../controllers/custom-resources.ts';
import { ACTION_ANNOTATION, ACTION_TARGET_ANNOTATION, ACTOR_ANNOTATION, COMMENT_ANNOTATION, EMERGENCY_ANNOTATION } from '../planning/release-actions.ts';
import { VERSION_ANNOTATION } from '../planning/version-switch.ts';
import { awaitAction, requestAction, type Acknowledgement, type ActionObject } from './action-request.ts';
import { actorOf, kubeConfigOf, namespaceOf, parseSeconds, UsageError, type KubeAccessOptions } from './kube-access.ts';
import { formatObject, outputFormat } from './output-format.ts';
import type { ReleaseActionName } from './action-names.ts';


export { RELEASE_ACTIONS, type ReleaseActionName } from './action-names.ts';

export interface ActionCommandOptions extends KubeAccessOptions {
  namespace?: string;
  as?: string;
  comment?: string;
  /** pause, resume, cancel, retry: one target (retry: several, separated by commas). */
  target?: string;
  /** start, promote: the environment expected to be the one waiting; refused otherwise. */
  environment?: string;
  /** start, promote: an emergency release (outside the window, no canary verification); needs --comment. */
  emergency?: boolean;
  /** switch-version: the version to switch to. */
  version?: string;
  wait?: boolean;
  timeout?: string;
  output?: string;
  /** How often the object is read while waiting, in ms (tests shorten it). */
  pollMs?: number;
}

type Out = (line: string) => void;

/** Pure: the annotations that ask for `action`, as the operator's parseAction reads them. */
export function actionAnnotations(action: string, request: { actor: string; comment?: string; target?: string; emergency?: boolean; version?: string }): Record<string, string> {
  return {
    [ACTION_ANNOTATION]: action,
    [ACTOR_ANNOTATION]: request.actor,
    ...(request.comment ? { [COMMENT_ANNOTATION]: request.comment } : {}),
    ...(request.target ? { [ACTION_TARGET_ANNOTATION]: request.target } : {}),
    ...(request.emergency ? { [EMERGENCY_ANNOTATION]: 'true' } : {}),
    ...(request.version ? { [VERSION_ANNOTATION]: request.version } : {}),
  };
}

/** Pure: what the command line allows for each action, checked before anything is written. */
export function checkActionOptions(action: ReleaseActionName, options: ActionCommandOptions): void {
  const targets = (options.target ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  if (options.target !== undefined && targets.length === 0) throw new UsageError('--target is empty');
  if (targets.length > 1 && action !== 'retry') throw new UsageError(`${action} takes one --target; only retry (and rollback) take several`);
  if (options.emergency && !options.comment?.trim()) throw new UsageError('--emergency needs a reason in --comment');
}

/**
 * Pure: a start or promote naming an environment is refused unless that environment is the one the release is
 * at, so a promote meant for `pre` never releases `prod` because `pre` moved on in the meantime.
 */
export function environmentProblem(status: ReleaseStatus | undefined, specEnvironments: readonly { name: string }[], environment: string | undefined): string | undefined {
  if (!environment) return undefined;
  if (!specEnvironments.some((e) => e.name === environment)) return `it has no environment ${environment} (it has ${specEnvironments.map((e) => e.name).join(', ') || 'none'})`;
  const current = status?.currentEnvironment ?? specEnvironments[0]?.name;
  if (current !== environment) return `it is at environment ${current ?? '(none)'}, not ${environment}`;
  return undefined;
}

async function act(
  plural: 'releases' | 'releaseapps',
  kind: string,
  action: string,
  name: string,
  options: ActionCommandOptions,
  request: { comment?: string; target?: string; emergency?: boolean; version?: string },
  check: ((object: ActionObject) => string | undefined) | undefined,
  out: Out,
  err: Out,
): Promise<number> {
  const format = outputFormat(options.output);
  const timeoutMs = parseSeconds('--timeout', options.timeout, 120) * 1000;
  const config = kubeConfigOf(options);
  const namespace = namespaceOf(options, config);
  const resources = new CustomResources(config, plural);
  const what = `${kind} ${namespace}/${name}`;
  const annotations = actionAnnotations(action, { actor: actorOf(options, config), ...request });
  const requested = await requestAction(resources, namespace, name, what, annotations, check);
  if ('refused' in requested) {
    err(requested.refused);
    return 1;
  }
  if (options.wait === false) {
    if (format === 'table') out(`${action} of ${what} requested (${annotations[ACTOR_ANNOTATION]}); the operator answers in status.lastAction`);
    else out(formatObject({ kind, namespace, name, requested: annotations }, format));
    return 0;
  }
  const { progress } = await awaitAction(resources, namespace, name, what, action, requested.before, { timeoutMs, pollMs: options.pollMs ?? 500 });
  if (progress.state === 'withdrawn') {
    err(progress.reason);
    return 1;
  }
  if (progress.state === 'pending') {
    err(`the operator did not answer the ${action} of ${what} within ${timeoutMs / 1000} s (is it running?); the request stays in its annotations`);
    return 1;
  }
  return printVerdict(what, progress.verdict, format, out, err);
}

function printVerdict(what: string, verdict: Acknowledgement, format: 'table' | 'json' | 'yaml', out: Out, err: Out): number {
  if (format !== 'table') out(formatObject(verdict, format));
  if (verdict.result === 'Applied') {
    if (format === 'table') out(`${verdict.action} of ${what} applied: ${verdict.message ?? ''}`.trimEnd());
    return 0;
  }
  err(`${verdict.action} of ${what} refused: ${verdict.message ?? 'no reason given'}`);
  return 1;
}

export async function runReleaseAction(action: ReleaseActionName, name: string, options: ActionCommandOptions, out: Out, err: Out = out): Promise<number> {
  checkActionOptions(action, options);
  const target = options.target?.split(',').map((t) => t.trim()).filter(Boolean).join(',');
  const check = action === 'start' || action === 'promote'
    ? (release: ActionObject) => environmentProblem(release.status as ReleaseStatus | undefined, (release.spec?.environments ?? []) as { name: string }[], options.environment)
    : undefined;
  return act('releases', 'release', action, name, options, {
    ...(options.comment ? { comment: options.comment } : {}),
    ...(target ? { target } : {}),
    ...(options.emergency ? { emergency: true } : {}),
  }, check, out, err);
}

/**
 * Pure: without --version the operator switches to the new tag CI reported; with none reported there is
 * nothing to switch to, which is said here rather than left for the operator to refuse.
 */
export function switchVersionProblem(status: ReleaseAppStatus | undefined, version: string | undefined): string | undefined {
  if (version) return undefined;
  if (!status?.newTag?.tag) return 'it has no new tag (status.newTag); name the version with --version';
  return undefined;
}

export async function runSwitchVersion(name: string, options: ActionCommandOptions, out: Out, err: Out = out): Promise<number> {
  const version = options.version?.trim();
  if (options.version !== undefined && !version) throw new UsageError('--version is empty');
  return act('releaseapps', 'releaseapp', 'switch-version', name, options, {
    ...(options.comment ? { comment: options.comment } : {}),
    ...(version ? { version } : {}),
  }, (app) => switchVersionProblem(app.status as ReleaseAppStatus | undefined, version), out, err);
}
