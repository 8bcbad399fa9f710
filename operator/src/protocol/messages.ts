/**
 * The messages the operator and its agents exchange, as TypeBox schemas (checked on receipt by ajv) and the
 * TypeScript types derived from them. Every message is `{ v, type, id?, ... }`: `v` is the protocol's major
 * version, `type` names the message, and a reply (welcome, heartbeat_ack, control_ack, error) carries the `id`
 * of the message it answers, so neither side needs a second correlation field.
 *
 * Every string, list and map has a bound: a peer cannot make the other side hold more than one frame's worth of
 * anything, and an agent batching log lines knows the limits before it sends.
 *
 * Compatibility: peers talk when their major versions match. A peer only sends fields its counterpart's
 * minor version knows (hello and welcome carry the full version), because unknown fields are refused: a
 * strict schema keeps a misspelt field from being silently ignored, which matters more here than leniency.
 *
 * Pure: values in, verdicts out.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import type { TProperties, TSchema } from '@sinclair/typebox';
import { PATTERNS } from '../api/patterns.ts';
import { Obj, StringEnum, Type, type Static } from '../api/schema-helpers.ts';
import { INSTALLATION_STATES } from '../api/target.ts';
import { fieldPath } from '../validation/issue.ts';
import { describeAjvError } from '../validation/messages.ts';
import { errorSegments, valueAt } from '../validation/ajv-paths.ts';

// ajv-formats is CommonJS; under NodeNext its default export is the module object.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;

/** The full version (`major.minor`) this build speaks; hello and welcome carry it. */
export const PROTOCOL_VERSION = '1.0';
/** The `v` of every message: the major version. */
export const PROTOCOL_MAJOR = 1;
export const SUPPORTED_PROTOCOL_MAJORS: readonly number[] = [PROTOCOL_MAJOR];

/** Peers interoperate when their major versions match; a minor version only adds optional fields. */
export function isCompatibleProtocol(version: string): boolean {
  const match = /^(\d+)\.(\d+)$/.exec(version);
  return match !== null && SUPPORTED_PROTOCOL_MAJORS.includes(Number(match[1]));
}

/** The bounds the schemas enforce, for senders that batch or truncate before sending. */
export const LIMITS = {
  idLength: 253,
  credentialLength: 1024,
  shortTextLength: 1024,
  errorTextLength: 8192,
  outputTailLength: 65536,
  logLinesPerBatch: 500,
  logLineLength: 4096,
  installedApps: 500,
  taskIds: 1000,
  capabilities: 64,
  envEntries: 500,
  envValueLength: 65536,
  configProperties: 256,
  metrics: 100,
  maxTimeoutSeconds: 86400,
} as const;

export const MESSAGE_TYPES = [
  'hello', 'welcome', 'heartbeat', 'heartbeat_ack',
  'task_assign', 'task_ack', 'progress', 'log', 'result', 'result_ack',
  'status_report', 'control', 'control_ack', 'error',
] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export const TASK_KINDS = ['deploy', 'task'] as const;
export const TASK_OPERATIONS = ['install', 'update', 'rollback', 'uninstall'] as const;
/** Agent target types; a task_assign may also name a host task type (health_check, backup, ...). */
export const AGENT_TARGET_TYPES = ['docker', 'script', 'gitpull'] as const;
export const HOST_TASK_TYPES = ['health_check', 'backup', 'script', 'stop_service', 'start_service', 'cleanup'] as const;
export const TASK_ACK_STATUSES = ['accepted', 'duplicate', 'refused'] as const;
export const RESULT_STATUSES = ['succeeded', 'failed', 'cancelled'] as const;
export const REPORT_STATUSES = ['running', 'success', 'failed'] as const;
export const CONTROL_COMMANDS = ['pause', 'resume', 'cancel', 'rollback'] as const;

// Printable ASCII without spaces: ids end up in file names, log lines and database keys.
const TOKEN_PATTERN = '^[!-~]+$';
const PROTOCOL_VERSION_PATTERN = '^[0-9]+\\.[0-9]+$';
const CODE_PATTERN = '^[a-z][a-z0-9_]*$';

