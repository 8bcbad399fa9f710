/**
 * Per-kind behaviour of built-in resources that clients rely on: defaults the server fills in, fields it
 * allocates (Service cluster IPs), immutable fields, and the checks kubectl users meet first.
 */
import { createHash } from 'node:crypto';
import type { FieldError } from './crd-schema.ts';
import type { KubeObject } from './store.ts';

export interface HookContext {
  allocateClusterIP(): string;
}

export interface KindHooks {
  /** Defaults and allocations on create. */
  create?(object: KubeObject, ctx: HookContext): void;
  /** Defaults on update; `current` is the stored object. */
  update?(next: KubeObject, current: KubeObject, ctx: HookContext): void;
  validate?(object: KubeObject, current?: KubeObject): FieldError[];
}

const setDefault = (target: Record<string, any>, key: string, value: unknown) => {
  if (target[key] === undefined) target[key] = value;
};

function imagePullPolicy(image: string | undefined): string {
  const ref = image ?? '';
  const tag = ref.includes('@') ? 'digest' : /:[^/]+$/.test(ref) ? ref.slice(ref.lastIndexOf(':') + 1) : 'latest';
  return tag === 'latest' ? 'Always' : 'IfNotPresent';
}

/** Pod spec defaults, so templates round-trip as they do on a real cluster (rollout undo compares them). */
export function defaultPodSpec(spec: Record<string, any> | undefined, restartPolicy = 'Always'): void {
  if (!spec) return;
  setDefault(spec, 'restartPolicy', restartPolicy);
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'schedulerName', 'default-scheduler');
  setDefault(spec, 'securityContext', {});
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    setDefault(c, 'terminationMessagePath', '/dev/termination-log');
    setDefault(c, 'terminationMessagePolicy', 'File');
    setDefault(c, 'imagePullPolicy', imagePullPolicy(c.image));
    setDefault(c, 'resources', {});
    for (const p of c.ports ?? []) setDefault(p, 'protocol', 'TCP');
  }
}

function templateErrors(object: KubeObject, requireSelector: boolean): FieldError[] {
  const errors: FieldError[] = [];
  const spec = object.spec ?? {};
  const containers = spec.template?.spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    errors.push({ field: 'spec.template.spec.containers', reason: 'FieldValueRequired', message: 'Required value' });
  }
  if (requireSelector) {
    const matchLabels = (spec.selector?.matchLabels ?? {}) as Record<string, string>;
    if (!spec.selector) errors.push({ field: 'spec.selector', reason: 'FieldValueRequired', message: 'Required value' });
    const labels = (spec.template?.metadata?.labels ?? {}) as Record<string, string>;
    if (spec.selector && Object.entries(matchLabels).some(([k, v]) => labels[k] !== v)) {
      errors.push({ field: 'spec.template.metadata.labels', reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\`` });
    }
  }
  return errors;
}

