/**
 * Server-side printing: `meta.k8s.io/v1 Table` responses for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`.
 *
 * Three column sources, as in kube-apiserver:
 * - no columns: the generic convertor (`Name`, `Created At` as a raw RFC 3339 timestamp of type date);
 * - CRD additionalPrinterColumns (see {@link crdPrinterColumns}): `Name` then each column, evaluated with JSONPath,
 *   date columns rendered as ages;
 * - built-in printers ({@link BUILTIN_PRINTERS}) for the common kinds, with the header names and cells of
 *   pkg/printers/internalversion (the server always prints the wide columns; kubectl hides priority > 0).
 */
import { JSONPath } from 'jsonpath-plus';
import { formatLabelSelector, formatLabels, labelSelectorRequirements, requirementsToString, SelectorError } from '../../operator/src/planning/selectors.ts';

/** Decoded Kubernetes JSON of any kind; printers read it loosely, as the Go printers read typed structs. */
export type Obj = Record<string, any>;

export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

export interface ColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface TableRowCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface BuiltinPrinter {
  columns: ColumnDefinition[];
  cells(obj: Obj, now: Date): unknown[];
  conditions?(obj: Obj): TableRowCondition[] | undefined;
}

export interface TableOptions {
  includeObject?: 'None' | 'Object' | 'Metadata' | string;
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
  noHeaders?: boolean;
  now?: Date;
}

/** A bad `includeObject`; the server answers 400 BadRequest with this message. */
export class TableOptionsError extends Error {
  override name = 'TableOptionsError';
}

const NAME_DESCRIPTION =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';
const CREATED_DESCRIPTION =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

// ---------------------------------------------------------------------------------------------
// Durations (k8s.io/apimachinery/pkg/util/duration.HumanDuration)

/** Two to three significant figures: 0-119s "Ns"; <10m "NmSs"/"Nm"; <3h "Nm"; <8h "NhMm"/"Nh"; <48h "Nh"; <8d "NdHh"/"Nd"; <2y "Nd"; <8y "NyDd"/"Ny"; else "Ny". */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) {
    const d = days % 365;
    return d === 0 ? `${years}y` : `${years}y${d}d`;
  }
  return `${years}y`;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function parseTimestamp(value: unknown): number | undefined {
  if (typeof value !== 'string' || !RFC3339.test(value)) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

/** translateTimestampSince: the age of a timestamp, `<unknown>` when it is missing. */
export function ageOf(timestamp: unknown, now: Date): string {
  const t = parseTimestamp(timestamp);
  return t === undefined ? '<unknown>' : humanDuration(now.getTime() - t);
}

// ---------------------------------------------------------------------------------------------
// JSONPath columns (client-go util/jsonpath with missing keys allowed)

/** Kubernetes JSONPath (`.spec.x`, `.a\.b`, `['k.8/s']`, `[0]`, `[*]`, `[?(@.type=="Ready")]`, `..x`) as jsonpath-plus path components. */
export function jsonPathComponents(path: string): string[] {
  let p = path.trim();
  if (p.startsWith('{') && p.endsWith('}')) p = p.slice(1, -1);
  if (p.startsWith('$')) p = p.slice(1);
  const parts = ['$'];
  let i = 0;
  const readName = (): string => {
    let name = '';
    while (i < p.length && p[i] !== '.' && p[i] !== '[') {
      if (p[i] === '\\' && i + 1 < p.length) i++;
      name += p[i++];
    }
    return name;
  };
  while (i < p.length) {
    if (p.startsWith('..', i)) {
      parts.push('..');
      i += 2;
      const name = readName();
      if (name) parts.push(name);
    } else if (p[i] === '.') {
      i++;
      const name = readName();
      if (name) parts.push(name);
    } else if (p[i] === '[') {
      let depth = 0;
      let quote = '';
      const start = i + 1;
      for (; i < p.length; i++) {
        const c = p[i];
        if (quote) {
          if (c === quote) quote = '';
        } else if (c === '"' || c === "'") quote = c;
        else if (c === '[' || c === '(') depth++;
        else if (c === ']' || c === ')') {
          depth--;
          if (depth === 0 && c === ']') break;
        }
      }
      const inner = p.slice(start, i).trim();
      i++;
      const quoted = /^(['"])(.*)\1$/s.exec(inner);
      parts.push(quoted ? quoted[2]! : inner);
    } else {
      parts.push(readName());
    }
  }
  return parts;
}

function firstResult(obj: unknown, path: string): { found: boolean; value: unknown } {
  let results: unknown[];
  try {
    results = JSONPath({ path: jsonPathComponents(path), json: obj as object, wrap: true }) as unknown[];
  } catch {
    return { found: false, value: undefined };
  }
  return results.length === 0 ? { found: false, value: undefined } : { found: true, value: results[0] };
}

/** Go's %v for a float64 (shortest form, exponent below 1e-4 and from 1e21). */
function goFloat(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e21)) {
    return n.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  }
  return String(n);
}

/** encoding/json: sorted keys, `<`, `>`, `&` escaped. */
function goJson(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]))
        : v;
  return JSON.stringify(sort(value)).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}

