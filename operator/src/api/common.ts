/** Schemas shared by the four kinds: names, references, selectors, conditions, health checks. */
import { PATTERNS } from './patterns.ts';
import { Obj, StringEnum, StringMap, Type, type Static } from './schema-helpers.ts';

export const API_GROUP = 'shipway.dev';
export const API_VERSION = 'v1alpha1';
export const GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;

/** RFC 1123 label: names of environments, tasks, stages, targets referred to in lists. */
export const DNS_LABEL = PATTERNS.dnsLabel.regex;
/** RFC 1123 subdomain: Kubernetes object names. */
export const DNS_SUBDOMAIN = PATTERNS.dnsSubdomain.regex;

export const Label = (description?: string) =>
  Type.String({ minLength: 1, maxLength: 63, pattern: DNS_LABEL, ...(description ? { description } : {}) });
export const ObjectName = (description?: string) =>
  Type.String({ minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN, ...(description ? { description } : {}) });

export const LocalObjectReference = Obj(
  { name: ObjectName('Name of the object in the same namespace.') },
  { description: 'A reference to an object in the same namespace.' },
);

export const SecretKeySelector = Obj(
  {
    name: ObjectName('Name of the Secret.'),
    key: Type.String({ minLength: 1, maxLength: 253, description: 'Key inside the Secret.' }),
  },
  { description: 'A key of a Secret in the same namespace.' },
);

const LabelSelectorRequirement = Obj({
  key: Type.String({ minLength: 1, maxLength: 317 }),
  operator: StringEnum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
  values: Type.Optional(Type.Array(Type.String({ maxLength: 63 }), { maxItems: 100 })),
}, {
  rules: [
    {
      rule: "self.operator in ['In', 'NotIn'] ? has(self.values) && self.values.size() > 0 : !has(self.values) || self.values.size() == 0",
      message: 'values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist',
      fieldPath: '.values',
    },
  ],
});

export const LabelSelector = Obj(
  {
    matchLabels: Type.Optional(StringMap({ maxProperties: 50 })),
    matchExpressions: Type.Optional(Type.Array(LabelSelectorRequirement, { maxItems: 20 })),
  },
  {
    description: 'A Kubernetes label selector over Targets.',
    rules: [{ rule: 'has(self.matchLabels) || has(self.matchExpressions)', message: 'a selector needs matchLabels or matchExpressions' }],
  },
);
export type LabelSelector = Static<typeof LabelSelector>;

/** Which Targets: by name or by label selector, never both. */
export const TargetSelection = Obj(
  {
    names: Type.Optional(Type.Array(ObjectName(), { minItems: 1, maxItems: 500, 'x-kubernetes-list-type': 'set' })),
    selector: Type.Optional(LabelSelector),
  },
  {
    description: 'Targets by name or by label selector (exactly one).',
    rules: [{ rule: '[has(self.names), has(self.selector)].exists_one(x, x)', message: 'exactly one of names, selector must be set' }],
  },
);
export type TargetSelection = Static<typeof TargetSelection>;

export const Condition = Obj({
  type: Type.String({ minLength: 1, maxLength: 316 }),
  status: StringEnum(['True', 'False', 'Unknown']),
  reason: Type.String({ maxLength: 1024 }),
  message: Type.String({ maxLength: 32768 }),
  lastTransitionTime: Type.String({ format: 'date-time' }),
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type Condition = Static<typeof Condition>;

export const Conditions = ListMapConditions();
function ListMapConditions() {
  return Type.Array(Condition, {
    maxItems: 32,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
    description: 'Standard conditions: Ready, Progressing, Degraded, Failed.',
  });
}

/** Templated strings may hold `${VAR}` references, so URLs are checked by scheme only. */
const TEMPLATED_HTTP_URL = PATTERNS.httpUrl.regex;

export const HealthCheckSpec = Obj(
  {
    type: StringEnum(['http', 'tcp', 'script'], { default: 'http' }),
    url: Type.Optional(Type.String({ maxLength: 2048, pattern: TEMPLATED_HTTP_URL, description: 'http: URL to GET.' })),
    expectStatus: Type.Optional(Type.Integer({ minimum: 100, maximum: 599, description: 'http: expected status (default any 2xx).' })),
    host: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'tcp: host to connect to.' })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'tcp: port to connect to.' })),
    script: Type.Optional(Type.String({ minLength: 1, maxLength: 65536, description: 'script: exits 0 when healthy.' })),
    timeoutSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 10 }),
    retry: Type.Integer({ minimum: 0, maximum: 100, default: 3 }),
    intervalSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 10 }),
    successThreshold: Type.Integer({ minimum: 1, maximum: 100, default: 1 }),
  },
  {
    description: 'An http, tcp or script health check.',
    rules: [
      { rule: "self.type != 'http' || has(self.url)", message: 'url is required for an http health check', fieldPath: '.url', reason: 'FieldValueRequired' },
      { rule: "self.type != 'tcp' || (has(self.host) && has(self.port))", message: 'host and port are required for a tcp health check', fieldPath: '.host', reason: 'FieldValueRequired' },
      { rule: "self.type != 'script' || has(self.script)", message: 'script is required for a script health check', fieldPath: '.script', reason: 'FieldValueRequired' },
      { rule: "self.type == 'http' || !has(self.url)", message: 'url is only allowed for an http health check', fieldPath: '.url', reason: 'FieldValueForbidden' },
    ],
  },
);
export type HealthCheckSpec = Static<typeof HealthCheckSpec>;
