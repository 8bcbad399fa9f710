/** Target: one place something is deployed — a Kubernetes workload, or a host an agent serves. */
import { Conditions, Label, ObjectName, SecretKeySelector } from './common.ts';
import { PATTERNS } from './patterns.ts';
import { blockRules, Obj, StringEnum, Type, type Static } from './schema-helpers.ts';

export const TARGET_TYPES = ['kubernetes', 'docker', 'script', 'gitpull'] as const;
export type TargetType = (typeof TARGET_TYPES)[number];
export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;
export const TARGET_PHASES = ['Online', 'Offline', 'Unknown'] as const;
export const INSTALLATION_STATES = ['installed', 'uninstalled', 'failed', 'unknown'] as const;

/**
 * The installation rows an agent's own report (its hello) is kept under: `agent:<id>/<type>`, beside a
 * Target's rows (`namespace/name`); `agent:<id>` for agents that do not say which executor installed an app.
 */
export const agentInstallationsTarget = (agentId: string, targetType?: string): string => `agent:${agentId}${targetType ? `/${targetType}` : ''}`;

const KubernetesTargetSpec = Obj(
  {
    namespace: Label('Namespace of the workload.'),
    kind: StringEnum(WORKLOAD_KINDS, { default: 'Deployment' }),
    name: ObjectName('Name of the workload.'),
    container: Type.Optional(Label('Container whose image is set; defaults to the first container.')),
    service: Type.Optional(ObjectName('Service whose selector a blue-green switch moves.')),
    kubeconfigSecretRef: Type.Optional(SecretKeySelector),
  },
  { description: "A workload; without kubeconfigSecretRef it lives in the operator's own cluster." },
);

const DockerTargetSpec = Obj({
  host: Type.Optional(Type.String({ maxLength: 1024, pattern: PATTERNS.dockerHost.regex, description: 'Docker engine address seen by the agent; default its local socket.' })),
  tlsSecretRef: Type.Optional(Type.String({ maxLength: 253, description: 'Secret with ca.pem, cert.pem, key.pem for a TLS engine.' })),
});

const HostTargetSpec = Obj({
  workDir: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, pattern: PATTERNS.absolutePath.regex, description: 'Base work directory (absolute).' })),
  user: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'User the agent runs the work as.' })),
  backupDir: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, pattern: PATTERNS.absolutePath.regex, description: 'Where backups are kept (absolute).' })),
});

export const TargetSpec = Obj(
  {
    type: StringEnum(TARGET_TYPES, { description: 'kubernetes runs in the operator; the others through an agent.' }),
    environment: Label('Environment this target belongs to, e.g. pre or prod.'),
    priority: Type.Integer({ minimum: 0, maximum: 10000, default: 0, description: 'Order in multi-cluster canaries (lower first).' }),
    host: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'Host name or address, exposed as TARGET_HOST.' })),
    agent: Type.Optional(Label('Id of the agent serving this target (docker, script, gitpull).')),
    kubernetes: Type.Optional(KubernetesTargetSpec),
    docker: Type.Optional(DockerTargetSpec),
    script: Type.Optional(HostTargetSpec),
    gitpull: Type.Optional(HostTargetSpec),
  },
  {
    rules: [
      ...blockRules('type', [
        { value: 'kubernetes', block: 'kubernetes', required: true },
        { value: 'docker', block: 'docker', required: false },
        { value: 'script', block: 'script', required: false },
        { value: 'gitpull', block: 'gitpull', required: false },
      ]),
      { rule: "self.type == 'kubernetes' || has(self.agent)", message: 'agent is required for docker, script and gitpull targets', fieldPath: '.agent', reason: 'FieldValueRequired' },
      { rule: "self.type != 'kubernetes' || !has(self.agent)", message: 'agent is not used by kubernetes targets', fieldPath: '.agent', reason: 'FieldValueForbidden' },
    ],
  },
);
export type TargetSpec = Static<typeof TargetSpec>;

const Installation = Obj({
  app: Type.String({ minLength: 1, maxLength: 253 }),
  version: Type.Optional(Type.String({ maxLength: 256 })),
  state: StringEnum(INSTALLATION_STATES),
  updatedAt: Type.Optional(Type.String({ format: 'date-time' })),
});

export const TargetStatus = Obj({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  phase: Type.Optional(StringEnum(TARGET_PHASES)),
  lastSeenAt: Type.Optional(Type.String({ format: 'date-time' })),
  agentVersion: Type.Optional(Type.String({ maxLength: 64 })),
  installations: Type.Optional(Type.Array(Installation, { maxItems: 500, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['app'] })),
  conditions: Type.Optional(Conditions),
});
export type TargetStatus = Static<typeof TargetStatus>;
