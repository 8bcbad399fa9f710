/**
 * How lists merge, per built-in kind: the `patchStrategy`/`patchMergeKey` struct tags of k8s.io/api,
 * written out as a table. A path is the dotted field path with list items left out
 * (`spec.template.spec.containers.env` is the `env` of every container). A value is the merge key of a
 * list of objects, or {@link PRIMITIVE_SET} for a list of scalars with `patchStrategy: merge` (a set, like
 * `metadata.finalizers`). Lists not in the table are atomic: a patch replaces them whole.
 *
 * Strategic merge patch uses the table for merging; server-side apply uses it for ownership (`k:`/`v:`
 * path elements) and merging. SSA's real schema keys some lists by several fields (container ports by
 * `containerPort` and `protocol`); we key every list by its single strategic merge key.
 */

export const PRIMITIVE_SET = '$set';

export type ListRule = { type: 'map'; key: string } | { type: 'set' } | { type: 'atomic' };

type Rules = Record<string, string>;

const OBJECT_META: Rules = { finalizers: PRIMITIVE_SET, ownerReferences: 'uid' };

const CONTAINER: Rules = { ports: 'containerPort', env: 'name', volumeMounts: 'mountPath', volumeDevices: 'devicePath' };

const POD_SPEC: Rules = {
  volumes: 'name',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  schedulingGates: 'name',
  resourceClaims: 'name',
  ...nest({ containers: 'name', initContainers: 'name', ephemeralContainers: 'name' }, CONTAINER),
};

const POD_STATUS: Rules = { conditions: 'type', podIPs: 'ip', hostIPs: 'ip', resourceClaimStatuses: 'name' };

/** `containers: name` plus `containers.env: name` and so on: list rules with the rules of their items. */
function nest(lists: Rules, itemRules: Rules): Rules {
  const out: Rules = { ...lists };
  for (const list of Object.keys(lists)) for (const [path, key] of Object.entries(itemRules)) out[`${list}.${path}`] = key;
  return out;
}

function under(prefix: string, rules: Rules): Rules {
  return Object.fromEntries(Object.entries(rules).map(([path, key]) => [`${prefix}.${path}`, key]));
}

/** A pod template at `prefix`: its metadata and its pod spec. */
const podTemplate = (prefix: string): Rules => ({ ...under(`${prefix}.metadata`, OBJECT_META), ...under(`${prefix}.spec`, POD_SPEC) });

const CONDITIONS: Rules = { 'status.conditions': 'type' };

/** Rules every kind shares: its ObjectMeta. Custom resources get these only. */
export const COMMON_RULES: Readonly<Rules> = under('metadata', OBJECT_META);

/** Kind → path → merge key (or {@link PRIMITIVE_SET}); see the module comment. `*` holds the rules of every kind. */
export const strategicMergeKeys: Readonly<Record<string, Readonly<Rules>>> = {
  '*': COMMON_RULES,
  Pod: { ...under('spec', POD_SPEC), ...under('status', POD_STATUS) },
  PodTemplate: podTemplate('template'),
  ReplicationController: { ...podTemplate('spec.template'), ...CONDITIONS },
  Deployment: { ...podTemplate('spec.template'), ...CONDITIONS },
  ReplicaSet: { ...podTemplate('spec.template'), ...CONDITIONS },
  StatefulSet: { ...podTemplate('spec.template'), ...CONDITIONS },
  DaemonSet: { ...podTemplate('spec.template'), ...CONDITIONS },
  Job: { ...podTemplate('spec.template'), ...CONDITIONS },
  CronJob: { ...under('spec.jobTemplate.metadata', OBJECT_META), ...podTemplate('spec.jobTemplate.spec.template') },
  Service: { 'spec.ports': 'port', ...CONDITIONS },
  Namespace: CONDITIONS,
  Node: { 'spec.podCIDRs': PRIMITIVE_SET, 'status.conditions': 'type', 'status.addresses': 'type' },
  PersistentVolumeClaim: CONDITIONS,
  ServiceAccount: { secrets: 'name' },
  // Maps only, or lists that are atomic (Endpoints subsets, Event related/series): nothing to merge by key.
  ConfigMap: {},
  Secret: {},
  Event: {},
  Endpoints: {},
};

/** The API group of each kind in the table: a custom resource may reuse a built-in kind's name. */
const BUILT_IN_GROUPS: Readonly<Record<string, string>> = {
  Pod: '',
  PodTemplate: '',
  ReplicationController: '',
  Service: '',
  Namespace: '',
  Node: '',
  PersistentVolumeClaim: '',
  ServiceAccount: '',
  ConfigMap: '',
  Secret: '',
  Endpoints: '',
  Event: '',
  Deployment: 'apps',
  ReplicaSet: 'apps',
  StatefulSet: 'apps',
  DaemonSet: 'apps',
  Job: 'batch',
  CronJob: 'batch',
};

export type ListRules = (fieldPath: readonly string[]) => ListRule;

/**
 * The list rules of a group/kind. `events.k8s.io` Events share core Events' (empty) rules; kinds we do not
 * know, custom resources included, get the ObjectMeta rules only.
 */
export function listRulesFor(gvk: { group: string; kind: string }): ListRules {
  const known = BUILT_IN_GROUPS[gvk.kind] === gvk.group || (gvk.kind === 'Event' && gvk.group === 'events.k8s.io');
  const rules: Rules = { ...COMMON_RULES, ...(known ? strategicMergeKeys[gvk.kind] : {}) };
  return (fieldPath) => {
    const key = rules[fieldPath.join('.')];
    if (key === undefined) return { type: 'atomic' };
    return key === PRIMITIVE_SET ? { type: 'set' } : { type: 'map', key };
  };
}
