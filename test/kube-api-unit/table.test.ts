import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { renderKubeconfig } from '../kube-api/kubeconfig.ts';
import { generateServingCertificates } from '../kube-api/tls.ts';
import {
  BUILTIN_PRINTERS,
  DEFAULT_PRINTER,
  TableOptionsError,
  builtinPrinter,
  crdPrinterColumns,
  humanDuration,
  jsonPathComponents,
  toTable,
  type PrinterColumn,
} from '../kube-api/table.ts';

const run = promisify(execFile);

const NOW = new Date('2025-06-01T12:00:00Z');
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString().replace(/\.000Z$/, 'Z');
const S = 1;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe('humanDuration matches duration.HumanDuration', () => {
  const cases: [seconds: number, text: string][] = [
    [-5, '<invalid>'],
    [-2, '<invalid>'],
    [-1.5, '0s'],
    [-0.4, '0s'],
    [0, '0s'],
    [0.9, '0s'],
    [59, '59s'],
    [119, '119s'],
    [120, '2m'],
    [121, '2m1s'],
    [9 * M + 59, '9m59s'],
    [10 * M, '10m'],
    [10 * M + 30, '10m'],
    [3 * H - 1, '179m'],
    [3 * H, '3h'],
    [3 * H + 5 * M + 59, '3h5m'],
    [8 * H - 1, '7h59m'],
    [8 * H, '8h'],
    [48 * H - 1, '47h'],
    [48 * H, '2d'],
    [50 * H + 59 * M, '2d2h'],
    [8 * D - 1, '7d23h'],
    [8 * D, '8d'],
    [729 * D, '729d'],
    [730 * D, '2y'],
    [731 * D, '2y1d'],
    [8 * 365 * D - 1, '7y364d'],
    [8 * 365 * D, '8y'],
    [3000 * D, '8y'],
  ];
  it.each(cases)('%s s → %s', (seconds, text) => {
    expect(humanDuration(seconds * 1000)).toBe(text);
  });
});

describe('jsonPathComponents', () => {
  it.each([
    ['.spec.replicas', ['$', 'spec', 'replicas']],
    ['{.spec.replicas}', ['$', 'spec', 'replicas']],
    ['.metadata.annotations.example\\.com/team', ['$', 'metadata', 'annotations', 'example.com/team']],
    [".metadata.labels['app.kubernetes.io/name']", ['$', 'metadata', 'labels', 'app.kubernetes.io/name']],
    ['.status.conditions[?(@.type=="Ready")].status', ['$', 'status', 'conditions', '?(@.type=="Ready")', 'status']],
    ['.spec.containers[0].image', ['$', 'spec', 'containers', '0', 'image']],
    ['.spec.containers[*].name', ['$', 'spec', 'containers', '*', 'name']],
    ['..image', ['$', '..', 'image']],
  ])('%s', (path, components) => {
    expect(jsonPathComponents(path)).toEqual(components);
  });
});

const release = {
  apiVersion: 'shipway.dev/v1alpha1',
  kind: 'Release',
  metadata: { name: 'r1', namespace: 'apps', resourceVersion: '42', creationTimestamp: ago(5 * M), labels: { app: 'web' } },
  spec: { replicas: 3, weight: 0.25, tiny: 0.00001, paused: false, target: { cluster: 'prod', zone: 'a' }, note: null },
  status: {
    phase: 'Progressing',
    conditions: [
      { type: 'Progressing', status: 'True' },
      { type: 'Ready', status: 'False' },
    ],
    startedAt: ago(3 * H + 5 * M),
    brokenAt: 'yesterday',
    count: '7',
  },
};

