/**
 * Decoding of `application/vnd.kubernetes.protobuf` request bodies into the JSON the rest of the emulator
 * speaks, as a real API server accepts them for built-in kinds: kubectl >= 1.32 and helm send typed creates,
 * updates and DeleteOptions as protobuf, with no fallback to JSON.
 *
 * Wire format: the magic `k8s\0`, then a `runtime.Unknown` {typeMeta {apiVersion, kind}, raw, ...} whose
 * `raw` is the object's message. Field tables: `protobuf-schema.ts` (generated from the k8s.io descriptors).
 * Go's encoder writes every non-pointer field, zero or not; JSON omits those zeros (`omitempty`), so zero
 * scalars are dropped here, except for the pointer fields below, whose presence on the wire means "set".
 */
import { PROTOBUF_MESSAGES } from './protobuf-schema.ts';

export class ProtobufError extends Error {
  override name = 'ProtobufError';
}

export interface WireField {
  number: number;
  wireType: number;
  /** Varint and fixed values. */
  value?: bigint;
  /** Length-delimited values. */
  bytes?: Uint8Array;
}

export const PROTOBUF_MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Splits one message into its fields, in wire order. */
export function readMessage(bytes: Uint8Array): WireField[] {
  const out: WireField[] = [];
  let i = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= bytes.length) throw new ProtobufError('truncated varint');
      const b = bytes[i++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result;
      shift += 7n;
      if (shift > 70n) throw new ProtobufError('varint too long');
    }
  };
  while (i < bytes.length) {
    const key = varint();
    const number = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (number === 0) throw new ProtobufError('field number 0');
    if (wireType === 0) out.push({ number, wireType, value: varint() });
    else if (wireType === 2) {
      const length = Number(varint());
      if (i + length > bytes.length) throw new ProtobufError('truncated length-delimited field');
      out.push({ number, wireType, bytes: bytes.subarray(i, i + length) });
      i += length;
    } else if (wireType === 1 || wireType === 5) {
      const size = wireType === 1 ? 8 : 4;
      if (i + size > bytes.length) throw new ProtobufError('truncated fixed field');
      let value = 0n;
      for (let k = size - 1; k >= 0; k--) value = (value << 8n) | BigInt(bytes[i + k]!);
      out.push({ number, wireType, value });
      i += size;
    } else {
      throw new ProtobufError(`unsupported wire type ${wireType}`);
    }
  }
  return out;
}

export interface FieldSpec {
  name: string;
  number: number;
  /** `s` `i` `b` `y` `d`, or a message name. */
  type: string;
  message: boolean;
  repeated: boolean;
  map: boolean;
}

const compiled = new Map<string, Map<number, FieldSpec>>();

function spec(message: string): Map<number, FieldSpec> | undefined {
  let fields = compiled.get(message);
  if (fields) return fields;
  const source = PROTOBUF_MESSAGES[message];
  if (source === undefined) return undefined;
  fields = new Map();
  for (const token of source.split(' ').filter(Boolean)) {
    const [name, number, rawType] = token.split(':') as [string, string, string];
    const map = rawType.startsWith('{');
    const repeated = rawType.endsWith('*');
    const type = rawType.replace(/^\{|\}$|\*$/g, '');
    fields.set(Number(number), { name, number: Number(number), type: type.replace(/^@/, ''), message: type.startsWith('@'), repeated, map });
  }
  compiled.set(message, fields);
  return fields;
}

/** The fields of a message (see protobuf-schema.ts), or undefined when the message is not known. */
export function messageFields(message: string): FieldSpec[] | undefined {
  const fields = spec(message);
  return fields ? [...fields.values()] : undefined;
}