const PATTERN_MEANINGS = new Map<string, string>([
  [TOKEN_PATTERN, 'printable ASCII without spaces'],
  [PROTOCOL_VERSION_PATTERN, 'a protocol version such as 1.0'],
  [CODE_PATTERN, "a lowercase code (a-z, 0-9 and '_', starting with a letter)"],
  [PATTERNS.appName.regex, PATTERNS.appName.meaning],
  [PATTERNS.versionRef.regex, PATTERNS.versionRef.meaning],
  [PATTERNS.variableName.regex, PATTERNS.variableName.meaning],
]);

const Id = () => Type.String({ minLength: 1, maxLength: LIMITS.idLength, pattern: TOKEN_PATTERN });
const Text = (maxLength: number = LIMITS.shortTextLength) => Type.String({ maxLength });
const Code = () => Type.String({ minLength: 1, maxLength: 63, pattern: CODE_PATTERN });
const AppName = () => Type.String({ minLength: 1, maxLength: 253, pattern: PATTERNS.appName.regex });
const Version = () => Type.String({ minLength: 1, maxLength: 128, pattern: PATTERNS.versionRef.regex });
const ProtocolVersion = () => Type.String({ maxLength: 16, pattern: PROTOCOL_VERSION_PATTERN });
const IdList = (maxItems: number) => Type.Array(Id(), { maxItems });
const Percent = () => Type.Integer({ minimum: 0, maximum: 100 });

/** Environment variables: names a shell accepts, values bounded. */
const EnvMap = () =>
  Type.Unsafe<Record<string, string>>({
    type: 'object',
    maxProperties: LIMITS.envEntries,
    propertyNames: { maxLength: 256, pattern: PATTERNS.variableName.regex },
    additionalProperties: { type: 'string', maxLength: LIMITS.envValueLength },
  });

const MetricsMap = () =>
  Type.Unsafe<Record<string, number>>({
    type: 'object',
    maxProperties: LIMITS.metrics,
    propertyNames: { minLength: 1, maxLength: 128 },
    additionalProperties: { type: 'number' },
  });

/** The executor's config: its own schema checks it on the agent; here only its size is bounded. */
const OpaqueObject = () => Type.Unsafe<Record<string, unknown>>({ type: 'object', maxProperties: LIMITS.configProperties });

/** A cross-field rule: when `field` equals `value`, `required` must be present. */
interface RequiredWhen {
  field: string;
  value: string | boolean;
  required: string[];
}

function requiredWhen(rules: RequiredWhen[]): { allOf: object[] } {
  return {
    allOf: rules.map(({ field, value, required }) => ({
      if: { properties: { [field]: { const: value } }, required: [field] },
      then: { required },
    })),
  };
}

function message<T extends string, P extends TProperties>(type: T, properties: P, rules: RequiredWhen[] = []) {
  return Obj(
    {
      v: Type.Literal(PROTOCOL_MAJOR),
      type: Type.Literal(type),
      id: Type.Optional(Id()),
      ...properties,
    },
    rules.length > 0 ? requiredWhen(rules) : {},
  );
}

const InstalledApp = Obj({
  app: AppName(),
  /** The executor that installed it: a host served as a docker and a script Target may have the app twice. */
  targetType: Type.Optional(Code()),
  version: Type.Optional(Version()),
  state: StringEnum(INSTALLATION_STATES),
});
export type InstalledApp = Static<typeof InstalledApp>;

const outcomeProperties = {
  status: StringEnum(RESULT_STATUSES),
  /** The version installed afterwards (absent after an uninstall). */
  version: Type.Optional(Version()),
  previousVersion: Type.Optional(Version()),
  error: Type.Optional(Text(LIMITS.errorTextLength)),
  outputTail: Type.Optional(Text(LIMITS.outputTailLength)),
  /** Whether the app is installed on the host after the task. */
  installed: Type.Boolean(),
  durationMs: Type.Integer({ minimum: 0 }),
};
const failedNeedsError: RequiredWhen = { field: 'status', value: 'failed', required: ['error'] };

/** What a task came to; a `result` carries it, and so does the `task_ack` of a task that already ran. */
const TaskOutcome = Obj(outcomeProperties, requiredWhen([failedNeedsError]));
export type TaskOutcome = Static<typeof TaskOutcome>;