/** The cell of one custom column, as apiextensions-apiserver's tableconvertor makes it. */
export function customColumnCell(obj: Obj, column: PrinterColumn, now: Date): unknown {
  const { found, value } = firstResult(obj, column.jsonPath);
  if (!found) return null;
  if (column.type === 'string') {
    if (value === null || value === undefined) return '<no value>';
    if (typeof value === 'string') return value;
    if (typeof value === 'number') return goFloat(value);
    if (typeof value === 'boolean') return String(value);
    return goJson(value);
  }
  if (value === null || value === undefined) return null;
  switch (column.type) {
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date': {
      if (typeof value !== 'string') return null;
      if (value === '' || value === 'null') return '<unknown>';
      const t = parseTimestamp(value);
      return t === undefined ? '<invalid>' : humanDuration(now.getTime() - t);
    }
    default:
      return null;
  }
}

/** A CRD version's printer columns, or the `Age` column the server shows when it declares none. */
export function crdPrinterColumns(crd: Obj, version: string): PrinterColumn[] {
  const v = (crd.spec?.versions ?? []).find((x: { name?: string }) => x.name === version);
  const columns: PrinterColumn[] | undefined = v?.additionalPrinterColumns;
  if (columns && columns.length > 0) return columns;
  return [{ name: 'Age', type: 'date', description: CREATED_DESCRIPTION, jsonPath: '.metadata.creationTimestamp' }];
}

function customPrinter(columns: PrinterColumn[]): BuiltinPrinter {
  return {
    columns: [
      col('Name', 'string', NAME_DESCRIPTION, 0, 'name'),
      ...columns.map((c) =>
        col(c.name, c.type, c.description || `Custom resource definition column (in JSONPath format): ${c.jsonPath}`, c.priority ?? 0, c.format ?? ''),
      ),
    ],
    cells: (obj, now) => [obj.metadata?.name ?? '', ...columns.map((c) => customColumnCell(obj, c, now))],
  };
}

/** rest.DefaultTableConvertor: what the server prints for kinds without a printer (also CustomResourceDefinitions). */
export const DEFAULT_PRINTER: BuiltinPrinter = {
  columns: [col('Name', 'string', NAME_DESCRIPTION, 0, 'name'), col('Created At', 'date', CREATED_DESCRIPTION)],
  cells: (obj) => {
    // Go formats the zero time of a missing timestamp as 0001-01-01T00:00:00Z; RFC 3339 without fractions
    const t = parseTimestamp(obj.metadata?.creationTimestamp);
    const created = t === undefined ? '0001-01-01T00:00:00Z' : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
    return [obj.metadata?.name ?? '', created];
  },
};