/** Messages with a scalar JSON form: Time, IntOrString, Quantity, RawExtension, FieldsV1, Duration. */
export const SCALAR_MESSAGES: Readonly<Record<string, Record<string, unknown>>> = {
  'apimachinery.pkg.apis.meta.v1.Time': { type: 'string', format: 'date-time' },
  'apimachinery.pkg.apis.meta.v1.MicroTime': { type: 'string', format: 'date-time' },
  'apimachinery.pkg.util.intstr.IntOrString': { type: 'string', format: 'int-or-string', 'x-kubernetes-int-or-string': true },
  'apimachinery.pkg.api.resource.Quantity': { type: 'string', 'x-kubernetes-int-or-string': true },
  'apimachinery.pkg.runtime.RawExtension': { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  'apimachinery.pkg.apis.meta.v1.FieldsV1': { type: 'object' },
  'apimachinery.pkg.apis.meta.v1.Duration': { type: 'string' },
};

/**
 * Pointer fields of the served kinds (`*int32`, `*bool`, `*string` ...): Go writes them only when set, so a
 * zero on the wire is a value the client chose (replicas: 0, automountServiceAccountToken: false).
 */
const POINTER_FIELDS = new Set(
  [
    'meta.v1.ObjectMeta.deletionGracePeriodSeconds',
    'meta.v1.OwnerReference.controller',
    'meta.v1.OwnerReference.blockOwnerDeletion',
    'meta.v1.DeleteOptions.gracePeriodSeconds',
    'meta.v1.DeleteOptions.orphanDependents',
    'meta.v1.DeleteOptions.propagationPolicy',
    'meta.v1.DeleteOptions.ignoreStoreReadErrorWithClusterBreakingPotential',
    'meta.v1.Preconditions.uid',
    'meta.v1.Preconditions.resourceVersion',
    'core.v1.ConfigMap.immutable',
    'core.v1.Secret.immutable',
    'core.v1.ServiceAccount.automountServiceAccountToken',
    'core.v1.PodSpec.terminationGracePeriodSeconds',
    'core.v1.PodSpec.activeDeadlineSeconds',
    'core.v1.PodSpec.automountServiceAccountToken',
    'core.v1.PodSpec.shareProcessNamespace',
    'core.v1.PodSpec.priority',
    'core.v1.PodSpec.enableServiceLinks',
    'core.v1.PodSpec.preemptionPolicy',
    'core.v1.PodSpec.setHostnameAsFQDN',
    'core.v1.PodSpec.hostUsers',
    'core.v1.PodSpec.runtimeClassName',
    'core.v1.Container.restartPolicy',
    'core.v1.PodSecurityContext.runAsUser',
    'core.v1.PodSecurityContext.runAsGroup',
    'core.v1.PodSecurityContext.runAsNonRoot',
    'core.v1.PodSecurityContext.fsGroup',
    'core.v1.PodSecurityContext.fsGroupChangePolicy',
    'core.v1.PodSecurityContext.supplementalGroupsPolicy',
    'core.v1.SecurityContext.privileged',
    'core.v1.SecurityContext.runAsUser',
    'core.v1.SecurityContext.runAsGroup',
    'core.v1.SecurityContext.runAsNonRoot',
    'core.v1.SecurityContext.readOnlyRootFilesystem',
    'core.v1.SecurityContext.allowPrivilegeEscalation',
    'core.v1.SecurityContext.procMount',
    'core.v1.Probe.terminationGracePeriodSeconds',
    'core.v1.ConfigMapVolumeSource.defaultMode',
    'core.v1.ConfigMapVolumeSource.optional',
    'core.v1.SecretVolumeSource.defaultMode',
    'core.v1.SecretVolumeSource.optional',
    'core.v1.ProjectedVolumeSource.defaultMode',
    'core.v1.DownwardAPIVolumeSource.defaultMode',
    'core.v1.KeyToPath.mode',
    'core.v1.ConfigMapKeySelector.optional',
    'core.v1.SecretKeySelector.optional',
    'core.v1.ConfigMapEnvSource.optional',
    'core.v1.SecretEnvSource.optional',
    'core.v1.ConfigMapProjection.optional',
    'core.v1.SecretProjection.optional',
    'core.v1.ServiceSpec.allocateLoadBalancerNodePorts',
    'core.v1.ServiceSpec.ipFamilyPolicy',
    'core.v1.ServiceSpec.internalTrafficPolicy',
    'core.v1.ServiceSpec.loadBalancerClass',
    'core.v1.ServiceSpec.trafficDistribution',
    'core.v1.ServicePort.appProtocol',
    'core.v1.PersistentVolumeClaimSpec.storageClassName',
    'core.v1.PersistentVolumeClaimSpec.volumeMode',
    'core.v1.PersistentVolumeClaimSpec.volumeAttributesClassName',
    'apps.v1.DeploymentSpec.replicas',
    'apps.v1.DeploymentSpec.revisionHistoryLimit',
    'apps.v1.DeploymentSpec.progressDeadlineSeconds',
    'apps.v1.ReplicaSetSpec.replicas',
    'apps.v1.StatefulSetSpec.replicas',
    'apps.v1.StatefulSetSpec.revisionHistoryLimit',
    'apps.v1.RollingUpdateStatefulSetStrategy.partition',
    'apps.v1.DaemonSetSpec.revisionHistoryLimit',
    'batch.v1.JobSpec.parallelism',
    'batch.v1.JobSpec.completions',
    'batch.v1.JobSpec.activeDeadlineSeconds',
    'batch.v1.JobSpec.backoffLimit',
    'batch.v1.JobSpec.backoffLimitPerIndex',
    'batch.v1.JobSpec.maxFailedIndexes',
    'batch.v1.JobSpec.ttlSecondsAfterFinished',
    'batch.v1.JobSpec.manualSelector',
    'batch.v1.JobSpec.suspend',
    'batch.v1.JobSpec.completionMode',
    'batch.v1.JobSpec.podReplacementPolicy',
    'batch.v1.JobSpec.managedBy',
    'batch.v1.CronJobSpec.startingDeadlineSeconds',
    'batch.v1.CronJobSpec.suspend',
    'batch.v1.CronJobSpec.successfulJobsHistoryLimit',
    'batch.v1.CronJobSpec.failedJobsHistoryLimit',
    'batch.v1.CronJobSpec.timeZone',
    'coordination.v1.LeaseSpec.holderIdentity',
    'coordination.v1.LeaseSpec.leaseDurationSeconds',
    'coordination.v1.LeaseSpec.leaseTransitions',
    'coordination.v1.LeaseSpec.strategy',
    'coordination.v1.LeaseSpec.preferredHolder',
  ].map((f) => `${f.startsWith('meta.') ? 'apimachinery.pkg.apis.' : 'api.'}${f}`),
);

const TIME_MESSAGES = new Set(['apimachinery.pkg.apis.meta.v1.Time', 'apimachinery.pkg.apis.meta.v1.MicroTime']);

function isZeroMessage(bytes: Uint8Array): boolean {
  try {
    return readMessage(bytes).every((f) => (f.bytes ? f.bytes.length === 0 || isZeroMessage(f.bytes) : f.value === 0n));
  } catch {
    return false;
  }
}

const toNumber = (v: bigint) => Number(BigInt.asIntN(64, v));

function rfc3339(seconds: number, nanos: number, micro: boolean): string {
  const iso = new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, '');
  return micro ? `${iso}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${iso}Z`;
}

