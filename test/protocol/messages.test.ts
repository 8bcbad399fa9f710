import { describe, expect, it } from 'vitest';
import {
  isCompatibleProtocol,
  LIMITS,
  MESSAGE_TYPES,
  PROTOCOL_MAJOR,
  PROTOCOL_VERSION,
  redactMessage,
  validateMessage,
  type ProtocolMessage,
} from '../../operator/src/protocol/messages.ts';
import { ALL_SAMPLES, SAMPLES } from './sample-messages.ts';

const sample = <T extends keyof typeof SAMPLES>(type: T, index = 0): Record<string, unknown> =>
  structuredClone(JSON.parse(JSON.stringify(SAMPLES[type][index])) as Record<string, unknown>);

const withField = (type: keyof typeof SAMPLES, patch: Record<string, unknown>, index = 0): Record<string, unknown> => ({ ...sample(type, index), ...patch });

const without = (type: keyof typeof SAMPLES, field: string, index = 0): Record<string, unknown> => {
  const message = sample(type, index);
  delete message[field];
  return message;
};

describe('protocol messages', () => {
  it('has a sample of every message type', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual([...MESSAGE_TYPES].sort());
  });

  it.each(ALL_SAMPLES.map((m) => [`${m.type}${'id' in m && m.id ? ` ${m.id}` : ''}`, m] as const))('accepts a valid %s and returns it unchanged through JSON', (_name, message) => {
    const verdict = validateMessage(JSON.parse(JSON.stringify(message)));
    expect(verdict).toEqual({ ok: true, message });
  });

  const long = (n: number) => 'x'.repeat(n);

  it.each<[string, unknown, string[]]>([
    ['a non-object', 'hello', ['message: must be a JSON object, not string']],
    ['an array', [1], ['message: must be a JSON object, not an array']],
    ['null', null, ['message: must be a JSON object, not null']],
    ['no version', { type: 'hello' }, ['v: Required value']],
    ['a newer major version', withField('heartbeat_ack', { v: 2 }), ['v: Unsupported protocol version 2: supported versions: 1']],
    ['a version as a string', withField('heartbeat_ack', { v: '1' }), ['v: Unsupported protocol version "1"']],
    ['no type', { v: 1 }, ['type: Required value']],
    ['an unknown type', { v: 1, type: 'shutdown' }, ['type: Unsupported value: "shutdown": supported values: "hello", "welcome"']],
    ['an extra property', withField('heartbeat_ack', { extra: true }), ['heartbeat_ack: extra: unknown field']],
    ['an extra nested property', withField('heartbeat', { load: { loadAverage1m: 1, cpus: 1, memoryUsedPercent: 1, disk: 3 } }), ['heartbeat: load.disk: unknown field']],
    ['a missing required field', without('hello', 'agentId'), ['hello: agentId: Required value']],
    ['an id with spaces', withField('hello', { agentId: 'edge 01' }), ['hello: agentId: Invalid value: "edge 01": must be printable ASCII without spaces']],
    ['an oversized id', withField('result_ack', { taskId: long(LIMITS.idLength + 1) }), ['result_ack: taskId: Too long: must have at most 253 characters']],
    ['an oversized credential', withField('hello', { credential: long(LIMITS.credentialLength + 1) }), ['hello: credential: Too long: must have at most 1024 characters']],
    ['an unknown installation state', withField('hello', { installed: [{ app: 'web', state: 'gone' }] }), ['hello: installed[0].state: Unsupported value: "gone": supported values: "installed", "uninstalled", "failed", "unknown"']],
    ['a bad app name in the installed list', withField('hello', { installed: [{ app: 'Web App', state: 'installed' }] }), ['hello: installed[0].app: Invalid value: "Web App": must be an app name']],
    ['too many installed apps', withField('hello', { installed: Array.from({ length: LIMITS.installedApps + 1 }, (_, i) => ({ app: `a${i}`, state: 'installed' })) }), ['hello: installed: Too many: must have at most 500 items']],
    ['too many running tasks', withField('heartbeat', { runningTasks: Array.from({ length: LIMITS.taskIds + 1 }, (_, i) => `t${i}`) }), ['heartbeat: runningTasks: Too many: must have at most 1000 items']],
    ['a malformed protocol version', withField('hello', { protocolVersion: 'one' }), ['hello: protocolVersion: Invalid value: "one": must be a protocol version such as 1.0']],
    ['an accepted welcome without a session', without('welcome', 'sessionId'), ['welcome: sessionId: Required value']],
    ['a refused welcome without a reason', without('welcome', 'reason', 1), ['welcome: reason: Required value']],
    ['a heartbeat with a negative load', withField('heartbeat', { load: { loadAverage1m: -1, cpus: 0, memoryUsedPercent: 101 } }), ['heartbeat: load.loadAverage1m: Invalid value: -1: must be >= 0', 'load.cpus: Invalid value: 0: must be >= 1', 'load.memoryUsedPercent: Invalid value: 101: must be <= 100']],
    ['an unknown operation', withField('task_assign', { operation: 'upgrade' }), ['task_assign: operation: Unsupported value: "upgrade": supported values: "install", "update", "rollback", "uninstall"']],
    ['an unknown kind', withField('task_assign', { kind: 'job' }), ['task_assign: kind: Unsupported value: "job"']],
    ['a target type with capitals', withField('task_assign', { targetType: 'Docker' }), ['task_assign: targetType: Invalid value: "Docker": must be a lowercase code']],
    ['a version with spaces', withField('task_assign', { version: '1.0 beta' }), ['task_assign: version: Invalid value: "1.0 beta": must be an image tag, version or git ref']],
    ['an env name a shell refuses', withField('task_assign', { env: { 'MY-VAR': 'x' } }), ['task_assign: env.MY-VAR: Invalid value: "MY-VAR": must be a variable name']],
    ['an env value that is not a string', withField('task_assign', { env: { PORT: 8080 } }), ['task_assign: env.PORT: Invalid value: 8080: must be of type string']],
    ['an oversized env value', withField('task_assign', { env: { BIG: long(LIMITS.envValueLength + 1) } }), ['task_assign: env.BIG: Too long: must have at most 65536 characters']],
    ['too many env entries', withField('task_assign', { env: Object.fromEntries(Array.from({ length: LIMITS.envEntries + 1 }, (_, i) => [`V${i}`, ''])) }), ['task_assign: env: Too many: must have at most 500 entries']],
    ['a config that is not an object', withField('task_assign', { config: 'image: web' }), ['task_assign: config: Invalid value: "image: web": must be of type object']],
    ['a zero timeout', withField('task_assign', { timeoutSeconds: 0 }), ['task_assign: timeoutSeconds: Invalid value: 0: must be >= 1']],
    ['a fractional timeout', withField('task_assign', { timeoutSeconds: 1.5 }), ['task_assign: timeoutSeconds: Invalid value: 1.5: must be an integer']],
    ['a release reference without uid', withField('task_assign', { releaseRef: { namespace: 'shop', name: 'rel-42' } }), ['task_assign: releaseRef.uid: Required value']],
    ['a refusal without reason', without('task_ack', 'reason', 2), ['task_ack: reason: Required value']],
    ['a duplicate whose journaled result is malformed', withField('task_ack', { result: { status: 'failed', installed: true, durationMs: -1 } }, 1), ['task_ack: ', 'result.durationMs: Invalid value: -1: must be >= 0', 'result.error: Required value']],
    ['progress above 100', withField('progress', { percent: 101 }), ['progress: percent: Invalid value: 101: must be <= 100']],
    ['an empty log batch', withField('log', { lines: [] }), ['log: lines: Invalid value: must have at least 1 item(s)']],
    ['an oversized log batch', withField('log', { lines: Array.from({ length: LIMITS.logLinesPerBatch + 1 }, () => 'x') }), ['log: lines: Too many: must have at most 500 items']],
    ['an oversized log line', withField('log', { lines: ['ok', long(LIMITS.logLineLength + 1)] }), ['log: lines[1]: Too long: must have at most 4096 characters']],
    ['a failed result without error', without('result', 'error', 1), ['result: error: Required value']],
    ['an unknown result status', withField('result', { status: 'timeout' }), ['result: status: Unsupported value: "timeout": supported values: "succeeded", "failed", "cancelled"']],
    ['an oversized output tail', withField('result', { outputTail: long(LIMITS.outputTailLength + 1) }), ['result: outputTail: Too long: must have at most 65536 characters']],
    ['a result without installed', without('result', 'installed'), ['result: installed: Required value']],
    ['a metric that is not a number', withField('status_report', { metrics: { cpu: 'high' } }), ['status_report: metrics.cpu: Invalid value: "high": must be of type number']],
    ['too many metrics', withField('status_report', { metrics: Object.fromEntries(Array.from({ length: LIMITS.metrics + 1 }, (_, i) => [`m${i}`, i])) }), ['status_report: metrics: Too many: must have at most 100 entries']],
    ['a report timestamp that is not RFC 3339', withField('status_report', { timestamp: 'yesterday' }), ['status_report: timestamp: Invalid value: "yesterday": must be an RFC 3339 date-time']],
    ['a report status from another vocabulary', withField('status_report', { status: 'succeeded' }), ['status_report: status: Unsupported value: "succeeded": supported values: "running", "success", "failed"']],
    ['an unknown control command', withField('control', { command: 'restart' }), ['control: command: Unsupported value: "restart": supported values: "pause", "resume", "cancel", "rollback"']],
    ['a refused control without reason', without('control_ack', 'reason', 1), ['control_ack: reason: Required value']],
    ['an error code with spaces', withField('error', { code: 'bad thing' }), ['error: code: Invalid value: "bad thing": must be a lowercase code']],
  ])('refuses %s, naming the path and the reason', (_name, value, fragments) => {
    const verdict = validateMessage(value);
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    for (const fragment of fragments) expect(verdict.error).toContain(fragment);
  });

  it('reports a bounded number of problems for a message with many', () => {
    const verdict = validateMessage(withField('log', { lines: Array.from({ length: 20 }, () => 7) }));
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.error).toContain('lines[0]: Invalid value: 7: must be of type string');
    expect(verdict.error).toContain('(and 15 more)');
  });

  it.each<[string, boolean]>([
    [PROTOCOL_VERSION, true],
    [`${PROTOCOL_MAJOR}.7`, true],
    [`${PROTOCOL_MAJOR + 1}.0`, false],
    ['0.9', false],
    ['1', false],
    ['1.0.0', false],
  ])('treats protocol version %s as compatible: %s', (version, compatible) => {
    expect(isCompatibleProtocol(version)).toBe(compatible);
  });

  it('redacts the credential and every environment value, leaving the rest', () => {
    const hello = SAMPLES.hello[0] as ProtocolMessage & { type: 'hello' };
    const assign = SAMPLES.task_assign[0] as ProtocolMessage & { type: 'task_assign' };
    const redactedHello = redactMessage(hello);
    const redactedAssign = redactMessage(assign);
    expect(JSON.stringify([redactedHello, redactedAssign])).not.toMatch(/swa_edge-01_4f1c0e9a7b|s3cret/);
    expect(redactedAssign).toMatchObject({ taskId: assign.taskId, env: { DB_PASSWORD: '<redacted>', APP_NAME: '<redacted>' } });
    expect(hello.credential).toBe('swa_edge-01_4f1c0e9a7b');
    expect(redactMessage(SAMPLES.result[0]!)).toBe(SAMPLES.result[0]);
  });

  it("redacts a docker engine's TLS key carried in the config, keeping the certificates", () => {
    const assign = SAMPLES.task_assign[0] as ProtocolMessage & { type: 'task_assign' };
    const withTls = { ...assign, config: { image: 'r/web', engine: { host: 'tcp://10.0.0.5:2376', tls: { ca: 'CA PEM', cert: 'CERT PEM', key: '-----BEGIN PRIVATE KEY-----xyz' } } } };
    const redacted = redactMessage(withTls) as typeof withTls;
    expect(redacted.config.engine).toEqual({ host: 'tcp://10.0.0.5:2376', tls: { ca: 'CA PEM', cert: 'CERT PEM', key: '<redacted>' } });
    expect(withTls.config.engine.tls.key).toBe('-----BEGIN PRIVATE KEY-----xyz');
  });
});
