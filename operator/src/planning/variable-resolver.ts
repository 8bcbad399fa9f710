/**
 * Release variables resolved by precedence (SPEC §3 "Variables"), pure. Resolution runs in two steps so
 * that this module needs no I/O: `valueRefs` names the Secret keys, environment variables, files and vault
 * paths the winning variables need, the caller fetches them, and `resolveVariables` builds the values,
 * expands templates and says which values are secret. Problems name the variable and its layer, never a
 * secret value.
 */
import { kubeTime } from '../api/kube-time.ts';
import type { TargetSpec } from '../api/target.ts';
import type { Variable } from '../api/variables.ts';
import { findCycle } from '../validation/dag.ts';
import { createMasker } from './masking.ts';

export type VariableLayer = 'system' | 'project' | 'environment' | 'release' | 'runtime';

/** Low → high precedence. */
export const VARIABLE_LAYERS: readonly VariableLayer[] = ['system', 'project', 'environment', 'release', 'runtime'];

export interface VariableLayerInput {
  layer: VariableLayer;
  variables: readonly Variable[];
}

/** Layers that arrive as name → value maps (built-ins, CI parameters) become plain variables. */
export function plainVariables(record: Readonly<Record<string, string>>): Variable[] {
  return Object.entries(record).map(([name, value]) => ({ name, type: 'plain', value }));
}

/** A value that lives outside the manifest and must be fetched before resolving. */
export type ValueRef = { kind: 'secret'; name: string; key: string } | { kind: 'env'; key: string } | { kind: 'file'; path: string } | { kind: 'vault'; path: string };

/** A fetched value, or why it could not be fetched (short, and never containing a value). */
export type FetchedValue = { value: string } | { error: string };

// Secret names are DNS subdomains (no '/'), so `name/key` cannot be read two ways.
export function refKey(ref: ValueRef): string {
  switch (ref.kind) {
    case 'secret':
      return `secret:${ref.name}/${ref.key}`;
    case 'env':
      return `env:${ref.key}`;
    case 'file':
    case 'vault':
      return `${ref.kind}:${ref.path}`;
  }
}

function describeRef(ref: ValueRef): string {
  switch (ref.kind) {
    case 'secret':
      return `Secret ${ref.name}/${ref.key}`;
    case 'env':
      return `environment variable ${ref.key}`;
    case 'file':
      return `file ${ref.path}`;
    case 'vault':
      return `vault ${ref.path}`;
  }
}

function refOf(variable: Variable): ValueRef | undefined {
  if (variable.type === 'secret') return variable.secretKeyRef ? { kind: 'secret', name: variable.secretKeyRef.name, key: variable.secretKeyRef.key } : undefined;
  const external = variable.external;
  if (variable.type !== 'external' || !external) return undefined;
  switch (external.source) {
    case 'secret':
      return external.secretName ? { kind: 'secret', name: external.secretName, key: external.key } : undefined;
    case 'env':
      return { kind: 'env', key: external.key };
    case 'file':
      return { kind: 'file', path: external.key };
    case 'vault':
      return { kind: 'vault', path: external.key };
  }
}

/** Vault holds secrets by purpose, so its values are masked like a Secret's. */
const isSecretRef = (ref: ValueRef): boolean => ref.kind === 'secret' || ref.kind === 'vault';

interface Definition {
  name: string;
  layer: VariableLayer;
  variable: Variable;
}

/**
 * The definition that wins for each name: the highest layer that defines it. Inputs of the same layer
 * apply in the order given. An env_specific variable without a value for this environment defines nothing,
 * so a lower layer's value stays.
 */
function winners(layers: readonly VariableLayerInput[], environment: string): Map<string, Definition> {
  const rank = (layer: VariableLayer) => VARIABLE_LAYERS.indexOf(layer);
  const ordered = layers.map((input, index) => ({ input, index })).sort((a, b) => rank(a.input.layer) - rank(b.input.layer) || a.index - b.index);
  const won = new Map<string, Definition>();
  for (const { input } of ordered) {
    for (const variable of input.variables) {
      if (variable.type === 'env_specific' && !Object.hasOwn(variable.values ?? {}, environment)) continue;
      won.set(variable.name, { name: variable.name, layer: input.layer, variable });
    }
  }
  return won;
}

/** What the caller must fetch: the references of winning variables only, each once. */
export function valueRefs(layers: readonly VariableLayerInput[], environment: string): ValueRef[] {
  const refs = new Map<string, ValueRef>();
  for (const { variable } of winners(layers, environment).values()) {
    const ref = refOf(variable);
    if (ref) refs.set(refKey(ref), ref);
  }
  return [...refs.values()];
}

type Segment = string | { ref: string };