/** A scalar's JSON value, or undefined for a zero that JSON would omit. */
function scalar(type: string, f: WireField, keepZero: boolean): unknown {
  let value: unknown;
  switch (type) {
    case 's':
      value = Buffer.from(f.bytes ?? []).toString('utf8');
      return value === '' && !keepZero ? undefined : value;
    case 'y':
      return Buffer.from(f.bytes ?? []).toString('base64');
    case 'b':
      value = f.value !== 0n;
      return value === false && !keepZero ? undefined : value;
    case 'i':
      value = toNumber(f.value ?? 0n);
      return value === 0 && !keepZero ? undefined : value;
    case 'd': {
      const buffer = Buffer.alloc(8);
      buffer.writeBigUInt64LE(f.value ?? 0n);
      value = f.wireType === 5 ? buffer.readFloatLE(0) : buffer.readDoubleLE(0);
      return value === 0 && !keepZero ? undefined : value;
    }
    default:
      throw new ProtobufError(`unknown scalar type ${type}`);
  }
}

/** Packed repeated scalars (proto3 style) are accepted as well as one field per element. */
function repeatedScalars(type: string, f: WireField): unknown[] {
  if (f.wireType !== 2 || type === 's' || type === 'y') return [scalar(type, f, true)];
  const out: unknown[] = [];
  const bytes = f.bytes!;
  let i = 0;
  while (i < bytes.length) {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = bytes[i++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7n;
    }
    out.push(type === 'b' ? result !== 0n : toNumber(result));
  }
  return out;
}

/** Special messages that have a scalar JSON form; undefined when `message` is an ordinary one. */
function special(message: string, bytes: Uint8Array): { value: unknown } | undefined {
  const fields = () => readMessage(bytes);
  const get = (n: number) => fields().find((f) => f.number === n);
  if (TIME_MESSAGES.has(message)) {
    const seconds = toNumber(get(1)?.value ?? 0n);
    const nanos = toNumber(get(2)?.value ?? 0n);
    if (seconds === 0 && nanos === 0) return { value: undefined };
    return { value: rfc3339(seconds, nanos, message.endsWith('MicroTime')) };
  }
  if (message === 'apimachinery.pkg.util.intstr.IntOrString') {
    const type = toNumber(get(1)?.value ?? 0n);
    return { value: type === 1 ? Buffer.from(get(3)?.bytes ?? []).toString('utf8') : toNumber(get(2)?.value ?? 0n) };
  }
  if (message === 'apimachinery.pkg.api.resource.Quantity') return { value: Buffer.from(get(1)?.bytes ?? []).toString('utf8') };
  if (message === 'apimachinery.pkg.runtime.RawExtension' || message === 'apimachinery.pkg.apis.meta.v1.FieldsV1') {
    const raw = Buffer.from(get(1)?.bytes ?? []).toString('utf8');
    if (raw === '') return { value: undefined };
    try {
      return { value: JSON.parse(raw) };
    } catch {
      throw new ProtobufError(`${message} does not hold JSON`);
    }
  }
  if (message === 'apimachinery.pkg.apis.meta.v1.Duration') {
    const ns = toNumber(get(1)?.value ?? 0n);
    return { value: `${ns / 1e9}s` };
  }
  return undefined;
}

