/**
 * `shipway operator`: runs the operator until SIGTERM or SIGINT, then stops cleanly — it releases its
 * lease so a standby replica takes over at once, and leaves unfinished work in history to be resumed.
 */
import { readFile } from 'node:fs/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { startOperator } from '../operator.ts';

export interface OperatorCommandOptions {
  kubeconfig?: string;
  databaseUrl?: string;
  dataDir?: string;
  namespace?: string;
  leaseNamespace?: string;
  identity?: string;
  keepFinished?: string;
  installCrds?: boolean;
  concurrency?: string;
  pollInterval?: string;
  leaseDuration?: string;
  renewDeadline?: string;
  retryPeriod?: string;
  agentPort?: string;
  agentHost?: string;
  agentHostnames?: string;
  agentNamespace?: string;
  httpPort?: string;
  httpHost?: string;
  webhookSecretFile?: string;
}

const int = (value: string | undefined, name: string) => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got "${value}"`);
  return n;
};

/** The secret from the file (a mounted Secret: its trailing newline is not part of it), else the environment. */
async function webhookSecretOf(file: string | undefined): Promise<string | undefined> {
  if (!file) return process.env.SHIPWAY_WEBHOOK_SECRET?.trim() || undefined;
  const text = (await readFile(file, 'utf8').catch((error: Error) => {
    throw new Error(`--webhook-secret-file ${file} cannot be read: ${error.message}`);
  })).trim();
  if (!text) throw new Error(`--webhook-secret-file ${file} is empty`);
  return text;
}

export async function runOperator(options: OperatorCommandOptions, log: (line: string) => void): Promise<number> {
  const kubeConfig = new KubeConfig();
  if (options.kubeconfig) kubeConfig.loadFromFile(options.kubeconfig);
  else kubeConfig.loadFromDefault();
  const keepFinished = int(options.keepFinished, 'keep-finished');
  const concurrency = int(options.concurrency, 'concurrency');
  const pollIntervalMs = int(options.pollInterval, 'poll-interval');
  const leaseDurationMs = int(options.leaseDuration, 'lease-duration');
  const renewDeadlineMs = int(options.renewDeadline, 'renew-deadline');
  const retryPeriodMs = int(options.retryPeriod, 'retry-period');
  const agentPort = int(options.agentPort, 'agent-port');
  if (agentPort !== undefined && agentPort > 65535) throw new Error(`--agent-port must be a UDP port (0-65535), got ${agentPort}`);
  const httpPort = int(options.httpPort, 'http-port');
  if (httpPort !== undefined && httpPort > 65535) throw new Error(`--http-port must be a TCP port (0-65535), got ${httpPort}`);
  const webhookSecret = await webhookSecretOf(options.webhookSecretFile);
  const operator = await startOperator({
    kubeConfig,
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.namespace ? { namespace: options.namespace } : {}),
    ...(options.leaseNamespace ? { leaseNamespace: options.leaseNamespace } : {}),
    ...(options.identity ? { identity: options.identity } : {}),
    ...(keepFinished !== undefined ? { keepFinished } : {}),
    ...(options.installCrds ? { installCrds: true } : {}),
    ...(concurrency ? { concurrency } : {}),
    ...(pollIntervalMs ? { pollIntervalMs } : {}),
    ...(leaseDurationMs ? { leaseDurationMs } : {}),
    ...(renewDeadlineMs ? { renewDeadlineMs } : {}),
    ...(retryPeriodMs ? { retryPeriodMs } : {}),
    ...(agentPort !== undefined ? { agentPort } : {}),
    ...(options.agentHost ? { agentHost: options.agentHost } : {}),
    ...(options.agentHostnames ? { agentHostnames: options.agentHostnames.split(',').map((h) => h.trim()).filter(Boolean) } : {}),
    ...(options.agentNamespace ? { agentNamespace: options.agentNamespace } : {}),
    ...(httpPort !== undefined ? { httpPort } : {}),
    ...(options.httpHost ? { httpHost: options.httpHost } : {}),
    ...(webhookSecret ? { webhookSecret } : {}),
    // In a pod (the chart sets both from the downward API): the leader labels its pod for the agent Service.
    ...(process.env.POD_NAME && process.env.POD_NAMESPACE ? { pod: { name: process.env.POD_NAME, namespace: process.env.POD_NAMESPACE } } : {}),
    log: (line) => log(`${new Date().toISOString()} ${line}`),
  });
  log(`${new Date().toISOString()} shipway operator ${operator.identity} started; history in ${operator.database.description}`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  log(`${new Date().toISOString()} stopping`);
  await operator.stop();
  return 0;
}