// `$${` first, so an escaped reference is never read as a reference.
const TEMPLATE_TOKEN = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

function parseTemplate(text: string): Segment[] {
  const segments: Segment[] = [];
  let last = 0;
  for (const match of text.matchAll(TEMPLATE_TOKEN)) {
    if (match.index > last) segments.push(text.slice(last, match.index));
    segments.push(match[1] === undefined ? '${' : { ref: match[1] });
    last = match.index + match[0].length;
  }
  if (last < text.length) segments.push(text.slice(last));
  return segments;
}

export interface ResolveVariablesInput {
  layers: readonly VariableLayerInput[];
  environment: string;
  /** By {@link refKey}: what the caller fetched for {@link valueRefs}. */
  fetched: ReadonlyMap<string, FetchedValue>;
}

export interface ResolvedVariables {
  values: Record<string, string>;
  secretNames: ReadonlySet<string>;
  /** The values to mask wherever text leaves the operator. */
  secretValues: string[];
  origins: Record<string, VariableLayer>;
  problems: string[];
}

export function resolveVariables(input: ResolveVariablesInput): ResolvedVariables {
  const defs = winners(input.layers, input.environment);
  const problems: string[] = [];
  const failed = new Set<string>();
  const fail = (name: string, message: string) => {
    problems.push(`variable ${name} (${defs.get(name)!.layer}): ${message}`);
    failed.add(name);
  };
  const literal = new Map<string, string>();
  const templates = new Map<string, Segment[]>();
  const secret = new Set<string>();
  const fetchedSecrets: string[] = [];

  for (const { name, variable } of defs.values()) {
    switch (variable.type) {
      case 'plain':
      case 'template':
        if (variable.value === undefined) fail(name, `a ${variable.type} variable needs a value`);
        else if (variable.type === 'plain') literal.set(name, variable.value);
        else templates.set(name, parseTemplate(variable.value));
        break;
      case 'env_specific':
        literal.set(name, variable.values![input.environment]!);
        break;
      case 'secret':
      case 'external': {
        const ref = refOf(variable);
        if (!ref) {
          fail(name, variable.type === 'secret' ? 'a secret variable needs secretKeyRef' : 'an external variable needs external (and secretName for source secret)');
          break;
        }
        const got = input.fetched.get(refKey(ref));
        if (!got) fail(name, `${describeRef(ref)}: not fetched`);
        else if ('error' in got) fail(name, `${describeRef(ref)}: ${got.error}`);
        else {
          literal.set(name, got.value);
          if (isSecretRef(ref)) {
            secret.add(name);
            fetchedSecrets.push(got.value);
          }
        }
        break;
      }
    }
  }

  const graph = new Map<string, string[]>();
  for (const [name, segments] of templates) {
    const refs = [...new Set(segments.flatMap((s) => (typeof s === 'string' ? [] : [s.ref])))];
    for (const ref of refs) if (!defs.has(ref)) fail(name, `template refers to unknown variable ${ref}`);
    graph.set(name, refs.filter((ref) => templates.has(ref)));
  }
  // Every cycle loses at least one member per round, so once none is left no walk below can loop.
  for (let cycle = findCycle(graph); cycle; cycle = findCycle(graph)) {
    problems.push(`template cycle: ${cycle.join(' -> ')}`);
    for (const name of cycle) {
      failed.add(name);
      graph.delete(name);
    }
  }

  const expanded = new Map<string, string>();
  const valueOf = (name: string): string | undefined => {
    if (failed.has(name)) return undefined;
    const known = literal.get(name) ?? expanded.get(name);
    if (known !== undefined) return known;
    let text = '';
    for (const segment of templates.get(name) ?? []) {
      if (typeof segment === 'string') {
        text += segment;
        continue;
      }
      const value = valueOf(segment.ref);
      if (value === undefined) {
        fail(name, `template refers to variable ${segment.ref}, which could not be resolved`);
        return undefined;
      }
      if (secret.has(segment.ref)) secret.add(name);
      text += value;
    }
    expanded.set(name, text);
    return text;
  };

  // Entries, not assignment: `__proto__` is a valid variable name and must stay an ordinary key.
  const resolved: [string, string, VariableLayer][] = [];
  for (const { name, layer } of defs.values()) {
    const value = valueOf(name);
    if (value !== undefined) resolved.push([name, value, layer]);
  }
  const values: Record<string, string> = Object.fromEntries(resolved.map(([name, value]) => [name, value]));
  const origins: Record<string, VariableLayer> = Object.fromEntries(resolved.map(([name, , layer]) => [name, layer]));
  const secretNames = new Set([...secret].filter((name) => Object.hasOwn(values, name)));
  const secretValues = [...new Set([...secretNames].map((name) => values[name]!))];
  // Fetch errors come from outside; masking them keeps a careless provider from leaking a value here.
  const mask = createMasker([...secretValues, ...fetchedSecrets]);
  return { values, secretNames, secretValues, origins, problems: problems.map(mask) };
}

