/**
 * The chart rendered by the real helm binary with several value sets: the objects a user gets, the flags the
 * operator is started with (each one must exist in `shipway operator --help`), and the values it refuses.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { run } from '../conformance/cluster.ts';
import { CHART, envVar, flags, helm, NAMESPACE, operatorContainer, RELEASE, render, ROOT, template, valuesFile, type Obj } from './chart.ts';

const FULLNAME = `${RELEASE}-shipway`;
const EXTERNAL_DB = { database: { mode: 'external', external: { existingSecret: 'shipway-db', secretKey: 'url' } } };

describe('helm lint', () => {
  it('passes, also with --strict, with the default values and with an external database', async () => {
    for (const extra of [[], ['-f', valuesFile({ ...EXTERNAL_DB, replicaCount: 2 })]]) {
      for (const strict of [[], ['--strict']]) {
        const result = await helm(['lint', CHART, ...strict, ...extra]);
        expect(result.code, result.stdout + result.stderr).toBe(0);
        expect(result.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
      }
    }
  }, 120_000);
});

describe('chart metadata', () => {
  it('ships CRDs byte-identical to crds/*.yaml (copy them again after `npm run crds`)', () => {
    const source = readdirSync(join(ROOT, 'crds')).filter((f) => f.endsWith('.yaml')).sort();
    const shipped = readdirSync(join(CHART, 'crds')).sort();
    expect(shipped).toEqual(source);
    expect(source).toHaveLength(4);
    for (const file of source) {
      const same = readFileSync(join(CHART, 'crds', file)).equals(readFileSync(join(ROOT, 'crds', file)));
      expect(same, `charts/shipway/crds/${file} differs from crds/${file}: run npm run crds`).toBe(true);
    }
  });

  it('documents every value in the README table', () => {
    const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
    const documented = new Set([...readme.matchAll(/^\| `([^`]+)`(?: \/ `([^`]+)`)? \|/gm)].flatMap((m) => [m[1]!, m[2]].filter((k): k is string => k !== undefined)));
    // A leaf of values.yaml is documented when it, or an object above it (resources, podSecurityContext...), has a row.
    const leaves = (value: unknown, path: string): string[] =>
      value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0
        ? Object.entries(value).flatMap(([k, v]) => leaves(v, path ? `${path}.${k}` : k))
        : [path];
    const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Obj;
    const undocumented = leaves(values, '').filter((leaf) => !leaf.split('.').some((_, i, parts) => documented.has(parts.slice(0, i + 1).join('.'))));
    expect(undocumented).toEqual([]);
  });

  it("takes appVersion from package.json's version, and the image tag defaults to it", async () => {
    const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as Obj;
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Obj;
    expect(chart.apiVersion).toBe('v2');
    expect(chart.appVersion).toBe(pkg.version);
    expect(operatorContainer(await render()).image).toBe(`shipway:${pkg.version}`);
    expect(operatorContainer(await render({ image: { repository: 'registry.example.com/shipway', tag: '9.9.9', pullPolicy: 'Always' } }))).toMatchObject({
      image: 'registry.example.com/shipway:9.9.9',
      imagePullPolicy: 'Always',
    });
  });
});

describe('helm template with the default values (embedded PGlite on a PersistentVolumeClaim)', () => {
  it('starts the operator with its identity, lease namespace, data dir, HTTP port and agent endpoint', async () => {
    const rendered = await render();
    const container = operatorContainer(rendered);
    expect(container.command).toEqual(['node', 'bin/shipway.js', 'operator']);
    const args = flags(container);
    expect(Object.fromEntries(args)).toEqual({
      '--lease-namespace': NAMESPACE,
      '--identity': '$(POD_NAME)',
      '--http-port': '8080',
      '--data-dir': '/var/lib/shipway',
      '--agent-port': '7443',
      '--agent-hostnames': [FULLNAME, NAMESPACE, `${NAMESPACE}.svc`, `${NAMESPACE}.svc.cluster.local`].map((s, i) => (i === 0 ? `${s}-agents` : `${FULLNAME}-agents.${s}`)).join(','),
      '--agent-namespace': NAMESPACE,
    });
    // $(POD_NAME) is expanded by the kubelet from this variable: the replica's name in the Lease.
    expect(envVar(container, 'POD_NAME')).toEqual({ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    expect(envVar(container, 'DATABASE_URL')).toBeUndefined();
  });

  it('keeps PGlite on a claim mounted at the data dir, with one replica replaced by Recreate', async () => {
    const rendered = await render();
    const deployment = rendered.one('Deployment', FULLNAME);
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
    const pvc = rendered.one('PersistentVolumeClaim', `${FULLNAME}-data`);
    expect(pvc.spec).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } });
    expect(pvc.metadata.annotations['helm.sh/resource-policy']).toBe('keep');
    const pod = deployment.spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: `${FULLNAME}-data` } });
    expect(operatorContainer(rendered).volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/lib/shipway' });
  });

  it('probes /healthz and /readyz on the http port, and runs non-root on a read-only root filesystem with a writable /tmp', async () => {
    const rendered = await render();
    const container = operatorContainer(rendered);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.ports).toEqual([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'agents', containerPort: 7443, protocol: 'UDP' },
    ]);
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    const pod = rendered.one('Deployment').spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, fsGroup: 10001 });
    expect(pod.serviceAccountName).toBe(FULLNAME);
    expect(container.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    expect(pod.volumes).toContainEqual({ name: 'tmp', emptyDir: {} });
    expect(container.resources.requests).toEqual({ cpu: '100m', memory: '256Mi' });
  });

  it('serves HTTP on a TCP Service and the agent endpoint on a UDP Service, both selecting the operator pods', async () => {
    const rendered = await render();
    const selector = rendered.one('Deployment').spec.selector.matchLabels;
    const http = rendered.one('Service', FULLNAME);
    expect(http.spec).toMatchObject({ type: 'ClusterIP', selector, ports: [{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }] });
    const agents = rendered.one('Service', `${FULLNAME}-agents`);
    // Agents reach only the leading replica: it labels its own pod shipway.dev/leader=true.
    expect(agents.spec).toMatchObject({ type: 'ClusterIP', selector: { ...selector, 'shipway.dev/leader': 'true' }, ports: [{ name: 'agents', port: 7443, targetPort: 'agents', protocol: 'UDP' }] });
    expect(rendered.one('ServiceAccount').metadata.name).toBe(FULLNAME);
    expect(rendered.all('Secret')).toEqual([]);
  });
});

describe('helm template with other values', () => {
  it('external database from an existing Secret: DATABASE_URL from the Secret, no data dir, no claim, a rolling update', async () => {
    const rendered = await render(EXTERNAL_DB);
    const container = operatorContainer(rendered);
    expect(envVar(container, 'DATABASE_URL')).toEqual({ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'shipway-db', key: 'url' } } });
    const args = flags(container);
    expect(args.has('--data-dir')).toBe(false);
    expect(args.has('--database-url')).toBe(false);
    expect(rendered.all('PersistentVolumeClaim')).toEqual([]);
    expect(rendered.all('Secret')).toEqual([]);
    expect(rendered.one('Deployment').spec.strategy).toEqual({ type: 'RollingUpdate' });
    expect(container.volumeMounts.map((m: Obj) => m.name)).toEqual(['tmp']);
  });

  it('external database from database.external.url: the chart writes the Secret and the pod reads it from there', async () => {
    const url = 'postgres://shipway:pw@db:5432/shipway';
    const rendered = await render({ database: { mode: 'external', external: { url } } });
    const secret = rendered.one('Secret', `${FULLNAME}-database`);
    expect(secret.stringData).toEqual({ 'database-url': url });
    const container = operatorContainer(rendered);
    expect(envVar(container, 'DATABASE_URL')!.valueFrom.secretKeyRef).toEqual({ name: `${FULLNAME}-database`, key: 'database-url' });
    expect(JSON.stringify(container)).not.toContain('pw@db');
  });

  it('two replicas with an external database: both run, the Lease Role lets them elect a leader', async () => {
    const rendered = await render({ ...EXTERNAL_DB, replicaCount: 2 });
    expect(rendered.one('Deployment').spec.replicas).toBe(2);
    const role = rendered.one('Role', `${FULLNAME}-leader-election`);
    expect(role.metadata.namespace).toBe(NAMESPACE);
    expect(role.rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['shipway-operator'], verbs: ['get', 'update'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['patch'] },
    ]);
    const binding = rendered.one('RoleBinding', `${FULLNAME}-leader-election`);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: FULLNAME, namespace: NAMESPACE }]);
  });

  it('agents disabled: no UDP Service, port, agent flags or agent Secret Role', async () => {
    const rendered = await render({ agents: { enabled: false } });
    expect(rendered.all('Service').map((s) => s.metadata.name)).toEqual([FULLNAME]);
    const container = operatorContainer(rendered);
    expect(container.ports.map((p: Obj) => p.name)).toEqual(['http']);
    expect([...flags(container).keys()].filter((f) => f.startsWith('--agent'))).toEqual([]);
    expect(rendered.all('Role').map((r) => r.metadata.name)).toEqual([`${FULLNAME}-leader-election`]);
  });

  it('agents behind a LoadBalancer in their own namespace: annotations, port, certificate names and the Role follow', async () => {
    const rendered = await render({
      agents: {
        port: 9443,
        namespace: 'shipway-agents',
        hostnames: ['agents.example.com'],
        service: { type: 'LoadBalancer', annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' }, externalTrafficPolicy: 'Local', nodePort: 31443 },
      },
    });
    const service = rendered.one('Service', `${FULLNAME}-agents`);
    expect(service.metadata.annotations).toEqual({ 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' });
    expect(service.spec).toMatchObject({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', ports: [{ port: 9443, protocol: 'UDP', nodePort: 31443 }] });
    const args = flags(operatorContainer(rendered));
    expect(args.get('--agent-port')).toBe('9443');
    expect(args.get('--agent-namespace')).toBe('shipway-agents');
    expect(args.get('--agent-hostnames')!.split(',')).toEqual(['agents.example.com', `${FULLNAME}-agents`, `${FULLNAME}-agents.${NAMESPACE}`, `${FULLNAME}-agents.${NAMESPACE}.svc`, `${FULLNAME}-agents.${NAMESPACE}.svc.cluster.local`]);
    const role = rendered.one('Role', `${FULLNAME}-agents`);
    expect(role.metadata.namespace).toBe('shipway-agents');
    expect(rendered.one('RoleBinding', `${FULLNAME}-agents`).metadata.namespace).toBe('shipway-agents');
  });

  it('PGlite on an existing claim, on no claim at all, and on a named StorageClass', async () => {
    const existing = await render({ database: { embedded: { persistence: { existingClaim: 'history' } } } });
    expect(existing.all('PersistentVolumeClaim')).toEqual([]);
    expect(existing.one('Deployment').spec.template.spec.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'history' } });

    const ephemeral = await render({ database: { embedded: { persistence: { enabled: false } } } });
    expect(ephemeral.all('PersistentVolumeClaim')).toEqual([]);
    expect(ephemeral.one('Deployment').spec.template.spec.volumes).toContainEqual({ name: 'data', emptyDir: {} });

    const classed = await render({ database: { embedded: { dataDir: '/data/pglite', persistence: { storageClass: 'fast', size: '10Gi', keepOnUninstall: false } } } });
    const pvc = classed.one('PersistentVolumeClaim');
    expect(pvc.spec).toMatchObject({ storageClassName: 'fast', resources: { requests: { storage: '10Gi' } } });
    expect(pvc.metadata.annotations?.['helm.sh/resource-policy']).toBeUndefined();
    expect(flags(operatorContainer(classed)).get('--data-dir')).toBe('/data/pglite');

    const noClass = await render({ database: { embedded: { persistence: { storageClass: '-' } } } });
    expect(noClass.one('PersistentVolumeClaim').spec.storageClassName).toBe('');
  });

  it('the webhook secret is mounted as a file and named by --webhook-secret-file', async () => {
    const created = await render({ webhook: { secret: 's3cret' } });
    expect(created.one('Secret', `${FULLNAME}-webhook`).stringData).toEqual({ 'webhook-secret': 's3cret' });
    const container = operatorContainer(created);
    expect(flags(container).get('--webhook-secret-file')).toBe('/etc/shipway/webhook/webhook-secret');
    expect(container.volumeMounts).toContainEqual({ name: 'webhook-secret', mountPath: '/etc/shipway/webhook', readOnly: true });
    expect(JSON.stringify(created.one('Deployment'))).not.toContain('s3cret');

    const existing = await render({ webhook: { existingSecret: 'drone', secretKey: 'hmac' } });
    expect(existing.all('Secret')).toEqual([]);
    expect(flags(operatorContainer(existing)).get('--webhook-secret-file')).toBe('/etc/shipway/webhook/hmac');
    expect(existing.one('Deployment').spec.template.spec.volumes).toContainEqual({ name: 'webhook-secret', secret: { secretName: 'drone', defaultMode: 0o440, items: [{ key: 'hmac', path: 'hmac' }] } });

    expect(flags(operatorContainer(await render())).has('--webhook-secret-file')).toBe(false);
  });

  it('operator settings, scheduling, annotations, pull secrets, extra args and env reach the pod', async () => {
    const rendered = await render({
      operator: { watchNamespace: 'apps', keepFinished: 0, concurrency: 4, pollIntervalMs: 1000, installCrds: true, leaderElection: { leaseDurationMs: 20000, renewDeadlineMs: 15000, retryPeriodMs: 3000 } },
      http: { port: 9090, service: { type: 'ClusterIP', port: 80 } },
      metrics: { podAnnotations: true },
      podAnnotations: { team: 'platform' },
      imagePullSecrets: [{ name: 'regcred' }],
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [{ key: 'ops', operator: 'Exists', effect: 'NoSchedule' }],
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['ops'] }] }] } } },
      extraArgs: ['--agent-host', '0.0.0.0'],
      extraEnv: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=768' }],
    });
    const container = operatorContainer(rendered);
    const args = flags(container);
    expect(Object.fromEntries([...args].filter(([f]) => ['--namespace', '--keep-finished', '--concurrency', '--poll-interval', '--install-crds', '--lease-duration', '--renew-deadline', '--retry-period', '--http-port', '--agent-host'].includes(f)))).toEqual({
      '--namespace': 'apps', '--keep-finished': '0', '--concurrency': '4', '--poll-interval': '1000', '--install-crds': '',
      '--lease-duration': '20000', '--renew-deadline': '15000', '--retry-period': '3000', '--http-port': '9090', '--agent-host': '0.0.0.0',
    });
    expect(envVar(container, 'NODE_OPTIONS')).toEqual({ name: 'NODE_OPTIONS', value: '--max-old-space-size=768' });
    expect(container.ports[0]).toEqual({ name: 'http', containerPort: 9090, protocol: 'TCP' });
    const template = rendered.one('Deployment').spec.template;
    expect(template.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090', 'prometheus.io/path': '/metrics', team: 'platform' });
    expect(template.spec).toMatchObject({ imagePullSecrets: [{ name: 'regcred' }], nodeSelector: { 'kubernetes.io/os': 'linux' }, tolerations: [{ key: 'ops' }] });
    expect(template.spec.affinity.nodeAffinity).toBeDefined();
    expect(rendered.one('Service', FULLNAME).spec.ports[0]).toMatchObject({ port: 80, targetPort: 'http' });
    // --install-crds needs the CRD rights, and only then are they granted.
    expect(rendered.one('ClusterRole').rules).toContainEqual({ apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['get', 'create'] });
    expect(JSON.stringify((await render()).one('ClusterRole').rules)).not.toContain('customresourcedefinitions');
  });
});

describe('values the chart refuses', () => {
  const refused = async (values: Obj, extra: string[] = []) => {
    const result = await template(values, extra);
    expect(result.code, result.stdout).not.toBe(0);
    return result.stderr;
  };

  it('two replicas with the embedded PGlite database, naming replicaCount (schema, and the template without it)', async () => {
    expect(await refused({ replicaCount: 2 })).toMatch(/replicaCount: Must be less than or equal to 1/);
    expect(await refused({ replicaCount: 2 }, ['--skip-schema-validation'])).toMatch(/replicaCount: 2 replicas need database\.mode=external/);
  });

  it('ports out of range, naming the port', async () => {
    expect(await refused({ agents: { port: 70000 } })).toMatch(/agents\.port: Must be less than or equal to 65535/);
    expect(await refused({ http: { port: 0 } })).toMatch(/http\.port: Must be greater than or equal to 1/);
    expect(await refused({ agents: { port: '7443' } })).toMatch(/agents\.port: Invalid type\. Expected: integer, given: string/);
  });

  it('an unknown database mode, and an external database without a Secret or URL', async () => {
    expect(await refused({ database: { mode: 'sqlite' } })).toMatch(/database\.mode: database\.mode must be one of the following: "embedded", "external"/);
    expect(await refused({ database: { mode: 'external' } })).toMatch(/database\.external: Must validate at least one schema/);
    expect(await refused({ database: { mode: 'external' } }, ['--skip-schema-validation'])).toMatch(/database\.external: database\.mode=external needs database\.external\.existingSecret/);
    expect(await refused({ database: { mode: 'external', external: { url: 'mysql://db' } } })).toMatch(/database\.external\.url: Does not match pattern/);
  });

  it('unknown keys and wrong enums, naming them', async () => {
    expect(await refused({ replicas: 2 })).toMatch(/Additional property replicas is not allowed/);
    expect(await refused({ agents: { service: { type: 'Ingress' } } })).toMatch(/agents\.service\.type: agents\.service\.type must be one of the following/);
    expect(await refused({ image: { pullPolicy: 'Sometimes' } })).toMatch(/image\.pullPolicy: image\.pullPolicy must be one of the following/);
  });
});

/** The options `shipway operator --help` lists, from the real CLI. */
async function operatorOptions(): Promise<Set<string>> {
  const result = await run(process.execPath, [join(ROOT, 'bin/shipway.js'), 'operator', '--help'], process.env, { timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(`shipway operator --help exited ${result.code}: ${result.stderr}`);
  return new Set(result.stdout.match(/--[a-z][a-z-]*/g) ?? []);
}

describe('the flags the chart renders', () => {
  it('are all options of `shipway operator`, with every optional value set', async () => {
    const sets: Obj[] = [
      { webhook: { secret: 'x' }, agents: { hostnames: ['a.example.com'] } },
      { ...EXTERNAL_DB, replicaCount: 2, operator: { watchNamespace: 'apps', keepFinished: 3, concurrency: 2, pollIntervalMs: 700, installCrds: true, leaderElection: { leaseDurationMs: 20000, renewDeadlineMs: 15000, retryPeriodMs: 3000 } } },
    ];
    const rendered = new Set<string>();
    for (const values of sets) for (const flag of flags(operatorContainer(await render(values))).keys()) rendered.add(flag);
    // Every value that becomes a flag is set in one of the sets above.
    expect([...rendered].sort()).toEqual([
      '--agent-hostnames', '--agent-namespace', '--agent-port', '--concurrency', '--data-dir', '--http-port', '--identity', '--install-crds', '--keep-finished',
      '--lease-duration', '--lease-namespace', '--namespace', '--poll-interval', '--renew-deadline', '--retry-period', '--webhook-secret-file',
    ]);
    const known = await operatorOptions();
    expect([...rendered].filter((f) => !known.has(f))).toEqual([]);
  }, 120_000);
});