describe('toTable with CRD printer columns', () => {
  const columns: PrinterColumn[] = [
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status', description: 'Ready condition' },
    { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas', priority: 1 },
    { name: 'Weight', type: 'number', format: 'float', jsonPath: '.spec.weight' },
    { name: 'Paused', type: 'boolean', jsonPath: '.spec.paused' },
    { name: 'Started', type: 'date', jsonPath: '.status.startedAt' },
    { name: 'Target', type: 'string', jsonPath: '.spec.target' },
    { name: 'Missing', type: 'string', jsonPath: '.status.nothing.here' },
    { name: 'Null', type: 'string', jsonPath: '.spec.note' },
    { name: 'Broken', type: 'date', jsonPath: '.status.brokenAt' },
    { name: 'Count', type: 'integer', jsonPath: '.status.count' },
    { name: 'Tiny', type: 'string', jsonPath: '.spec.tiny' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ];

  it('puts Name first, copies column definitions and evaluates each JSONPath by type', () => {
    const table = toTable([release], columns, { now: NOW, resourceVersion: '99', continue: 'next' });
    expect(table).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: '99', continue: 'next' } });
    expect(table.columnDefinitions[0]).toEqual({ name: 'Name', type: 'string', format: 'name', description: expect.stringContaining('Name must be unique'), priority: 0 });
    expect(table.columnDefinitions[1]).toEqual({ name: 'Phase', type: 'string', format: '', description: 'Custom resource definition column (in JSONPath format): .status.phase', priority: 0 });
    expect(table.columnDefinitions[2].description).toBe('Ready condition');
    expect(table.columnDefinitions[3]).toMatchObject({ name: 'Replicas', priority: 1 });
    expect(table.columnDefinitions[4]).toMatchObject({ name: 'Weight', format: 'float' });
    expect(table.rows[0].cells).toEqual([
      'r1',
      'Progressing',
      'False',
      3,
      0.25,
      false,
      '3h5m',
      '{"cluster":"prod","zone":"a"}',
      null,
      '<no value>',
      '<invalid>',
      null,
      '1e-05',
      '5m',
    ]);
  });

  it('sends PartialObjectMetadata rows by default, whole objects for Object and null for None', () => {
    expect(toTable([release], columns, { now: NOW }).rows[0].object).toEqual({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: release.metadata });
    expect(toTable([release], columns, { now: NOW, includeObject: 'Object' }).rows[0].object).toBe(release);
    expect(toTable([release], columns, { now: NOW, includeObject: 'None' }).rows[0].object).toBeNull();
    expect(() => toTable([release], columns, { includeObject: 'All' })).toThrow(new TableOptionsError('unrecognized includeObject value: "All"'));
  });

  it('shows Name and an Age column for a CRD version without printer columns', () => {
    const crd = { spec: { versions: [{ name: 'v1alpha1' }, { name: 'v1', additionalPrinterColumns: [{ name: 'Phase', type: 'string', jsonPath: '.status.phase' }] }] } };
    const noColumns = toTable([release], crdPrinterColumns(crd, 'v1alpha1'), { now: NOW });
    expect(noColumns.columnDefinitions.map((c: { name: string; type: string }) => [c.name, c.type])).toEqual([
      ['Name', 'string'],
      ['Age', 'date'],
    ]);
    expect(noColumns.rows[0].cells).toEqual(['r1', '5m']);
    expect(crdPrinterColumns(crd, 'v1').map((c) => c.name)).toEqual(['Phase']);
  });

  it('returns empty rows for an empty list and omits headers on request', () => {
    expect(toTable([], columns, { resourceVersion: '7' })).toMatchObject({ metadata: { resourceVersion: '7' }, rows: [] });
    expect(toTable([release], columns, { noHeaders: true }).columnDefinitions).toBeNull();
  });
});

describe('toTable without columns uses the generic convertor', () => {
  it('prints Name and Created At as an RFC 3339 date, as for CustomResourceDefinitions', () => {
    const crd = { metadata: { name: 'releases.shipway.dev', creationTimestamp: '2025-05-01T10:00:00Z' } };
    const table = toTable([crd, { metadata: { name: 'no-time' } }], undefined, { now: NOW });
    expect(table.columnDefinitions.map((c: { name: string; type: string }) => [c.name, c.type])).toEqual([
      ['Name', 'string'],
      ['Created At', 'date'],
    ]);
    expect(table.rows.map((r: { cells: unknown[] }) => r.cells)).toEqual([
      ['releases.shipway.dev', '2025-05-01T10:00:00Z'],
      ['no-time', '0001-01-01T00:00:00Z'],
    ]);
    expect(builtinPrinter('CustomResourceDefinition')).toBe(DEFAULT_PRINTER);
  });
});

