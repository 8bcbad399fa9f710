/** The resource types the emulator serves: built-in kinds and the ones CustomResourceDefinitions add. */

export interface ScaleSpec {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

export interface PrinterColumnSpec {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

export interface ResourceType {
  group: string;
  /** Served versions, storage version first. */
  versions: string[];
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
  status: boolean;
  scale?: ScaleSpec;
  /** Verbs of the main resource as discovery reports them. */
  verbs: string[];
  /** Spec changes bump metadata.generation (CRDs and workload kinds). */
  generation: boolean;
  /**
   * Fields a field selector may use besides metadata.name and metadata.namespace, for kinds the built-in
   * tables of `builtinFieldSelectors` do not cover (CRD selectable fields, events.k8s.io Events).
   */
  fieldSelectors: string[];
  /** Strategic merge patch is served (built-in kinds only). */
  strategicMerge: boolean;
  /** Set for kinds defined by a CRD: its uid, the schema per version and printer columns. */
  crd?: {
    name: string;
    schemas: Record<string, Record<string, unknown> | undefined>;
    printerColumns: Record<string, PrinterColumnSpec[] | undefined>;
  };
  /** Kinds that only accept create (reviews); nothing is stored. */
  createOnly?: boolean;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

interface BuiltinInput {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  status?: boolean;
  scale?: boolean;
  generation?: boolean;
  fieldSelectors?: string[];
  createOnly?: boolean;
}

function builtin(input: BuiltinInput): ResourceType {
  return {
    group: input.group,
    versions: [input.version],
    kind: input.kind,
    listKind: `${input.kind}List`,
    plural: input.plural,
    singular: input.kind.toLowerCase(),
    shortNames: input.shortNames ?? [],
    categories: input.categories ?? [],
    namespaced: input.namespaced,
    status: input.status ?? false,
    ...(input.scale ? { scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' } } : {}),
    verbs: input.createOnly ? ['create'] : ALL_VERBS,
    generation: input.generation ?? false,
    fieldSelectors: input.fieldSelectors ?? [],
    strategicMerge: true,
    ...(input.createOnly ? { createOnly: true } : {}),
  };
}

const WORKLOAD = { status: true, scale: true, generation: true, categories: ['all'] };

export const BUILTIN_TYPES: readonly ResourceType[] = [
  builtin({ group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false, shortNames: ['ns'], status: true }),
  builtin({ group: '', version: 'v1', kind: 'Node', plural: 'nodes', namespaced: false, shortNames: ['no'], status: true }),
  builtin({ group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true, shortNames: ['cm'] }),
  builtin({ group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true }),
  builtin({ group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true, shortNames: ['sa'] }),
  builtin({ group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true, shortNames: ['svc'], status: true, categories: ['all'] }),
  builtin({ group: '', version: 'v1', kind: 'Endpoints', plural: 'endpoints', namespaced: true, shortNames: ['ep'] }),
  builtin({ group: '', version: 'v1', kind: 'PersistentVolumeClaim', plural: 'persistentvolumeclaims', namespaced: true, shortNames: ['pvc'], status: true }),
  builtin({
    group: '', version: 'v1', kind: 'Event', plural: 'events', namespaced: true, shortNames: ['ev'],
  }),
  builtin({ group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true, shortNames: ['po'], status: true, categories: ['all'] }),
  builtin({ group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true, shortNames: ['deploy'], ...WORKLOAD }),
  builtin({ group: 'apps', version: 'v1', kind: 'ReplicaSet', plural: 'replicasets', namespaced: true, shortNames: ['rs'], ...WORKLOAD }),
  builtin({ group: 'apps', version: 'v1', kind: 'StatefulSet', plural: 'statefulsets', namespaced: true, shortNames: ['sts'], ...WORKLOAD }),
  builtin({ group: 'apps', version: 'v1', kind: 'DaemonSet', plural: 'daemonsets', namespaced: true, shortNames: ['ds'], status: true, generation: true, categories: ['all'] }),
  builtin({ group: 'apps', version: 'v1', kind: 'ControllerRevision', plural: 'controllerrevisions', namespaced: true }),
  builtin({ group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', namespaced: true, status: true, generation: true, categories: ['all'] }),
  builtin({ group: 'batch', version: 'v1', kind: 'CronJob', plural: 'cronjobs', namespaced: true, shortNames: ['cj'], status: true, generation: true, categories: ['all'] }),
  builtin({ group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true }),
  builtin({
    group: 'events.k8s.io', version: 'v1', kind: 'Event', plural: 'events', namespaced: true, shortNames: ['ev'],
    fieldSelectors: ['regarding.kind', 'regarding.namespace', 'regarding.name', 'regarding.uid', 'reason', 'reportingController', 'type'],
  }),
  builtin({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles', namespaced: true }),
  builtin({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', plural: 'rolebindings', namespaced: true }),
  builtin({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false }),
  builtin({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', namespaced: false }),
  builtin({ group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions', namespaced: false, shortNames: ['crd', 'crds'], status: true, generation: true, categories: ['api-extensions'] }),
  builtin({ group: 'authentication.k8s.io', version: 'v1', kind: 'TokenReview', plural: 'tokenreviews', namespaced: false, createOnly: true }),
  builtin({ group: 'authorization.k8s.io', version: 'v1', kind: 'SubjectAccessReview', plural: 'subjectaccessreviews', namespaced: false, createOnly: true }),
  builtin({ group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectAccessReview', plural: 'selfsubjectaccessreviews', namespaced: false, createOnly: true }),
];

export const groupVersion = (group: string, version: string) => (group ? `${group}/${version}` : version);

/** A CRD object (apiextensions.k8s.io/v1) → the resource type it defines. */
export function typeFromCrd(crd: Record<string, any>): ResourceType {
  const spec = crd.spec;
  const served = (spec.versions as any[]).filter((v) => v.served);
  const storage = served.find((v) => v.storage) ?? served[0];
  const ordered = storage ? [storage, ...served.filter((v) => v !== storage)] : served;
  const scale = storage?.subresources?.scale;
  return {
    group: spec.group,
    versions: ordered.map((v) => v.name),
    kind: spec.names.kind,
    listKind: spec.names.listKind ?? `${spec.names.kind}List`,
    plural: spec.names.plural,
    singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
    shortNames: spec.names.shortNames ?? [],
    categories: spec.names.categories ?? [],
    namespaced: spec.scope === 'Namespaced',
    status: Boolean(storage?.subresources?.status),
    ...(scale ? { scale: { specReplicasPath: scale.specReplicasPath, statusReplicasPath: scale.statusReplicasPath, ...(scale.labelSelectorPath ? { labelSelectorPath: scale.labelSelectorPath } : {}) } } : {}),
    verbs: ALL_VERBS,
    generation: true,
    fieldSelectors: ((storage?.selectableFields ?? []) as { jsonPath: string }[]).map((f) => f.jsonPath.replace(/^\./, '')),
    strategicMerge: false,
    crd: {
      name: crd.metadata.name,
      schemas: Object.fromEntries(ordered.map((v) => [v.name, v.schema?.openAPIV3Schema])),
      printerColumns: Object.fromEntries(ordered.map((v) => [v.name, v.additionalPrinterColumns])),
    },
  };
}
