/**
 * Who hears what about a release (SPEC "Policy", requirements §11): the notification policy of the Pipeline
 * and the Release merged into one, and the deliveries one event or notify task makes of it — each channel
 * with its `${VARIABLE}` references resolved, its recipients and its message. Pure: the notifier sends.
 */
import type { NotificationChannel, NotificationEvent, Notifications } from '../api/notifications.ts';
import { expandVariables, variableReferences } from './variable-text.ts';

/** The release a notification is about. */
export interface NotifiedRelease {
  namespace: string;
  name: string;
  project: string;
  version: string;
}

/** What a delivery reports: an event of the policy, or `notify` for a pipeline's notify task. */
export type DeliveryEvent = NotificationEvent | 'notify';

/** One message to one channel, ready to send. */
export interface Delivery {
  /** Stable across operator restarts and retries, so receivers that can (webhooks) drop a repeat. */
  key: string;
  event: DeliveryEvent;
  /** The channel with every string resolved; it may hold secrets (tokens, passwords). */
  channel: NotificationChannel;
  /** Email addresses, or user ids and mobiles to mention; for email never empty. */
  recipients: string[];
  /** Email only. */
  subject?: string;
  text: string;
  release: NotifiedRelease;
  environment?: string;
}

export interface NotificationPlan {
  deliveries: Delivery[];
  /** Why deliveries were left out; names rules, channels, fields and variables, never a value. */
  problems: string[];
}

export interface NotificationContext {
  /** The release's resolved variables, secrets included. */
  variables: Readonly<Record<string, string>>;
  /** Absent: PROJECT_NAME, RELEASE_NAME, RELEASE_VERSION and RELEASE_NAMESPACE of the variables. */
  release?: NotifiedRelease;
  /** Absent: RELEASE_ENV of the variables. */
  environment?: string;
  /** Who may decide an approval: `${APPROVERS}` in a rule's recipients becomes one recipient each. */
  approvers?: readonly string[];
  errorMessage?: string;
  /** Shown as `${DURATION}` (e.g. 4m 12s), over a DURATION variable. */
  durationSeconds?: number;
  approvalUrl?: string;
  /** Prefix of every delivery key, e.g. the release and event (and the attempt it reports). */
  dedupPrefix: string;
}

export interface NotificationRetry {
  attempts: number;
  backoffSeconds: number;
}

/** The schema's defaults, for a policy that sets no retry. */
export const DEFAULT_NOTIFICATION_RETRY: NotificationRetry = { attempts: 3, backoffSeconds: 5 };

/**
 * The Release's policy over the Pipeline's: channels merged by name (the Release's wins, in the Pipeline's
 * place), templates per event (the Release's wins), rules of both (the Pipeline's first), retry of the
 * Release else the Pipeline.
 */
export function effectiveNotifications(pipeline?: Notifications, release?: Notifications): Notifications {
  const channels = new Map<string, NotificationChannel>();
  for (const channel of [...(pipeline?.channels ?? []), ...(release?.channels ?? [])]) channels.set(channel.name, channel);
  const templates = { ...pipeline?.templates, ...release?.templates };
  const rules = [...(pipeline?.rules ?? []), ...(release?.rules ?? [])];
  const retry = release?.retry ?? pipeline?.retry;
  return {
    ...(channels.size > 0 ? { channels: [...channels.values()] } : {}),
    ...(Object.keys(templates).length > 0 ? { templates } : {}),
    ...(rules.length > 0 ? { rules } : {}),
    ...(retry ? { retry } : {}),
  };
}

export function notificationRetry(config: Notifications | undefined): NotificationRetry {
  return config?.retry ?? DEFAULT_NOTIFICATION_RETRY;
}

/** One delivery per (rule, channel) of the rules that name the event. */
export function planNotifications(config: Notifications, event: NotificationEvent, context: NotificationContext): NotificationPlan {
  const variables = messageVariables(context);
  const facts = about(context, variables);
  const text = expandVariables(config.templates?.[event] ?? defaultText(event, variables), variables);
  const subject = defaultSubject(event, facts);
  const channels = channelsByName(config);
  const plan: NotificationPlan = { deliveries: [], problems: [] };

  (config.rules ?? []).forEach((rule, ruleIndex) => {
    if (!rule.events.includes(event)) return;
    const where = `rules[${ruleIndex}]`;
    const recipients = expandRecipients(rule.recipients ?? [], variables, context.approvers ?? []);
    for (const name of rule.channels) {
      const channel = channels.get(name);
      if (!channel) {
        plan.problems.push(`${where}: channel ${name} is not defined`);
        continue;
      }
      const delivery = resolveDelivery(channel, recipients, variables, `${where} channel ${name}`, plan.problems);
      if (delivery) plan.deliveries.push({ ...delivery, key: `${context.dedupPrefix}/${name}/${ruleIndex}`, event, ...subjectFor(channel, subject), text, ...facts });
    }
  });
  return plan;
}