/** One message as JSON. Unknown fields holding only zeros are skipped; any other unknown field is an error. */
export function decodeMessage(message: string, bytes: Uint8Array): Record<string, unknown> {
  const fields = spec(message);
  if (!fields) throw new ProtobufError(`no protobuf schema for ${message}`);
  const out: Record<string, unknown> = {};
  for (const f of readMessage(bytes)) {
    const s = fields.get(f.number);
    if (!s) {
      if ((f.bytes && (f.bytes.length === 0 || isZeroMessage(f.bytes))) || f.value === 0n) continue;
      throw new ProtobufError(`field ${f.number} of ${message} is not known to the emulator`);
    }
    if (s.map) {
      const entry = readMessage(f.bytes ?? new Uint8Array());
      const key = Buffer.from(entry.find((e) => e.number === 1)?.bytes ?? []).toString('utf8');
      const valueField = entry.find((e) => e.number === 2);
      const value = s.message ? messageValue(s.type, valueField?.bytes ?? new Uint8Array()) : valueField ? scalar(s.type, valueField, true) : s.type === 's' ? '' : s.type === 'y' ? '' : s.type === 'b' ? false : 0;
      const map = (out[s.name] ??= {}) as Record<string, unknown>;
      map[key] = value;
      continue;
    }
    if (s.repeated) {
      const list = (out[s.name] ??= []) as unknown[];
      if (s.message) list.push(messageValue(s.type, f.bytes ?? new Uint8Array()) ?? null);
      else list.push(...repeatedScalars(s.type, f));
      continue;
    }
    const value = s.message ? messageValue(s.type, f.bytes ?? new Uint8Array()) : scalar(s.type, f, POINTER_FIELDS.has(`${message}.${s.name}`));
    if (value === undefined) delete out[s.name];
    else out[s.name] = value;
  }
  return out;
}

function messageValue(message: string, bytes: Uint8Array): unknown {
  const sp = special(message, bytes);
  return sp ? sp.value : decodeMessage(message, bytes);
}

/** The message of a kind: `apps/v1` Deployment → `api.apps.v1.Deployment`; meta kinds (DeleteOptions) too. */
export function messageFor(apiVersion: string, kind: string): string | undefined {
  const [group, version] = apiVersion.includes('/') ? (apiVersion.split('/') as [string, string]) : ['', apiVersion];
  const pkg = group === '' ? 'core' : group.split('.')[0]!;
  const candidates = [`api.${pkg}.${version}.${kind}`, `apimachinery.pkg.apis.meta.${version}.${kind}`, `apimachinery.pkg.apis.meta.v1.${kind}`];
  return candidates.find((c) => PROTOBUF_MESSAGES[c] !== undefined);
}

/** A whole request body: the `k8s\0` envelope and the object inside, as JSON with apiVersion and kind. */
export function decodeKubernetesProtobuf(body: Uint8Array): Record<string, unknown> {
  if (body.length < 4 || !PROTOBUF_MAGIC.equals(Buffer.from(body.subarray(0, 4)))) throw new ProtobufError('missing the k8s protobuf envelope');
  const unknown = readMessage(body.subarray(4));
  const typeMeta = readMessage(unknown.find((f) => f.number === 1)?.bytes ?? new Uint8Array());
  const apiVersion = Buffer.from(typeMeta.find((f) => f.number === 1)?.bytes ?? []).toString('utf8');
  const kind = Buffer.from(typeMeta.find((f) => f.number === 2)?.bytes ?? []).toString('utf8');
  const encoding = Buffer.from(unknown.find((f) => f.number === 3)?.bytes ?? []).toString('utf8');
  if (encoding !== '') throw new ProtobufError(`unsupported contentEncoding ${encoding}`);
  const message = messageFor(apiVersion, kind);
  if (!message) throw new ProtobufError(`no protobuf schema for ${apiVersion}, Kind=${kind}`);
  const object = decodeMessage(message, unknown.find((f) => f.number === 2)?.bytes ?? new Uint8Array());
  return { apiVersion, kind, ...object };
}