export const Hello = message('hello', {
  agentId: Id(),
  /** The secret the operator issued; redact before logging (see `redactMessage`). */
  credential: Type.String({ minLength: 1, maxLength: LIMITS.credentialLength }),
  agentVersion: Type.String({ minLength: 1, maxLength: 64 }),
  protocolVersion: ProtocolVersion(),
  hostname: Type.String({ minLength: 1, maxLength: 253 }),
  /** Executor types this agent runs (docker, script, gitpull, health_check, ...). */
  capabilities: Type.Array(Code(), { maxItems: LIMITS.capabilities }),
  installed: Type.Array(InstalledApp, { maxItems: LIMITS.installedApps }),
  /** Tasks still running from before the reconnect: the operator must not assign them again. */
  runningTasks: IdList(LIMITS.taskIds),
  /** Tasks whose results are journaled but not yet acknowledged: the agent re-sends them. */
  unacknowledgedResults: IdList(LIMITS.taskIds),
});

export const Welcome = message(
  'welcome',
  {
    accepted: Type.Boolean(),
    reason: Type.Optional(Text()),
    sessionId: Type.Optional(Id()),
    heartbeatSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
    serverVersion: Type.String({ minLength: 1, maxLength: 64 }),
    protocolVersion: ProtocolVersion(),
  },
  [
    { field: 'accepted', value: true, required: ['sessionId', 'heartbeatSeconds'] },
    { field: 'accepted', value: false, required: ['reason'] },
  ],
);

export const Heartbeat = message('heartbeat', {
  runningTasks: IdList(LIMITS.taskIds),
  load: Obj({
    loadAverage1m: Type.Number({ minimum: 0 }),
    cpus: Type.Integer({ minimum: 1, maximum: 65536 }),
    memoryUsedPercent: Type.Number({ minimum: 0, maximum: 100 }),
  }),
});

export const HeartbeatAck = message('heartbeat_ack', {});

export const TaskAssign = message('task_assign', {
  /** The operator's dedup key: the agent never runs the same task id twice. */
  taskId: Id(),
  kind: StringEnum(TASK_KINDS),
  /** For a host task, the operation of the deployment it belongs to. */
  operation: StringEnum(TASK_OPERATIONS),
  /** docker | script | gitpull, or a host task type; the agent refuses one it has no executor for. */
  targetType: Code(),
  app: AppName(),
  version: Version(),
  currentVersion: Type.Optional(Version()),
  config: OpaqueObject(),
  env: EnvMap(),
  /**
   * Names of the `env` entries that hold secrets: the agent masks their values in every line it logs, sends or
   * journals, as the operator masks them on its side.
   */
  secretEnv: Type.Optional(Type.Array(Type.String({ maxLength: 256, pattern: PATTERNS.variableName.regex }), { maxItems: LIMITS.envEntries })),
  timeoutSeconds: Type.Integer({ minimum: 1, maximum: LIMITS.maxTimeoutSeconds }),
  releaseRef: Obj({
    namespace: Type.String({ minLength: 1, maxLength: 63 }),
    name: Type.String({ minLength: 1, maxLength: 253 }),
    uid: Type.String({ minLength: 1, maxLength: 128 }),
  }),
  environment: Type.String({ minLength: 1, maxLength: 253 }),
  /** The Target's name. */
  target: Type.String({ minLength: 1, maxLength: 253 }),
});

export const TaskAck = message(
  'task_ack',
  {
    taskId: Id(),
    status: StringEnum(TASK_ACK_STATUSES),
    reason: Type.Optional(Text()),
    /** For a duplicate that already finished: its journaled outcome. A duplicate still running has none yet. */
    result: Type.Optional(TaskOutcome),
  },
  [{ field: 'status', value: 'refused', required: ['reason'] }],
);

export const Progress = message('progress', {
  taskId: Id(),
  percent: Percent(),
  phase: Type.String({ minLength: 1, maxLength: 63 }),
  message: Type.Optional(Text()),
});

export const Log = message('log', {
  taskId: Id(),
  /** Batch number from 0 per task: gaps and repeats after a reconnect are visible. */
  seq: Type.Integer({ minimum: 0 }),
  lines: Type.Array(Type.String({ maxLength: LIMITS.logLineLength }), { minItems: 1, maxItems: LIMITS.logLinesPerBatch }),
  /** Lines the agent dropped before this batch to stay within its bounds. */
  dropped: Type.Optional(Type.Integer({ minimum: 0 })),
});