function col(name: string, type: string, description: string, priority = 0, format = ''): ColumnDefinition {
  return { name, type, format, description, priority };
}

// ---------------------------------------------------------------------------------------------
// Built-in printers (pkg/printers/internalversion/printers.go), reading the v1 JSON the server stores.

const nameCol = col('Name', 'string', NAME_DESCRIPTION, 0, 'name');
const ageCol = col('Age', 'string', CREATED_DESCRIPTION);
const containersCol = col('Containers', 'string', 'Names of each container in the template.', 1);
const imagesCol = col('Images', 'string', 'Images referenced by each container in the template.', 1);
const selectorCol = col('Selector', 'string', 'Label query over pods.', 1);

const age = (o: Obj, now: Date) => ageOf(o.metadata?.creationTimestamp, now);
const int = (v: unknown): number => (typeof v === 'number' ? Math.trunc(v) : 0);
const len = (v: unknown): number => (Array.isArray(v) ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0);

function containerCells(template: Obj | undefined): [string, string] {
  const containers: Obj[] = template?.spec?.containers ?? [];
  return [containers.map((c) => c.name ?? '').join(','), containers.map((c) => c.image ?? '').join(',')];
}

/** Deployment's Selector cell: LabelSelectorAsSelector(...).String(), `<invalid>` on error. */
function selectorString(sel: Obj | undefined): string {
  try {
    return requirementsToString(labelSelectorRequirements(sel) ?? []);
  } catch (e) {
    if (e instanceof SelectorError) return '<invalid>';
    throw e;
  }
}

function conditionTrue(conditions: Obj[] | undefined, type: string): boolean {
  const c = (conditions ?? []).find((x) => x.type === type);
  return c !== undefined && c.status === 'True';
}

