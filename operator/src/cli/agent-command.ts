/**
 * `shipway agent issue|revoke|list` and `shipway instances <app>`: the administrator's side of agents and the
 * release executor's queries (SPEC "Release executor queries"), against the cluster and the history database
 * the operator uses. Tables through cli-table3; `-o json` for scripts.
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import Table from 'cli-table3';
import { AgentCredentials, credentialSecretName } from '../agents/agent-credentials.ts';
import { AGENT_TLS_SECRET } from '../agents/agent-tls.ts';
import { isNotFound } from '../kubernetes/api-errors.ts';
import { createRepository, openDatabase, type Repository } from '../storage/index.ts';
import { kubeTime } from '../api/kube-time.ts';
import type { TargetSpec } from '../api/target.ts';
import { CustomResources } from '../controllers/custom-resources.ts';

export interface AgentCommandOptions {
  kubeconfig?: string;
  databaseUrl?: string;
  dataDir?: string;
  /** Where the operator keeps credential Secrets (its own namespace). */
  namespace?: string;
  output?: string;
}

type Out = (line: string) => void;

async function withRepository<T>(options: AgentCommandOptions, work: (repo: Repository) => Promise<T>): Promise<T> {
  // An explicit --data-dir is the embedded database there, whatever DATABASE_URL says.
  const database = await openDatabase(options.dataDir && !options.databaseUrl ? { driver: 'pglite', dataDir: options.dataDir } : { ...(options.databaseUrl ? { url: options.databaseUrl } : {}) });
  try {
    return await work(createRepository(database.db));
  } finally {
    await database.close();
  }
}

function kubeConfigOf(options: AgentCommandOptions): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (options.kubeconfig) kubeConfig.loadFromFile(options.kubeconfig);
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}

function core(options: AgentCommandOptions): CoreV1Api {
  return kubeConfigOf(options).makeApiClient(CoreV1Api);
}

/**
 * Where each target (`namespace/name`) is: the host of an agent target, the workload of a Kubernetes one.
 * The history knows targets only by name, so this asks the cluster; a target it cannot read shows no host.
 */
async function hostsOf(options: AgentCommandOptions, targets: readonly string[]): Promise<Map<string, string>> {
  const hosts = new Map<string, string>();
  let resources: CustomResources;
  try {
    resources = new CustomResources(kubeConfigOf(options), 'targets');
  } catch {
    return hosts;
  }
  await Promise.all(targets.map(async (target) => {
    const [namespace, name] = target.split('/');
    if (!namespace || !name) return;
    const found = await resources.get(namespace, name).catch(() => undefined);
    const spec = found?.spec as TargetSpec | undefined;
    if (!spec) return;
    const workload = spec.kubernetes ? `${spec.kubernetes.kind}/${spec.kubernetes.namespace ?? namespace}/${spec.kubernetes.name}${spec.kubernetes.kubeconfigSecretRef ? ' (remote cluster)' : ''}` : undefined;
    const host = spec.host ?? workload;
    if (host) hosts.set(target, host);
  }));
  return hosts;
}

async function credentials(options: AgentCommandOptions, repo: Repository): Promise<AgentCredentials> {
  const api = core(options);
  const namespace = options.namespace ?? 'default';
  let caPem = '';
  try {
    const tls = await api.readNamespacedSecret({ name: AGENT_TLS_SECRET, namespace });
    caPem = Buffer.from(tls.data?.['ca.crt'] ?? '', 'base64').toString('utf8');
  } catch (error) {
    // Before the operator's first start there is no CA yet; the operator adds it to the Secret then.
    if (!isNotFound(error)) throw error;
  }
  return new AgentCredentials({ core: api, repo, namespace, caPem: () => caPem });
}

export async function runAgentIssue(agentId: string, options: AgentCommandOptions, out: Out): Promise<number> {
  await withRepository(options, async (repo) => (await credentials(options, repo)).issue(agentId));
  out(`agent ${agentId}: new credential in Secret ${options.namespace ?? 'default'}/${credentialSecretName(agentId)} (keys agent-id, token, ca.crt); the old one no longer works`);
  return 0;
}

export async function runAgentRevoke(agentId: string, options: AgentCommandOptions, out: Out): Promise<number> {
  await withRepository(options, async (repo) => (await credentials(options, repo)).revoke(agentId));
  out(`agent ${agentId}: credential revoked; the agent is refused until \`shipway agent issue ${agentId}\``);
  return 0;
}

export async function runAgentList(options: AgentCommandOptions, out: Out): Promise<number> {
  const agents = await withRepository(options, (repo) => repo.listAgents());
  const rows = agents.map((a) => ({
    id: a.id, status: a.revokedAt ? 'revoked' : a.status, lastSeenAt: a.lastSeenAt ? kubeTime(a.lastSeenAt) : null, version: a.version, credentialIssuedAt: kubeTime(a.credentialIssuedAt),
  }));
  if (options.output === 'json') {
    out(JSON.stringify(rows, null, 2));
    return 0;
  }
  const table = new Table({ head: ['AGENT', 'STATUS', 'LAST SEEN', 'VERSION', 'CREDENTIAL ISSUED'], style: { head: [], border: [] } });
  for (const r of rows) table.push([r.id, r.status, r.lastSeenAt ?? '-', r.version ?? '-', r.credentialIssuedAt]);
  out(table.toString());
  return 0;
}

/** Every instance (target) of an app with its host, state and version, and how many run each version. */
export async function runInstances(app: string, options: AgentCommandOptions, out: Out): Promise<number> {
  const { instances, versions } = await withRepository(options, (repo) => repo.getInstancesOfApp(app));
  const hosts = await hostsOf(options, instances.map((i) => i.target));
  if (options.output === 'json') {
    out(JSON.stringify({ app, instances: instances.map((i) => ({ target: i.target, host: hosts.get(i.target) ?? null, state: i.state, version: i.version, previousVersion: i.previousVersion, installedAt: i.installedAt ? kubeTime(i.installedAt) : null })), versions }, null, 2));
    return 0;
  }
  if (instances.length === 0) {
    out(`no instance of ${app} is known`);
    return 0;
  }
  const table = new Table({ head: ['TARGET', 'HOST', 'STATE', 'VERSION', 'PREVIOUS', 'INSTALLED'], style: { head: [], border: [] } });
  for (const i of instances) table.push([i.target, hosts.get(i.target) ?? '-', i.state, i.version ?? '-', i.previousVersion ?? '-', i.installedAt ? kubeTime(i.installedAt) : '-']);
  out(table.toString());
  const summary = new Table({ head: ['VERSION', 'INSTANCES'], style: { head: [], border: [] } });
  for (const [version, count] of Object.entries(versions).sort((a, b) => b[1] - a[1])) summary.push([version, String(count)]);
  out(summary.toString());
  return 0;
}