/**
 * The deliveries of a notify task: its (already resolved) text to each named channel, to the channel's own
 * recipients (email `to`). A name the policy does not define is a problem.
 */
export function planTaskNotification(
  config: Notifications | undefined,
  channelNames: readonly string[],
  context: Pick<NotificationContext, 'variables' | 'release' | 'environment' | 'dedupPrefix'> & { text: string },
): NotificationPlan {
  const variables = messageVariables(context);
  const facts = about(context, variables);
  const channels = channelsByName(config ?? {});
  const plan: NotificationPlan = { deliveries: [], problems: [] };
  for (const name of new Set(channelNames)) {
    const channel = channels.get(name);
    if (!channel) {
      plan.problems.push(`channel ${name} is not defined in the notification policy (notifications.channels of the Pipeline or Release)`);
      continue;
    }
    const delivery = resolveDelivery(channel, emptyRecipients, variables, `channel ${name}`, plan.problems);
    if (delivery) {
      plan.deliveries.push({
        ...delivery,
        key: `${context.dedupPrefix}/${name}`,
        event: 'notify',
        ...subjectFor(channel, defaultSubject('notify', facts)),
        text: context.text,
        ...facts,
      });
    }
  }
  return plan;
}

const emptyRecipients = { recipients: [] as string[], unresolved: [] as string[] };

function subjectFor(channel: NotificationChannel, subject: string): Pick<Delivery, 'subject'> {
  return channel.type === 'email' ? { subject } : {};
}

function channelsByName(config: Notifications): Map<string, NotificationChannel> {
  return new Map((config.channels ?? []).map((channel) => [channel.name, channel]));
}

/** The release and environment a delivery reports; `variables` already hold the context's facts. */
function about(context: Pick<NotificationContext, 'release'>, variables: Readonly<Record<string, string>>): Pick<Delivery, 'release' | 'environment'> {
  const release = context.release ?? {
    namespace: variables.RELEASE_NAMESPACE ?? '',
    name: variables.RELEASE_NAME ?? '',
    project: variables.PROJECT_NAME ?? '',
    version: variables.RELEASE_VERSION ?? '',
  };
  return { release: { ...release }, ...(variables.RELEASE_ENV ? { environment: variables.RELEASE_ENV } : {}) };
}

/** The channel resolved and its recipients settled, or undefined with the problems that left it out. */
function resolveDelivery(
  channel: NotificationChannel,
  ruleRecipients: { recipients: string[]; unresolved: string[] },
  variables: Readonly<Record<string, string>>,
  where: string,
  problems: string[],
): Pick<Delivery, 'channel' | 'recipients'> | undefined {
  const block = channel[channel.type];
  if (!block) {
    problems.push(`${where}: has no ${channel.type} block`);
    return undefined;
  }
  const unresolved: string[] = [];
  const resolved = expandDeep(block, variables, channel.type, unresolved);
  for (const reference of ruleRecipients.unresolved) unresolved.push(`recipients refer to \${${reference}}`);
  if (unresolved.length > 0) {
    for (const what of new Set(unresolved)) problems.push(`${where}: ${what}, which is not set`);
    return undefined;
  }
  let recipients = ruleRecipients.recipients;
  if (channel.type === 'email') {
    if (recipients.length === 0) recipients = [...new Set((resolved as NonNullable<NotificationChannel['email']>).to ?? [])];
    if (recipients.length === 0) {
      problems.push(`${where}: no recipients (set the rule's recipients or email.to)`);
      return undefined;
    }
  }
  return { channel: { name: channel.name, type: channel.type, [channel.type]: resolved } as NotificationChannel, recipients };
}

/** Every string of a channel block resolved; unresolved references are noted with the field that holds them. */
function expandDeep(value: unknown, variables: Readonly<Record<string, string>>, path: string, unresolved: string[]): unknown {
  if (typeof value === 'string') {
    const text = expandVariables(value, variables);
    for (const reference of variableReferences(text)) unresolved.push(`${path} refers to \${${reference}}`);
    return text;
  }
  if (Array.isArray(value)) return value.map((item, i) => expandDeep(item, variables, `${path}[${i}]`, unresolved));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [expandDeep(key, variables, `${path}.${key}`, unresolved), expandDeep(item, variables, `${path}.${key}`, unresolved)]),
    );
  }
  return value;
}