/** The built-in variables, with what each holds. Names are set only when their value is known. */
export const SYSTEM_VARIABLES: Readonly<Record<string, string>> = {
  RELEASE_ID: 'UID of the Release object',
  RELEASE_NAME: 'name of the Release object',
  RELEASE_VERSION: 'version of the release (spec.version)',
  RELEASE_ENV: 'environment being deployed, e.g. pre or prod',
  RELEASE_USER: 'who created the release (annotation shipway.dev/created-by)',
  RELEASE_TIME: 'time of the release pass, RFC 3339',
  RELEASE_TIMESTAMP: 'time of the release pass, Unix seconds',
  PROJECT_NAME: 'project the release belongs to',
  APP_ENV: 'environment being deployed (same as RELEASE_ENV)',
  APP_NAME: 'application being deployed on the target',
  APP_VERSION: 'version of the application being deployed (image tag, artifact version or git ref)',
  CURRENT_VERSION: 'version of the application running on the target before this deployment',
  ROLLBACK_VERSION: 'version a rollback returns to',
  ARTIFACT_URL: 'package URL of the application, with ${APP_VERSION} filled in',
  KEEP_DATA: 'true when an uninstall keeps the application data',
  WORK_DIR: 'work directory of the application on the target',
  APP_DIR: 'directory of the application on the target (the work directory)',
  BACKUP_DIR: 'where backups are kept on the target',
  LOG_DIR: 'log directory of the application (WORK_DIR/logs)',
  TEMP_DIR: 'temporary directory of the application (WORK_DIR/tmp)',
  TARGET_ID: 'namespace/name of the Target',
  TARGET_NAME: 'name of the Target',
  TARGET_HOST: 'host name or address of the Target',
  TARGET_IP: 'IP address of the Target',
  TARGET_CLIENT_ID: 'id of the agent (QUIC client) serving the Target',
  TARGET_LABELS: 'labels of the Target as key=value,key=value',
  GIT_REPO: 'git repository of the application',
  GIT_BRANCH: 'git branch deployed',
  GIT_COMMIT: 'git commit SHA deployed (full)',
  GIT_COMMIT_SHORT: 'git commit SHA deployed (first 7 characters)',
  GIT_TAG: 'git tag deployed',
  GIT_MESSAGE: 'message of the git commit deployed',
  IMAGE: 'image reference deployed (same as IMAGE_FULL)',
  IMAGE_REGISTRY: 'registry of the image, e.g. registry.local:5000',
  IMAGE_NAME: 'repository of the image inside its registry, e.g. shop/web',
  IMAGE_TAG: 'tag of the image',
  IMAGE_FULL: 'full image reference deployed',
  CONTAINER_NAME: 'name of the container the application runs in',
  K8S_CLUSTER: 'name of the Kubernetes cluster of the Target',
  K8S_CONTEXT: 'kubectl context of that cluster',
  K8S_NAMESPACE: 'namespace of the workload',
  K8S_KIND: 'kind of the workload (Deployment, StatefulSet, DaemonSet)',
  K8S_NAME: 'name of the workload',
  K8S_DEPLOYMENT: 'name of the workload when it is a Deployment',
  K8S_CONTAINER: 'container whose image is set',
  K8S_REPLICAS: 'replicas of the workload',
};

export interface BuiltInContext {
  release: {
    uid: string;
    namespace: string;
    name: string;
    project: string;
    version: string;
    user?: string;
    /** The pass that builds the job. */
    time: Date;
  };
  environment: string;
  /** The Target being deployed; it lives in the release's namespace. */
  target?: {
    name: string;
    labels: Readonly<Record<string, string>>;
    spec: TargetSpec;
    /** An address the agent reported, when the host is a name. */
    ip?: string;
    cluster?: string;
    kubeContext?: string;
    replicas?: number;
  };
  /** The application deployed on the target (the first one, when several are). */
  app?: {
    name: string;
    version: string;
    /** Image reference with its tag. */
    image?: string;
    currentVersion?: string;
    rollbackVersion?: string;
    /** As in the ReleaseApp; ${APP_VERSION} and ${APP_NAME} are filled in. */
    artifactUrl?: string;
    git?: { repo?: string; branch?: string; commit?: string; tag?: string; message?: string };
    containerName?: string;
    keepData?: boolean;
    /** The ReleaseApp's work directory; without it, the Target's. ${APP_NAME} is filled in. */
    workDir?: string;
  };
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
// Two colons at least, so host:port never passes for an address.
const IPV6 = /^[0-9A-Fa-f]*:[0-9A-Fa-f]*:[0-9A-Fa-f:.]*$/;

/** registry/name:tag@digest, the way docker reads it: the first part is a registry only if it looks like a host. */
function imageParts(image: string): { registry?: string; name: string; tag?: string } {
  let rest = image.split('@')[0]!;
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const slash = rest.indexOf('/');
  const head = slash > 0 ? rest.slice(0, slash) : '';
  if (head.includes('.') || head.includes(':') || head === 'localhost') return { registry: head, name: rest.slice(slash + 1), ...(tag ? { tag } : {}) };
  return { name: rest, ...(tag ? { tag } : {}) };
}

const under = (dir: string, sub: string) => `${dir.replace(/\/+$/, '')}/${sub}`;
const fill = (text: string, known: Readonly<Record<string, string>>) => text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (reference, name: string) => (Object.hasOwn(known, name) ? known[name]! : reference));

