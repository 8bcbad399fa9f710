/**
 * What every command that talks to the cluster shares, so `shipway` and `kubectl shipway` read their
 * flags the way kubectl does: the kubeconfig (`--kubeconfig`, else KUBECONFIG, ~/.kube/config or
 * in-cluster), `--context`, and who acts (`--as`, else the kubeconfig's current user).
 */
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { userInfo } from 'node:os';
import { UsageError } from './usage-error.ts';

export { UsageError } from './usage-error.ts';

export interface KubeAccessOptions {
  kubeconfig?: string;
  context?: string;
}

export function kubeConfigOf(options: KubeAccessOptions): KubeConfig {
  const config = new KubeConfig();
  if (options.kubeconfig) config.loadFromFile(options.kubeconfig);
  else config.loadFromDefault();
  if (options.context) {
    // client-node accepts any name here and fails later with a puzzling "no cluster"; kubectl says which context.
    if (!config.getContextObject(options.context)) throw new UsageError(`context "${options.context}" does not exist in the kubeconfig`);
    config.setCurrentContext(options.context);
  }
  return config;
}

/**
 * The actor recorded with an action: `--as`, else the kubeconfig's current user (the name a team's
 * kubeconfigs tell apart, unlike the local login), else the local login for an in-cluster config.
 */
export function actorOf(options: { as?: string }, config: KubeConfig): string {
  return options.as?.trim() || config.getCurrentUser()?.name || userInfo().username;
}

/** "30", "30s" → 30; anything else is a usage error naming the flag. */
export function parseSeconds(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value.replace(/s$/, ''));
  if (!Number.isFinite(parsed) || parsed <= 0) throw new UsageError(`${flag} "${value}" is not a number of seconds`);
  return parsed;
}

/**
 * An error from the API server or the connection in one line: client-node's ApiException carries the whole
 * response (headers and body); the Status message in the body is what kubectl would print.
 */
export function describeError(error: unknown): string {
  if (error instanceof ApiException) {
    let message: string | undefined;
    try {
      message = (JSON.parse(String(error.body)) as { message?: string }).message;
    } catch {
      message = undefined;
    }
    return `the API server answered ${error.code}${message ? `: ${message}` : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** `-n`, else the namespace of the kubeconfig's current context, else default — as kubectl picks it. */
export function namespaceOf(options: { namespace?: string }, config: KubeConfig): string {
  return options.namespace || config.getContextObject(config.getCurrentContext())?.namespace || 'default';
}