export const Result = message('result', { taskId: Id(), ...outcomeProperties }, [failedNeedsError]);

export const ResultAck = message('result_ack', { taskId: Id() });

/** The requirements' StatusReportRequest (§9.1); the agent id comes from the session. */
export const StatusReport = message('status_report', {
  releaseId: Id(),
  targetId: Id(),
  phase: Type.String({ minLength: 1, maxLength: 63 }),
  taskId: Id(),
  taskName: Type.Optional(Type.String({ maxLength: 253 })),
  status: StringEnum(REPORT_STATUSES),
  progress: Percent(),
  message: Type.Optional(Text(LIMITS.errorTextLength)),
  metrics: Type.Optional(MetricsMap()),
  timestamp: Type.Optional(Type.String({ format: 'date-time' })),
});

export const Control = message('control', {
  command: StringEnum(CONTROL_COMMANDS),
  /** Absent: every task of this agent. */
  taskId: Type.Optional(Id()),
  reason: Type.Optional(Text()),
});

export const ControlAck = message(
  'control_ack',
  {
    command: StringEnum(CONTROL_COMMANDS),
    taskId: Type.Optional(Id()),
    accepted: Type.Boolean(),
    reason: Type.Optional(Text()),
  },
  [{ field: 'accepted', value: false, required: ['reason'] }],
);

export const ErrorMessage = message('error', {
  code: Code(),
  message: Text(),
});

export const MESSAGE_SCHEMAS = {
  hello: Hello,
  welcome: Welcome,
  heartbeat: Heartbeat,
  heartbeat_ack: HeartbeatAck,
  task_assign: TaskAssign,
  task_ack: TaskAck,
  progress: Progress,
  log: Log,
  result: Result,
  result_ack: ResultAck,
  status_report: StatusReport,
  control: Control,
  control_ack: ControlAck,
  error: ErrorMessage,
} as const satisfies Record<MessageType, TSchema>;

export type HelloMessage = Static<typeof Hello>;
export type WelcomeMessage = Static<typeof Welcome>;
export type HeartbeatMessage = Static<typeof Heartbeat>;
export type HeartbeatAckMessage = Static<typeof HeartbeatAck>;
export type TaskAssignMessage = Static<typeof TaskAssign>;
export type TaskAckMessage = Static<typeof TaskAck>;
export type ProgressMessage = Static<typeof Progress>;
export type LogMessage = Static<typeof Log>;
export type ResultMessage = Static<typeof Result>;
export type ResultAckMessage = Static<typeof ResultAck>;
export type StatusReportMessage = Static<typeof StatusReport>;
export type ControlMessage = Static<typeof Control>;
export type ControlAckMessage = Static<typeof ControlAck>;
export type ErrorMessage = Static<typeof ErrorMessage>;

export type ProtocolMessage = { [T in MessageType]: Static<(typeof MESSAGE_SCHEMAS)[T]> }[MessageType];
export type MessageOf<T extends MessageType> = Extract<ProtocolMessage, { type: T }>;

export type MessageValidation = { ok: true; message: ProtocolMessage } | { ok: false; error: string };

const MAX_REPORTED_ISSUES = 5;
const PREVIEW_LENGTH = 64;

const validators: Map<string, ValidateFunction> = (() => {
  const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
  addFormats(ajv);
  return new Map(MESSAGE_TYPES.map((type) => [type, ajv.compile(MESSAGE_SCHEMAS[type])]));
})();

/**
 * A short rendering of a value from the peer. Never JSON.stringify a composite the peer sent: an array nested
 * a few hundred thousand deep fits in one frame and overflows the stack, and a long value would bloat the error.
 */