/** Drops the names whose value is unknown, so an absent value never reads as an empty one. */
function known(record: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/**
 * The built-in variables: `system` holds what is the same for the whole release, `runtime` what belongs to
 * one target and application. They enter resolution as the lowest and the highest layer.
 */
export function builtInVariables(context: BuiltInContext): { system: Record<string, string>; runtime: Record<string, string> } {
  const { release, environment, target, app } = context;
  const system = known({
    RELEASE_ID: release.uid,
    RELEASE_NAME: release.name,
    RELEASE_VERSION: release.version,
    RELEASE_ENV: environment,
    RELEASE_USER: release.user || undefined,
    RELEASE_TIME: kubeTime(release.time),
    RELEASE_TIMESTAMP: String(Math.floor(release.time.getTime() / 1000)),
    PROJECT_NAME: release.project,
    APP_ENV: environment,
  });
  const k8s = target?.spec.kubernetes;
  const host = target?.spec.host;
  const image = app?.image ? imageParts(app.image) : undefined;
  const appNames = known({ APP_NAME: app?.name, APP_VERSION: app?.version });
  const hostDirs = target?.spec.script ?? target?.spec.gitpull;
  const workDir = app?.workDir ? fill(app.workDir, appNames) : hostDirs?.workDir;
  const commit = app?.git?.commit;
  const runtime = known({
    ...appNames,
    CURRENT_VERSION: app?.currentVersion,
    ROLLBACK_VERSION: app?.rollbackVersion,
    ARTIFACT_URL: app?.artifactUrl ? fill(app.artifactUrl, appNames) : undefined,
    KEEP_DATA: app?.keepData === undefined ? undefined : String(app.keepData),
    WORK_DIR: workDir,
    APP_DIR: workDir,
    BACKUP_DIR: hostDirs?.backupDir ?? (workDir ? under(workDir, 'backups') : undefined),
    LOG_DIR: workDir ? under(workDir, 'logs') : undefined,
    TEMP_DIR: workDir ? under(workDir, 'tmp') : undefined,
    TARGET_ID: target ? `${release.namespace}/${target.name}` : undefined,
    TARGET_NAME: target?.name,
    TARGET_HOST: host,
    TARGET_IP: target?.ip ?? (host && (IPV4.test(host) || IPV6.test(host)) ? host : undefined),
    TARGET_CLIENT_ID: target?.spec.agent,
    TARGET_LABELS: target ? Object.entries(target.labels).map(([k, v]) => `${k}=${v}`).join(',') : undefined,
    GIT_REPO: app?.git?.repo,
    GIT_BRANCH: app?.git?.branch,
    GIT_COMMIT: commit,
    GIT_COMMIT_SHORT: commit?.slice(0, 7),
    GIT_TAG: app?.git?.tag,
    GIT_MESSAGE: app?.git?.message,
    IMAGE: app?.image,
    IMAGE_FULL: app?.image,
    IMAGE_REGISTRY: image?.registry,
    IMAGE_NAME: image?.name,
    IMAGE_TAG: image?.tag,
    CONTAINER_NAME: app?.containerName ?? k8s?.container,
    K8S_CLUSTER: target?.cluster,
    K8S_CONTEXT: target?.kubeContext,
    K8S_NAMESPACE: k8s?.namespace,
    K8S_KIND: k8s ? (k8s.kind ?? 'Deployment') : undefined,
    K8S_NAME: k8s?.name,
    K8S_DEPLOYMENT: k8s && (k8s.kind ?? 'Deployment') === 'Deployment' ? k8s.name : undefined,
    K8S_CONTAINER: k8s?.container,
    K8S_REPLICAS: target?.replicas === undefined ? undefined : String(target.replicas),
  });
  return { system, runtime };
}
