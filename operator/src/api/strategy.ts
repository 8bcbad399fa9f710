/** Rollout strategies of an environment: rolling, canary (incl. multi-cluster ordered) and blue-green. */
import { HealthCheckSpec, LabelSelector, ObjectName } from './common.ts';
import { blockRules, exactlyOne, Obj, StringEnum, Type, type Static } from './schema-helpers.ts';

export const STRATEGY_TYPES = ['rolling', 'canary', 'blueGreen'] as const;

const RollingStrategy = Obj({
  batchSize: Type.Integer({ minimum: 1, maximum: 1000, default: 1, description: 'Targets updated at once.' }),
  batchIntervalSeconds: Type.Integer({ minimum: 0, maximum: 86400, default: 0 }),
});

export const ClusterOrderStep = Obj(
  {
    priority: Type.Integer({ minimum: 0, maximum: 10000 }),
    targets: Type.Array(ObjectName(), { minItems: 1, maxItems: 100, 'x-kubernetes-list-type': 'set' }),
    verifySeconds: Type.Integer({ minimum: 0, maximum: 604800, default: 0 }),
    approvalRequired: Type.Boolean({ default: false }),
    canaryPercent: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    fullRollout: Type.Boolean({ default: false }),
  },
  { rules: [{ rule: '!(has(self.canaryPercent) && self.fullRollout)', message: 'canaryPercent and fullRollout exclude each other', fieldPath: '.canaryPercent' }] },
);
export type ClusterOrderStep = Static<typeof ClusterOrderStep>;

const CanaryStrategy = Obj(
  {
    percent: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Share of the targets updated first.' })),
    targets: Type.Optional(Type.Array(ObjectName(), { minItems: 1, maxItems: 500, 'x-kubernetes-list-type': 'set', description: 'Explicit canary targets.' })),
    selector: Type.Optional(LabelSelector),
    clusterOrder: Type.Optional(Type.Array(ClusterOrderStep, { minItems: 1, maxItems: 20, description: 'Multi-cluster ordered canary steps.' })),
    verifySeconds: Type.Integer({ minimum: 0, maximum: 604800, default: 300 }),
    healthCheck: Type.Optional(HealthCheckSpec),
    autoPromote: Type.Boolean({ default: false }),
    autoRollback: Type.Boolean({ default: true }),
  },
  {
    rules: [
      exactlyOne(['percent', 'targets', 'selector', 'clusterOrder'], 'exactly one of percent, targets, selector, clusterOrder must be set'),
      {
        rule: '!has(self.clusterOrder) || self.clusterOrder.all(s, self.clusterOrder.exists_one(o, o.priority == s.priority))',
        message: 'clusterOrder priorities must be unique',
        fieldPath: '.clusterOrder',
        reason: 'FieldValueDuplicate',
      },
    ],
  },
);

const BlueGreenStrategy = Obj({
  switchTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 86400, default: 300 }),
  keepOldVersion: Type.Boolean({ default: true, description: 'Keep the old workload after the switch, for instant rollback.' }),
});

export const Strategy = Obj(
  {
    type: StringEnum(STRATEGY_TYPES, { default: 'rolling' }),
    rolling: Type.Optional(RollingStrategy),
    canary: Type.Optional(CanaryStrategy),
    blueGreen: Type.Optional(BlueGreenStrategy),
  },
  {
    rules: blockRules('type', [
      { value: 'rolling', block: 'rolling', required: false },
      { value: 'canary', block: 'canary', required: true },
      { value: 'blueGreen', block: 'blueGreen', required: false },
    ]),
  },
);
export type Strategy = Static<typeof Strategy>;