function preview(value: unknown): string {
  if (Array.isArray(value)) return `an array of ${value.length} item(s)`;
  if (value !== null && typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(clip(value));
  return String(value);
}

const clip = (text: string): string => (text.length > PREVIEW_LENGTH ? `${text.slice(0, PREVIEW_LENGTH)}…` : text);

function bounded(text: string, max: number = LIMITS.shortTextLength): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Checks a decoded JSON value against the schema of the message it claims to be. The error names each field
 * path and why it is wrong, e.g. `task_assign: env.my-var: Invalid value: "my-var": must be a variable name ...`,
 * and is short enough to send back in an `error` message.
 */
export function validateMessage(value: unknown): MessageValidation {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, error: `message: must be a JSON object, not ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}` };
  }
  const { v, type } = value as { v?: unknown; type?: unknown };
  if (v === undefined) return { ok: false, error: 'v: Required value: the protocol version' };
  if (!SUPPORTED_PROTOCOL_MAJORS.includes(v as number)) {
    return { ok: false, error: `v: Unsupported protocol version ${preview(v)}: supported versions: ${SUPPORTED_PROTOCOL_MAJORS.join(', ')}` };
  }
  if (type === undefined) return { ok: false, error: 'type: Required value' };
  const validate = typeof type === 'string' ? validators.get(type) : undefined;
  if (!validate) {
    return { ok: false, error: `type: Unsupported value: ${preview(type)}: supported values: ${MESSAGE_TYPES.map((t) => `"${t}"`).join(', ')}` };
  }
  if (validate(value)) return { ok: true, message: value as ProtocolMessage };
  const issues = [...new Set((validate.errors ?? []).flatMap((error) => describe(error, value)))];
  const shown = issues.slice(0, MAX_REPORTED_ISSUES);
  const more = issues.length > shown.length ? ` (and ${issues.length - shown.length} more)` : '';
  return { ok: false, error: bounded(`${type}: ${shown.join('; ')}${more}`) };
}

function describe(error: ErrorObject, root: unknown): string[] {
  // `if` only says that a `then` failed, and `propertyNames` that some key did: the errors beside them say which.
  if (error.keyword === 'if' || error.keyword === 'propertyNames') return [];
  const segments = errorSegments(error);
  // A bad map key is reported at the key; the value under test is the key itself.
  if (error.propertyName !== undefined) segments.push(error.propertyName);
  const value = error.propertyName ?? valueAt(root, segments);
  const path = bounded(fieldPath(segments.map((s) => (typeof s === 'string' ? clip(s) : s))) || 'message', 200);
  return [`${path}: ${reason(error, value)}`];
}

/** In the words of `describeAjvError` (what `shipway validate` says), but showing values through `preview`. */
function reason(error: ErrorObject, value: unknown): string {
  const params = error.params as Record<string, unknown>;
  const shown = preview(value);
  switch (error.keyword) {
    case 'type':
      return `Invalid value: ${shown}: must be ${params.type === 'integer' ? 'an integer' : `of type ${String(params.type)}`}`;
    case 'enum':
      return `Unsupported value: ${shown}: supported values: ${(params.allowedValues as unknown[]).map(preview).join(', ')}`;
    case 'const':
      return `Unsupported value: ${shown}: must be ${preview(params.allowedValue)}`;
    case 'pattern': {
      const meaning = PATTERN_MEANINGS.get(String(params.pattern));
      return `Invalid value: ${shown}: must be ${meaning ?? `matching ${String(params.pattern)}`}`;
    }
    case 'format':
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
    case 'minLength':
      // Scalars only reach these keywords; the shared wording renders them itself.
      return describeAjvError(error, typeof value === 'string' ? clip(value) : value);
    case 'maxLength':
      return `Too long: must have at most ${String(params.limit)} characters`;
    default:
      return describeAjvError(error, undefined);
  }
}

const REDACTED = '<redacted>';

/**
 * A copy fit for logs and audit rows: the credential and every environment value (secret variables travel
 * as environment variables) are replaced.
 */
export function redactMessage(message: ProtocolMessage): ProtocolMessage {
  if (message.type === 'hello') return { ...message, credential: REDACTED };
  if (message.type === 'task_assign') {
    const engine = message.config.engine as { tls?: { key?: string } } | undefined;
    // A docker engine's TLS key travels in the config (the agent reads no Kubernetes Secret).
    const config = engine?.tls?.key ? { ...message.config, engine: { ...engine, tls: { ...engine.tls, key: REDACTED } } } : message.config;
    return { ...message, config, env: Object.fromEntries(Object.keys(message.env).map((key) => [key, REDACTED])) };
  }
  return message;
}