function podCells(pod: Obj, now: Date): unknown[] {
  const spec = pod.spec ?? {};
  const status = pod.status ?? {};
  const initContainers: Obj[] = spec.initContainers ?? [];
  const restartable = new Set(initContainers.filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
  const total = (spec.containers ?? []).length + restartable.size;
  let ready = 0;
  let restarts = 0;
  let restartableRestarts = 0;
  let lastRestart = 0;
  let lastRestartableRestart = 0;
  let reason: string = status.reason || status.phase || '';
  if ((status.conditions ?? []).some((c: Obj) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated')) reason = 'SchedulingGated';
  const finishedAt = (c: Obj) => parseTimestamp(c.lastState?.terminated?.finishedAt) ?? 0;

  let initializing = false;
  const initStatuses: Obj[] = status.initContainerStatuses ?? [];
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i]!;
    restarts += int(c.restartCount);
    lastRestart = Math.max(lastRestart, finishedAt(c));
    const isRestartable = restartable.has(c.name);
    if (isRestartable) {
      restartableRestarts += int(c.restartCount);
      lastRestartableRestart = Math.max(lastRestartableRestart, finishedAt(c));
    }
    const terminated = c.state?.terminated;
    const waiting = c.state?.waiting;
    if (terminated && int(terminated.exitCode) === 0) continue;
    if (isRestartable && c.started === true) {
      if (c.ready) ready++;
      continue;
    }
    if (terminated) {
      reason = terminated.reason
        ? `Init:${terminated.reason}`
        : terminated.signal
          ? `Init:Signal:${terminated.signal}`
          : `Init:ExitCode:${int(terminated.exitCode)}`;
    } else if (waiting?.reason && waiting.reason !== 'PodInitializing') {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${initContainers.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(status.conditions, 'Initialized')) {
    restarts = restartableRestarts;
    lastRestart = lastRestartableRestart;
    let hasRunning = false;
    const statuses: Obj[] = status.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i]!;
      restarts += int(c.restartCount);
      lastRestart = Math.max(lastRestart, finishedAt(c));
      const { waiting, terminated, running } = c.state ?? {};
      if (waiting?.reason) reason = waiting.reason;
      else if (terminated?.reason) reason = terminated.reason;
      else if (terminated) reason = terminated.signal ? `Signal:${terminated.signal}` : `ExitCode:${int(terminated.exitCode)}`;
      else if (c.ready && running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) reason = conditionTrue(status.conditions, 'Ready') ? 'Running' : 'NotReady';
  }

  const terminal = status.phase === 'Succeeded' || status.phase === 'Failed';
  if (pod.metadata?.deletionTimestamp && status.reason === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata?.deletionTimestamp && !terminal) reason = 'Terminating';

  const restartsText = restarts !== 0 && lastRestart !== 0 ? `${restarts} (${humanDuration(now.getTime() - lastRestart)} ago)` : String(restarts);
  const gates: Obj[] = spec.readinessGates ?? [];
  const gatesText =
    gates.length === 0
      ? '<none>'
      : `${gates.filter((g) => (status.conditions ?? []).find((c: Obj) => c.type === g.conditionType)?.status === 'True').length}/${gates.length}`;
  return [
    pod.metadata?.name ?? '',
    `${ready}/${total}`,
    reason,
    restartsText,
    age(pod, now),
    status.podIPs?.[0]?.ip || '<none>',
    spec.nodeName || '<none>',
    status.nominatedNodeName || '<none>',
    gatesText,
  ];
}

function jobStatus(job: Obj): string {
  const conditions = job.status?.conditions;
  if (conditionTrue(conditions, 'Complete')) return 'Complete';
  if (conditionTrue(conditions, 'Failed')) return 'Failed';
  if (job.metadata?.deletionTimestamp) return 'Terminating';
  if (conditionTrue(conditions, 'Suspended')) return 'Suspended';
  if (conditionTrue(conditions, 'FailureTarget')) return 'FailureTarget';
  return 'Running';
}

function jobCells(job: Obj, now: Date): unknown[] {
  const spec = job.spec ?? {};
  const succeeded = int(job.status?.succeeded);
  let completions: string;
  if (typeof spec.completions === 'number') completions = `${succeeded}/${spec.completions}`;
  else if (int(spec.parallelism) > 1) completions = `${succeeded}/1 of ${int(spec.parallelism)}`;
  else completions = `${succeeded}/1`;
  const start = parseTimestamp(job.status?.startTime);
  const end = parseTimestamp(job.status?.completionTime);
  const duration = start === undefined ? '' : humanDuration((end ?? now.getTime()) - start);
  return [job.metadata?.name ?? '', jobStatus(job), completions, duration, age(job, now), ...containerCells(spec.template), formatLabelSelector(spec.selector)];
}

function serviceExternalIP(svc: Obj): string {
  const spec = svc.spec ?? {};
  const externalIPs: string[] = spec.externalIPs ?? [];
  switch (spec.type ?? 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = [...new Set<string>((svc.status?.loadBalancer?.ingress ?? []).map((i: Obj) => i.ip || i.hostname).filter(Boolean))];
      if (externalIPs.length > 0) return [...lb, ...externalIPs].join(',');
      return lb.length > 0 ? lb.join(',') : '<pending>';
    }
    case 'ExternalName':
      return spec.externalName ?? '';
    default:
      return '<unknown>';
  }
}

function serviceCells(svc: Obj, now: Date): unknown[] {
  const spec = svc.spec ?? {};
  const ports = (spec.ports ?? [])
    .map((p: Obj) => (int(p.nodePort) > 0 ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}` : `${p.port}/${p.protocol ?? 'TCP'}`))
    .join(',');
  const clusterIP = spec.clusterIPs?.[0] ?? spec.clusterIP;
  return [svc.metadata?.name ?? '', spec.type ?? 'ClusterIP', clusterIP || '<none>', serviceExternalIP(svc), ports || '<none>', age(svc, now), formatLabels(spec.selector)];
}

function eventCells(ev: Obj, now: Date): unknown[] {
  const first = parseTimestamp(ev.firstTimestamp) !== undefined ? ageOf(ev.firstTimestamp, now) : ageOf(ev.eventTime, now);
  let last = parseTimestamp(ev.lastTimestamp) !== undefined ? ageOf(ev.lastTimestamp, now) : first;
  let count = int(ev.count);
  if (ev.series) {
    last = ageOf(ev.series.lastObservedTime, now);
    count = int(ev.series.count);
  } else if (count === 0) {
    count = 1;
  }
  const involved = ev.involvedObject ?? {};
  const kind = String(involved.kind ?? '').toLowerCase();
  const component = ev.source?.component || ev.reportingComponent || '';
  const instance = ev.source?.host || ev.reportingInstance || '';
  return [
    last,
    ev.type ?? '',
    ev.reason ?? '',
    involved.name ? `${kind}/${involved.name}` : kind,
    involved.fieldPath ?? '',
    instance ? `${component}, ${instance}` : component,
    String(ev.message ?? '').trim(),
    first,
    count,
    ev.metadata?.name ?? '',
  ];
}

function nodeCells(node: Obj, now: Date): unknown[] {
  const ready = (node.status?.conditions ?? []).find((c: Obj) => c.type === 'Ready');
  const status = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (node.spec?.unschedulable) status.push('SchedulingDisabled');
  const roles = new Set<string>();
  for (const [k, v] of Object.entries<string>(node.metadata?.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/') && k.length > 'node-role.kubernetes.io/'.length) roles.add(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  const address = (type: string) => (node.status?.addresses ?? []).find((a: Obj) => a.type === type)?.address ?? '<none>';
  const info = node.status?.nodeInfo ?? {};
  return [
    node.metadata?.name ?? '',
    status.join(','),
    [...roles].sort().join(',') || '<none>',
    age(node, now),
    info.kubeletVersion ?? '',
    address('InternalIP'),
    address('ExternalIP'),
    info.osImage || '<unknown>',
    info.kernelVersion || '<unknown>',
    info.containerRuntimeVersion || '<unknown>',
  ];
}

// Workloads: spec.replicas is defaulted to 1 by the real server before anything is stored.
const replicas = (o: Obj): number => (typeof o.spec?.replicas === 'number' ? o.spec.replicas : 1);

export const BUILTIN_PRINTERS: Record<string, BuiltinPrinter> = {
  Pod: {
    columns: [
      nameCol,
      col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
      col('Status', 'string', 'The aggregate status of the containers in this pod.'),
      col('Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
      ageCol,
      col('IP', 'string', 'IP address allocated to the pod.', 1),
      col('Node', 'string', 'The node the pod is scheduled onto.', 1),
      col('Nominated Node', 'string', 'The node the scheduler nominated for the pod.', 1),
      col('Readiness Gates', 'string', 'Pod readiness gates that are true.', 1),
    ],
    cells: podCells,
    conditions: (pod) =>
      pod.status?.phase === 'Succeeded'
        ? [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }]
        : pod.status?.phase === 'Failed'
          ? [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }]
          : undefined,
  },
  Deployment: {
    columns: [
      nameCol,
      col('Ready', 'string', 'Number of the pod with ready state'),
      col('Up-to-date', 'string', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'),
      col('Available', 'string', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'),
      ageCol,
      containersCol,
      imagesCol,
      selectorCol,
    ],
    cells: (d, now) => [
      d.metadata?.name ?? '',
      `${int(d.status?.readyReplicas)}/${replicas(d)}`,
      int(d.status?.updatedReplicas),
      int(d.status?.availableReplicas),
      age(d, now),
      ...containerCells(d.spec?.template),
      selectorString(d.spec?.selector),
    ],
  },
  ReplicaSet: {
    columns: [
      nameCol,
      col('Desired', 'integer', 'Number of desired pods.'),
      col('Current', 'integer', 'The most recently observed number of replicas.'),
      col('Ready', 'integer', 'The number of pods targeted by this ReplicaSet with a Ready Condition.'),
      ageCol,
      containersCol,
      imagesCol,
      selectorCol,
    ],
    cells: (rs, now) => [
      rs.metadata?.name ?? '',
      replicas(rs),
      int(rs.status?.replicas),
      int(rs.status?.readyReplicas),
      age(rs, now),
      ...containerCells(rs.spec?.template),
      formatLabelSelector(rs.spec?.selector),
    ],
  },
  StatefulSet: {
    columns: [nameCol, col('Ready', 'string', 'Number of the pod with ready state'), ageCol, containersCol, imagesCol],
    cells: (s, now) => [s.metadata?.name ?? '', `${int(s.status?.readyReplicas)}/${replicas(s)}`, age(s, now), ...containerCells(s.spec?.template)],
  },
  DaemonSet: {
    columns: [
      nameCol,
      col('Desired', 'integer', 'The total number of nodes that should be running the daemon pod.'),
      col('Current', 'integer', 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.'),
      col('Ready', 'integer', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.'),
      col('Up-to-date', 'integer', 'The total number of nodes that are running updated daemon pod.'),
      col('Available', 'integer', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.'),
      col('Node Selector', 'string', 'NodeSelector is a selector which must be true for the pod to fit on a node.'),
      ageCol,
      containersCol,
      imagesCol,
      selectorCol,
    ],
    cells: (ds, now) => [
      ds.metadata?.name ?? '',
      int(ds.status?.desiredNumberScheduled),
      int(ds.status?.currentNumberScheduled),
      int(ds.status?.numberReady),
      int(ds.status?.updatedNumberScheduled),
      int(ds.status?.numberAvailable),
      formatLabels(ds.spec?.template?.spec?.nodeSelector),
      age(ds, now),
      ...containerCells(ds.spec?.template),
      formatLabelSelector(ds.spec?.selector),
    ],
  },
  Job: {
    columns: [
      nameCol,
      col('Status', 'string', 'Status of the job.'),
      col('Completions', 'string', 'The number of pods which reached phase Succeeded.'),
      col('Duration', 'string', 'Time required to complete the job.'),
      ageCol,
      containersCol,
      imagesCol,
      selectorCol,
    ],
    cells: jobCells,
  },
  Service: {
    columns: [
      nameCol,
      col('Type', 'string', 'type determines how the Service is exposed.'),
      col('Cluster-IP', 'string', 'clusterIP is the IP address of the service.'),
      col('External-IP', 'string', 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'),
      col('Port(s)', 'string', 'The list of ports that are exposed by this service.'),
      ageCol,
      col('Selector', 'string', 'Route service traffic to pods with label keys and values matching this selector.', 1),
    ],
    cells: serviceCells,
  },
  Namespace: {
    columns: [nameCol, col('Status', 'string', 'The status of the namespace'), ageCol],
    cells: (ns, now) => [ns.metadata?.name ?? '', ns.status?.phase ?? '', age(ns, now)],
  },
  ConfigMap: {
    columns: [nameCol, col('Data', 'string', 'Data contains the configuration data.'), ageCol],
    cells: (cm, now) => [cm.metadata?.name ?? '', len(cm.data) + len(cm.binaryData), age(cm, now)],
  },
  Secret: {
    columns: [nameCol, col('Type', 'string', 'Used to facilitate programmatic handling of secret data.'), col('Data', 'string', 'Data contains the secret data.'), ageCol],
    cells: (s, now) => [s.metadata?.name ?? '', s.type ?? '', len(s.data), age(s, now)],
  },
  ServiceAccount: {
    columns: [nameCol, col('Secrets', 'string', 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.'), ageCol],
    cells: (sa, now) => [sa.metadata?.name ?? '', len(sa.secrets), age(sa, now)],
  },
  Event: {
    columns: [
      col('Last Seen', 'string', 'The time at which the most recent occurrence of this event was recorded.'),
      col('Type', 'string', 'Type of this event (Normal, Warning), new types could be added in the future'),
      col('Reason', 'string', "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
      col('Object', 'string', 'The object that this event is about.'),
      col('Subobject', 'string', 'The field of the object the event is about.', 1),
      col('Source', 'string', 'The component reporting this event.', 1),
      col('Message', 'string', 'A human-readable description of the status of this operation.'),
      col('First Seen', 'string', 'The time at which the event was first recorded.', 1),
      col('Count', 'string', 'The number of times this event has occurred.', 1),
      col('Name', 'string', NAME_DESCRIPTION, 1, 'name'),
    ],
    cells: eventCells,
  },
  Lease: {
    columns: [nameCol, col('Holder', 'string', 'holderIdentity contains the identity of the holder of a current lease.'), ageCol],
    cells: (l, now) => [l.metadata?.name ?? '', l.spec?.holderIdentity ?? '', age(l, now)],
  },
  Node: {
    columns: [
      nameCol,
      col('Status', 'string', 'The status of the node'),
      col('Roles', 'string', 'The roles of the node'),
      ageCol,
      col('Version', 'string', 'Kubelet Version reported by the node.'),
      col('Internal-IP', 'string', 'List of addresses reachable to the node.', 1),
      col('External-IP', 'string', 'List of addresses reachable to the node.', 1),
      col('OS-Image', 'string', 'OS Image reported by the node.', 1),
      col('Kernel-Version', 'string', 'Kernel Version reported by the node.', 1),
      col('Container-Runtime', 'string', 'ContainerRuntime Version reported by the node.', 1),
    ],
    cells: nodeCells,
  },
};

/** The printer the real server uses for a built-in kind: its own, or the generic Name/Created At one. */
export function builtinPrinter(kind: string): BuiltinPrinter {
  return Object.prototype.hasOwnProperty.call(BUILTIN_PRINTERS, kind) ? BUILTIN_PRINTERS[kind]! : DEFAULT_PRINTER;
}

// ---------------------------------------------------------------------------------------------

function rowObject(obj: Obj, includeObject: string): unknown {
  switch (includeObject) {
    case 'Object':
      return obj;
    case 'None':
      return null;
    case 'Metadata':
    case '':
      return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata ?? {} };
    default:
      throw new TableOptionsError(`unrecognized includeObject value: ${JSON.stringify(includeObject)}`);
  }
}

/**
 * Objects as a `meta.k8s.io/v1 Table`. `columns`: CRD printer columns (use {@link crdPrinterColumns}), a built-in
 * printer (use {@link builtinPrinter}), or undefined for the generic Name/Created At table. `includeObject`
 * defaults to Metadata (rows carry PartialObjectMetadata); None gives `object: null` like the real server.
 */
export function toTable(objects: Obj[], columns: PrinterColumn[] | BuiltinPrinter | undefined, options: TableOptions = {}): Obj {
  const printer = columns === undefined ? DEFAULT_PRINTER : Array.isArray(columns) ? customPrinter(columns) : columns;
  const now = options.now ?? new Date();
  const includeObject = options.includeObject ?? 'Metadata';
  const metadata: Obj = { resourceVersion: options.resourceVersion ?? '' };
  if (options.continue) metadata.continue = options.continue;
  if (options.remainingItemCount !== undefined) metadata.remainingItemCount = options.remainingItemCount;
  const rows = objects.map((obj) => {
    const row: Obj = { cells: printer.cells(obj, now) };
    const conditions = printer.conditions?.(obj);
    if (conditions) row.conditions = conditions;
    row.object = rowObject(obj, includeObject);
    return row;
  });
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: options.noHeaders ? null : printer.columns,
    rows,
  };
}
