/**
 * Lifecycle notifications of a Release (start, success, failure, approval required): the machine asks for
 * them with a key; the first pass that claims the key in the audit log sends them, in the background, so a
 * slow or failing channel never holds a reconcile back and never fails a release. A notification claimed
 * by an operator that dies before sending is not sent again (at most once; the audit row says so by
 * having no result row).
 */
import type { Notifications } from '../api/notifications.ts';
import type { Effect } from '../planning/release-machine.ts';
import { notificationRetry, planNotifications } from '../planning/notification-plan.ts';
import type { Masker } from '../planning/masking.ts';
import type { Notifier } from '../notifications/notifier.ts';
import type { Repository } from '../storage/index.ts';
import type { SecretRegistry } from '../runtime/secret-registry.ts';

type NotifyEffect = Extract<Effect, { kind: 'notify' }>;

export interface NotificationContext {
  uid: string;
  namespace: string;
  name: string;
  project: string;
  version: string;
  releaseId: string;
  durationSeconds?: number;
  config: Notifications;
  /** The release's variables (system, project, environment, release layers). */
  variables: Record<string, string>;
  /** Members of the approver groups (group → users); read only for an approval that names a group. */
  groupMembers?: () => Promise<ReadonlyMap<string, readonly string[]>>;
}

/** How the release machine names an approver group among the approvers. */
const GROUP_PREFIX = 'group ';

/**
 * The approvers as people: a group becomes its members, so each is mentioned or mailed (`group sre` is no
 * chat user and no address). A group without known members stays as named, so the text still says who.
 */
export async function approverNames(approvers: readonly string[], groupMembers?: () => Promise<ReadonlyMap<string, readonly string[]>>): Promise<string[]> {
  if (!groupMembers || !approvers.some((a) => a.startsWith(GROUP_PREFIX))) return [...approvers];
  const members = await groupMembers();
  return [...new Set(approvers.flatMap((a) => {
    const group = a.startsWith(GROUP_PREFIX) ? members.get(a.slice(GROUP_PREFIX.length)) : undefined;
    return group && group.length > 0 ? group : [a];
  }))];
}

export class ReleaseNotifications {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();

  constructor(private readonly o: {
    repo: Repository;
    notifier: Notifier;
    mask: Masker;
    log?: (message: string) => void;
    /** Holds the release's secret values while its deliveries are in flight, even if the release goes meanwhile. */
    secrets?: Pick<SecretRegistry, 'hold'>;
  }) {}

  /** True when the release has a rule for this event at all (so variables need not be resolved otherwise). */
  static wanted(config: Notifications | undefined, effect: NotifyEffect): boolean {
    return (config?.rules ?? []).some((r) => r.events.includes(effect.event));
  }

  /** Returns the problems of the notification policy (unknown channels, unresolved variables) the first time. */
  async dispatch(effect: NotifyEffect, context: NotificationContext): Promise<string[]> {
    const dedupKey = `${context.uid}/notify/${effect.key}`;
    const approvers = effect.approvers ? await approverNames(effect.approvers, context.groupMembers) : undefined;
    const { deliveries, problems } = planNotifications(context.config, effect.event, {
      variables: context.variables,
      release: { namespace: context.namespace, name: context.name, project: context.project, version: context.version },
      ...(effect.environment ? { environment: effect.environment } : {}),
      ...(context.durationSeconds !== undefined ? { durationSeconds: context.durationSeconds } : {}),
      ...(approvers ? { approvers } : {}),
      ...(effect.message ? { errorMessage: effect.message } : {}),
      dedupPrefix: dedupKey,
    });
    const claimed = await this.o.repo.claimAuditEvent({
      dedupKey, kind: 'Release', namespace: context.namespace, name: context.name, releaseId: context.releaseId,
      action: 'notify', actor: null, comment: null, target: null,
      details: this.o.mask.deep({ event: effect.event, ...(effect.environment ? { environment: effect.environment } : {}), channels: deliveries.map((d) => d.channel.name), problems }),
    });
    if (!claimed) return [];
    for (const problem of problems) this.o.log?.(this.o.mask(`notification ${effect.event} of ${context.namespace}/${context.name}: ${problem}`));
    if (deliveries.length === 0) return problems;
    const retry = notificationRetry(context.config);
    const unhold = this.o.secrets?.hold(context.uid);
    const sending = this.o.notifier
      .send(deliveries, { ...retry, signal: this.abort.signal })
      .then(async (results) => {
        for (const r of results.filter((x) => !x.ok)) this.o.log?.(this.o.mask(`notification ${effect.event} of ${context.namespace}/${context.name} to ${r.channel} failed after ${r.attempts} attempt(s): ${r.error ?? ''}`));
        await this.o.repo.recordAuditEvent({
          dedupKey: `${dedupKey}/result`, kind: 'Release', namespace: context.namespace, name: context.name, releaseId: context.releaseId,
          action: 'notified', actor: null, comment: null, target: null,
          details: this.o.mask.deep({ event: effect.event, results: results.map((r) => ({ channel: r.channel, ok: r.ok, attempts: r.attempts, ...(r.error ? { error: r.error } : {}) })) }),
        });
      })
      .catch((error: unknown) => this.o.log?.(this.o.mask(`notification ${effect.event} of ${context.namespace}/${context.name}: ${error instanceof Error ? error.message : String(error)}`)))
      .finally(() => {
        unhold?.();
        this.inFlight.delete(sending);
      });
    this.inFlight.add(sending);
    return problems;
  }

  /** Stops retrying and waits for deliveries in flight (their results are still recorded). */
  async stop(): Promise<void> {
    this.abort.abort(new Error('operator stopping'));
    await Promise.allSettled([...this.inFlight]);
  }

  /** For tests: waits for every delivery started so far. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }
}