const APPROVERS_REFERENCE = '${APPROVERS}';

/** A recipient holding `${APPROVERS}` becomes one recipient per approver (none without approvers). */
function expandRecipients(list: readonly string[], variables: Readonly<Record<string, string>>, approvers: readonly string[]) {
  const recipients = new Set<string>();
  const unresolved = new Set<string>();
  const add = (recipient: string) => {
    for (const reference of variableReferences(recipient)) unresolved.add(reference);
    if (recipient.trim()) recipients.add(recipient.trim());
  };
  const { APPROVERS: _joined, ...others } = variables;
  for (const recipient of list) {
    const expanded = expandVariables(recipient, others);
    if (expanded.includes(APPROVERS_REFERENCE)) for (const approver of approvers) add(expanded.replaceAll(APPROVERS_REFERENCE, approver));
    else add(expanded);
  }
  return { recipients: [...recipients], unresolved: [...unresolved] };
}

/** The release's variables and the facts of this message; the facts win, they describe this very release. */
function messageVariables(context: Omit<NotificationContext, 'dedupPrefix'>): Record<string, string> {
  const facts: Record<string, string> = {};
  if (context.release) {
    facts.RELEASE_NAMESPACE = context.release.namespace;
    facts.PROJECT_NAME = context.release.project;
    facts.RELEASE_NAME = context.release.name;
    facts.RELEASE_VERSION = context.release.version;
  }
  if (context.environment) facts.RELEASE_ENV = context.environment;
  if (context.errorMessage !== undefined) facts.ERROR_MESSAGE = context.errorMessage;
  if (context.approvers && context.approvers.length > 0) facts.APPROVERS = context.approvers.join(', ');
  if (context.durationSeconds !== undefined) facts.DURATION = formatDuration(context.durationSeconds);
  if (context.approvalUrl) facts.APPROVAL_URL = context.approvalUrl;
  return { ...context.variables, ...facts };
}

export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  const parts = [[Math.floor(total / 3600), 'h'], [Math.floor((total % 3600) / 60), 'm'], [total % 60, 's']] as const;
  const shown = parts.filter(([amount]) => amount > 0).map(([amount, unit]) => `${amount}${unit}`);
  return shown.length > 0 ? shown.join(' ') : '0s';
}

const DEFAULT_TEXT: Record<NotificationEvent, { title: string; lines: [label: string, variable: string][] }> = {
  release_start: { title: 'Release started', lines: [['Project', 'PROJECT_NAME'], ['Environment', 'RELEASE_ENV'], ['Version', 'RELEASE_VERSION'], ['By', 'RELEASE_USER']] },
  release_success: { title: 'Release succeeded', lines: [['Project', 'PROJECT_NAME'], ['Environment', 'RELEASE_ENV'], ['Version', 'RELEASE_VERSION'], ['Duration', 'DURATION']] },
  release_failed: { title: 'Release failed', lines: [['Project', 'PROJECT_NAME'], ['Environment', 'RELEASE_ENV'], ['Version', 'RELEASE_VERSION'], ['Error', 'ERROR_MESSAGE']] },
  approval_required: {
    title: 'Approval required',
    lines: [['Project', 'PROJECT_NAME'], ['Environment', 'RELEASE_ENV'], ['Version', 'RELEASE_VERSION'], ['Requested by', 'RELEASE_USER'], ['Approvers', 'APPROVERS'], ['Approve at', 'APPROVAL_URL']],
  },
};

/** The built-in text as a template; lines whose fact is unknown are left out rather than shown as `${...}`. */
function defaultText(event: NotificationEvent, variables: Readonly<Record<string, string>>): string {
  const { title, lines } = DEFAULT_TEXT[event];
  return [title, ...lines.filter(([, name]) => variables[name]).map(([label, name]) => `${label}: \${${name}}`)].join('\n');
}

const SUBJECT: Record<DeliveryEvent, string> = {
  release_start: 'release started',
  release_success: 'release succeeded',
  release_failed: 'release failed',
  approval_required: 'approval required',
  notify: 'release notification',
};

function defaultSubject(event: DeliveryEvent, facts: Pick<Delivery, 'release' | 'environment'>): string {
  const { project, version } = facts.release;
  const what = [project, version].filter(Boolean).join(' ');
  return `[shipway] ${what ? `${what}: ` : ''}${SUBJECT[event]}${facts.environment ? ` in ${facts.environment}` : ''}`;
}