describe('built-in printers', () => {
  const headers = (kind: string) =>
    BUILTIN_PRINTERS[kind]!.columns.filter((c) => c.priority === 0).map((c) => c.name.toUpperCase()).join(' ');

  it.each([
    ['Deployment', 'NAME READY UP-TO-DATE AVAILABLE AGE'],
    ['ReplicaSet', 'NAME DESIRED CURRENT READY AGE'],
    ['Pod', 'NAME READY STATUS RESTARTS AGE'],
    ['Namespace', 'NAME STATUS AGE'],
    ['ConfigMap', 'NAME DATA AGE'],
    ['Secret', 'NAME TYPE DATA AGE'],
    ['Service', 'NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE'],
    ['Job', 'NAME STATUS COMPLETIONS DURATION AGE'],
    ['StatefulSet', 'NAME READY AGE'],
    ['DaemonSet', 'NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE'],
    ['Event', 'LAST SEEN TYPE REASON OBJECT MESSAGE'],
    ['Lease', 'NAME HOLDER AGE'],
    ['Node', 'NAME STATUS ROLES AGE VERSION'],
  ])('%s shows kubectl headers %s', (kind, expected) => {
    expect(headers(kind)).toBe(expected);
  });

  const cells = (kind: string, obj: Record<string, unknown>) => toTable([obj], builtinPrinter(kind), { now: NOW }).rows[0].cells as unknown[];
  const meta = (name: string) => ({ name, namespace: 'apps', creationTimestamp: ago(5 * M) });
  const template = { spec: { containers: [{ name: 'app', image: 'web:1' }, { name: 'proxy', image: 'envoy:2' }] } };

  it('Deployment: ready/replicas, up-to-date, available and the wide cells', () => {
    const d = { metadata: meta('web'), spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template }, status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 } };
    expect(cells('Deployment', d)).toEqual(['web', '2/3', 3, 2, '5m', 'app,proxy', 'web:1,envoy:2', 'app=web']);
    expect(cells('Deployment', { metadata: meta('fresh'), spec: { replicas: 1 } }).slice(0, 4)).toEqual(['fresh', '0/1', 0, 0]);
  });

  it('ReplicaSet, StatefulSet and DaemonSet count their replicas', () => {
    const rs = { metadata: meta('web-abc'), spec: { replicas: 2, selector: { matchLabels: { app: 'web', 'pod-template-hash': 'abc' } }, template }, status: { replicas: 2, readyReplicas: 1 } };
    expect(cells('ReplicaSet', rs)).toEqual(['web-abc', 2, 2, 1, '5m', 'app,proxy', 'web:1,envoy:2', 'app=web,pod-template-hash=abc']);
    expect(cells('StatefulSet', { metadata: meta('db'), spec: { replicas: 3, template }, status: { readyReplicas: 3 } })).toEqual(['db', '3/3', '5m', 'app,proxy', 'web:1,envoy:2']);
    const ds = {
      metadata: meta('agent'),
      spec: { selector: { matchLabels: { app: 'agent' } }, template: { spec: { ...template.spec, nodeSelector: { 'kubernetes.io/os': 'linux' } } } },
      status: { desiredNumberScheduled: 4, currentNumberScheduled: 4, numberReady: 3, updatedNumberScheduled: 4, numberAvailable: 3 },
    };
    expect(cells('DaemonSet', ds)).toEqual(['agent', 4, 4, 3, 4, 3, 'kubernetes.io/os=linux', '5m', 'app,proxy', 'web:1,envoy:2', 'app=agent']);
  });

  describe('Pod status', () => {
    const running = { state: { running: { startedAt: ago(4 * M) } }, ready: true, restartCount: 0 };
    const pod = (status: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
      metadata: meta('web-1'),
      spec: { nodeName: 'node-1', containers: [{ name: 'app' }, { name: 'proxy' }] },
      status,
      ...extra,
    });

    it('shows ready containers, phase, restarts and the wide cells', () => {
      expect(cells('Pod', pod({ phase: 'Running', podIPs: [{ ip: '10.0.0.5' }], containerStatuses: [running, running] }))).toEqual([
        'web-1',
        '2/2',
        'Running',
        '0',
        '5m',
        '10.0.0.5',
        'node-1',
        '<none>',
        '<none>',
      ]);
    });

    it('takes the waiting reason of a crashing container and the time of its last restart', () => {
      const crashing = { state: { waiting: { reason: 'CrashLoopBackOff' } }, ready: false, restartCount: 4, lastState: { terminated: { exitCode: 1, finishedAt: ago(90) } } };
      expect(cells('Pod', pod({ phase: 'Running', containerStatuses: [running, crashing] })).slice(1, 4)).toEqual(['1/2', 'CrashLoopBackOff', '4 (90s ago)']);
    });

    it('reports init progress, Terminating and completion', () => {
      const init = pod({ phase: 'Pending', initContainerStatuses: [{ name: 'migrate', state: { running: {} }, restartCount: 0 }] }, {
        spec: { containers: [{ name: 'app' }], initContainers: [{ name: 'migrate' }] },
      });
      expect(cells('Pod', init).slice(1, 3)).toEqual(['0/1', 'Init:0/1']);
      const deleting = { ...pod({ phase: 'Running', containerStatuses: [running, running] }), metadata: { ...meta('web-1'), deletionTimestamp: ago(1) } };
      expect(cells('Pod', deleting)[2]).toBe('Terminating');
      const done = pod({ phase: 'Succeeded', containerStatuses: [{ state: { terminated: { exitCode: 0, reason: 'Completed' } }, ready: false, restartCount: 0 }] });
      const table = toTable([done], builtinPrinter('Pod'), { now: NOW });
      expect(table.rows[0].cells.slice(1, 3)).toEqual(['0/2', 'Completed']);
      expect(table.rows[0].conditions).toEqual([{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }]);
    });
  });

  it('Service: cluster IP, external IP by type, ports with node ports and the selector', () => {
    const svc = (spec: Record<string, unknown>, status: Record<string, unknown> = {}) => ({ metadata: meta('web'), spec, status });
    expect(
      cells('Service', svc({ type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ port: 80, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }], selector: { app: 'web' } })),
    ).toEqual(['web', 'ClusterIP', '10.96.0.10', '<none>', '80/TCP,53/UDP', '5m', 'app=web']);
    expect(cells('Service', svc({ type: 'LoadBalancer', clusterIPs: ['10.96.0.11'], ports: [{ port: 443, nodePort: 30443, protocol: 'TCP' }] })).slice(1, 5)).toEqual([
      'LoadBalancer',
      '10.96.0.11',
      '<pending>',
      '443:30443/TCP',
    ]);
    expect(cells('Service', svc({ type: 'LoadBalancer', clusterIPs: ['10.96.0.11'], ports: [] }, { loadBalancer: { ingress: [{ ip: '1.2.3.4' }, { hostname: 'lb.example' }] } }))[3]).toBe('1.2.3.4,lb.example');
    expect(cells('Service', svc({ type: 'ExternalName', externalName: 'db.example', clusterIP: 'None' })).slice(2, 5)).toEqual(['None', 'db.example', '<none>']);
  });

  it('Job: status, completions and duration', () => {
    const job = { metadata: meta('migrate'), spec: { completions: 1, template }, status: { succeeded: 1, startTime: ago(70), completionTime: ago(10), conditions: [{ type: 'Complete', status: 'True' }] } };
    expect(cells('Job', job).slice(0, 5)).toEqual(['migrate', 'Complete', '1/1', '60s', '5m']);
    const running = { metadata: meta('batch'), spec: { parallelism: 3, template }, status: { startTime: ago(3 * M) } };
    expect(cells('Job', running).slice(1, 4)).toEqual(['Running', '0/1 of 3', '3m']);
  });

  it('Namespace, ConfigMap, Secret, Lease', () => {
    expect(cells('Namespace', { metadata: meta('apps'), status: { phase: 'Active' } })).toEqual(['apps', 'Active', '5m']);
    expect(cells('ConfigMap', { metadata: meta('cfg'), data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } })).toEqual(['cfg', 3, '5m']);
    expect(cells('Secret', { metadata: meta('tls'), type: 'kubernetes.io/tls', data: { 'tls.crt': 'x', 'tls.key': 'y' } })).toEqual(['tls', 'kubernetes.io/tls', 2, '5m']);
    expect(cells('Lease', { metadata: meta('leader'), spec: { holderIdentity: 'operator-0' } })).toEqual(['leader', 'operator-0', '5m']);
  });

  it('Event: last seen, type, reason, object and message', () => {
    const ev = {
      metadata: meta('web.17a'),
      involvedObject: { kind: 'Deployment', name: 'web' },
      reason: 'ScalingReplicaSet',
      message: 'Scaled up replica set web-abc to 3 \n',
      type: 'Normal',
      source: { component: 'deployment-controller' },
      firstTimestamp: ago(10 * M),
      lastTimestamp: ago(2 * M),
      count: 4,
    };
    expect(cells('Event', ev)).toEqual(['2m', 'Normal', 'ScalingReplicaSet', 'deployment/web', '', 'deployment-controller', 'Scaled up replica set web-abc to 3', '10m', 4, 'web.17a']);
    const fresh = { metadata: meta('e2'), involvedObject: { kind: 'Pod', name: 'p' }, eventTime: ago(30), reportingComponent: 'kubelet', reportingInstance: 'node-1' };
    expect(cells('Event', fresh)).toEqual(['30s', '', '', 'pod/p', '', 'kubelet, node-1', '', '30s', 1, 'e2']);
  });
});