function immutableSelector(object: KubeObject, current?: KubeObject): FieldError[] {
  if (!current || JSON.stringify(object.spec?.selector) === JSON.stringify(current.spec?.selector)) return [];
  return [{ field: 'spec.selector', reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(object.spec?.selector)}: field is immutable` }];
}

const workload = (defaults: (spec: Record<string, any>) => void): KindHooks => ({
  create: (o) => {
    o.spec ??= {};
    defaults(o.spec);
    defaultPodSpec(o.spec.template?.spec);
  },
  update: (o) => {
    o.spec ??= {};
    defaults(o.spec);
    defaultPodSpec(o.spec.template?.spec);
  },
  validate: (o, current) => [...templateErrors(o, true), ...immutableSelector(o, current)],
});

function secretData(o: KubeObject): void {
  setDefault(o, 'type', 'Opaque');
  if (o.stringData) {
    o.data = { ...(o.data ?? {}) };
    for (const [k, v] of Object.entries(o.stringData as Record<string, string>)) o.data[k] = Buffer.from(String(v)).toString('base64');
    delete o.stringData;
  }
}

function serviceDefaults(o: KubeObject, ctx: HookContext, current?: KubeObject): void {
  o.spec ??= {};
  const spec = o.spec;
  setDefault(spec, 'type', 'ClusterIP');
  setDefault(spec, 'sessionAffinity', 'None');
  if (spec.type !== 'ExternalName') {
    if (current?.spec?.clusterIP && !spec.clusterIP) spec.clusterIP = current.spec.clusterIP;
    setDefault(spec, 'clusterIP', ctx.allocateClusterIP());
    spec.clusterIPs = [spec.clusterIP];
    setDefault(spec, 'ipFamilies', ['IPv4']);
    setDefault(spec, 'ipFamilyPolicy', 'SingleStack');
    setDefault(spec, 'internalTrafficPolicy', 'Cluster');
  }
  for (const p of spec.ports ?? []) {
    setDefault(p, 'protocol', 'TCP');
    setDefault(p, 'targetPort', p.port);
  }
}

function jobDefaults(o: KubeObject): void {
  o.spec ??= {};
  const spec = o.spec;
  setDefault(spec, 'parallelism', 1);
  setDefault(spec, 'completions', 1);
  setDefault(spec, 'backoffLimit', 6);
  setDefault(spec, 'completionMode', 'NonIndexed');
  setDefault(spec, 'suspend', false);
  if (!spec.selector && o.metadata.uid) {
    // As the real Job controller's defaulting: a selector on the job's own uid, and the matching labels.
    const uid = o.metadata.uid as string;
    spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
    spec.template ??= {};
    spec.template.metadata ??= {};
    spec.template.metadata.labels = { ...(spec.template.metadata.labels ?? {}), 'batch.kubernetes.io/controller-uid': uid, 'controller-uid': uid, 'batch.kubernetes.io/job-name': o.metadata.name, 'job-name': o.metadata.name };
  }
  defaultPodSpec(spec.template?.spec, 'Never');
}

export const BUILTIN_HOOKS: Record<string, KindHooks> = {
  Namespace: {
    create: (o) => {
      o.spec = { finalizers: ['kubernetes'], ...(o.spec ?? {}) };
      o.status = { phase: 'Active' };
      o.metadata.labels = { ...(o.metadata.labels ?? {}), 'kubernetes.io/metadata.name': o.metadata.name };
    },
    update: (o, current) => {
      o.metadata.labels = { ...(o.metadata.labels ?? {}), 'kubernetes.io/metadata.name': o.metadata.name };
      o.spec = current.spec;
    },
  },
  Secret: { create: secretData, update: secretData },
  Service: { create: (o, ctx) => serviceDefaults(o, ctx), update: (o, current, ctx) => serviceDefaults(o, ctx, current) },
  Deployment: workload((spec) => {
    setDefault(spec, 'replicas', 1);
    setDefault(spec, 'revisionHistoryLimit', 10);
    setDefault(spec, 'progressDeadlineSeconds', 600);
    // As SetDefaults_Deployment: an empty strategy (kubectl create deployment sends `strategy: {}`) is filled in too.
    spec.strategy ??= {};
    setDefault(spec.strategy, 'type', 'RollingUpdate');
    if (spec.strategy.type === 'RollingUpdate') {
      spec.strategy.rollingUpdate ??= {};
      setDefault(spec.strategy.rollingUpdate, 'maxUnavailable', '25%');
      setDefault(spec.strategy.rollingUpdate, 'maxSurge', '25%');
    }
  }),
  ReplicaSet: workload((spec) => setDefault(spec, 'replicas', 1)),
  StatefulSet: workload((spec) => {
    setDefault(spec, 'replicas', 1);
    setDefault(spec, 'podManagementPolicy', 'OrderedReady');
    setDefault(spec, 'revisionHistoryLimit', 10);
    spec.updateStrategy ??= {};
    setDefault(spec.updateStrategy, 'type', 'RollingUpdate');
    if (spec.updateStrategy.type === 'RollingUpdate') {
      spec.updateStrategy.rollingUpdate ??= {};
      setDefault(spec.updateStrategy.rollingUpdate, 'partition', 0);
    }
  }),
  DaemonSet: workload((spec) => {
    setDefault(spec, 'revisionHistoryLimit', 10);
    spec.updateStrategy ??= {};
    setDefault(spec.updateStrategy, 'type', 'RollingUpdate');
    if (spec.updateStrategy.type === 'RollingUpdate') {
      spec.updateStrategy.rollingUpdate ??= {};
      setDefault(spec.updateStrategy.rollingUpdate, 'maxUnavailable', 1);
      setDefault(spec.updateStrategy.rollingUpdate, 'maxSurge', 0);
    }
  }),
  Job: { create: jobDefaults, validate: (o) => templateErrors(o, false) },
  Pod: {
    create: (o) => {
      defaultPodSpec(o.spec);
      o.status = { phase: 'Pending', qosClass: 'BestEffort' };
    },
    validate: (o) => (Array.isArray(o.spec?.containers) && o.spec.containers.length > 0 ? [] : [{ field: 'spec.containers', reason: 'FieldValueRequired', message: 'Required value' }]),
  },
};

/** The pod-template-hash a Deployment's ReplicaSet carries: stable for equal (normalised) templates. */
export function templateHash(template: unknown): string {
  const digest = createHash('sha256').update(JSON.stringify(normalise(template))).digest();
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let out = '';
  for (let i = 0; i < 10; i++) out += alphabet[digest[i]! % alphabet.length];
  return out;
}

/** Sorted keys, without nulls and empty objects: `rollout undo` sends `creationTimestamp: null` and `resources: {}`. */
export function normalise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalise);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = normalise((value as Record<string, unknown>)[key]);
    if (v === null || v === undefined) continue;
    if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    out[key] = v;
  }
  return out;
}