describe('real kubectl', () => {
  it('prints our Tables: custom columns, null cells as blanks, dates as ages, built-in printers', async () => {
    const certs = await generateServingCertificates({ hosts: ['127.0.0.1'] });
    const dir = mkdtempSync(join(tmpdir(), 'kube-table-'));
    const now = Date.now();
    const created = (seconds: number) => new Date(now - seconds * 1000).toISOString();
    const widgets = [
      { apiVersion: 'shipway.dev/v1', kind: 'Widget', metadata: { name: 'w1', namespace: 'default', creationTimestamp: created(30 * M) }, spec: { size: 3 }, status: { phase: 'Ready' } },
      { apiVersion: 'shipway.dev/v1', kind: 'Widget', metadata: { name: 'w2', namespace: 'default', creationTimestamp: created(4 * H) }, spec: {} },
    ];
    const columns: PrinterColumn[] = [
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Size', type: 'integer', jsonPath: '.spec.size' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ];
    const configMap = { metadata: { name: 'settings', namespace: 'default', creationTimestamp: created(15 * M) }, data: { a: '1', b: '2' } };
    const routes: Record<string, unknown> = {
      '/version': { major: '1', minor: '32', gitVersion: 'v1.32.0' },
      '/api': { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] },
      '/apis': { kind: 'APIGroupList', apiVersion: 'v1', groups: [{ name: 'shipway.dev', versions: [{ groupVersion: 'shipway.dev/v1', version: 'v1' }], preferredVersion: { groupVersion: 'shipway.dev/v1', version: 'v1' } }] },
      '/api/v1': { kind: 'APIResourceList', groupVersion: 'v1', resources: [{ name: 'configmaps', singularName: 'configmap', namespaced: true, kind: 'ConfigMap', verbs: ['get', 'list'] }] },
      '/apis/shipway.dev/v1': { kind: 'APIResourceList', groupVersion: 'shipway.dev/v1', resources: [{ name: 'widgets', singularName: 'widget', namespaced: true, kind: 'Widget', verbs: ['get', 'list'] }] },
    };
    const server = createServer({ key: certs.keyPem, cert: certs.certPem }, (req, res) => {
      const path = new URL(req.url ?? '/', 'https://x').pathname;
      const table = (req.headers.accept ?? '').includes('as=Table');
      let body: unknown = routes[path];
      if (path === '/apis/shipway.dev/v1/namespaces/default/widgets' && table) body = toTable(widgets, columns, { resourceVersion: '5' });
      if (path === '/api/v1/namespaces/default/configmaps' && table) body = toTable([configMap], builtinPrinter('ConfigMap'), { resourceVersion: '5' });
      res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body ?? { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    try {
      const kubeconfig = join(dir, 'kubeconfig');
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      writeFileSync(kubeconfig, renderKubeconfig({ server: url, caCertPem: certs.caCertPem, token: 't', namespace: 'default' }));
      const kubectl = async (...args: string[]) =>
        (await run('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), '--request-timeout=5s', ...args], { timeout: 30_000, env: { ...process.env, HOME: dir } })).stdout;
      const lines = (text: string) => text.trimEnd().split('\n').map((l) => l.trimEnd().split(/\s+/));
      expect(lines(await kubectl('get', 'widgets'))).toEqual([
        ['NAME', 'PHASE', 'SIZE', 'AGE'],
        ['w1', 'Ready', '3', '30m'], // ages chosen to read the same for a minute
        ['w2', '4h'],
      ]);
      expect(lines(await kubectl('get', 'configmaps'))).toEqual([
        ['NAME', 'DATA', 'AGE'],
        ['settings', '2', '15m'],
      ]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
