/**
 * Which cluster a Target's workload lives in: the operator's own, or the remote one whose kubeconfig is
 * stored in the Secret `spec.kubernetes.kubeconfigSecretRef` names (in the Target's namespace).
 *
 * The Secret is read on every call, so a rotated kubeconfig takes effect at once; what is cached (per
 * Secret namespace/name/resourceVersion and key) is the parsed KubeConfig, so callers that key their API
 * clients on it keep reusing them. Kubeconfig contents never appear in errors or logs: they hold credentials.
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { TargetRef } from '../tasks/task-executor.ts';
import { apiErrorMessage, isNotFound } from './api-errors.ts';

export type TargetConfigReason = 'NotKubernetesTarget' | 'KubeconfigSecretNotFound' | 'KubeconfigKeyNotFound' | 'KubeconfigInvalid' | 'KubeconfigSecretUnreadable';

/** The Target's configuration does not lead to a usable cluster; `reason` suits a condition's reason. */
export class TargetConfigError extends Error {
  override name = 'TargetConfigError';
  constructor(
    readonly reason: TargetConfigReason,
    message: string,
  ) {
    super(message);
  }
}

interface CachedConfig {
  resourceVersion: string;
  key: string;
  kubeConfig: KubeConfig;
}

export class ClusterClients {
  private readonly core: CoreV1Api;
  private readonly cache = new Map<string, CachedConfig>();

  /** `kubeConfig` is the operator's own: for targets without a kubeconfig Secret, and to read those Secrets. */
  constructor(private readonly kubeConfig: KubeConfig) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  async kubeConfigFor(target: TargetRef): Promise<KubeConfig> {
    const spec = target.spec.kubernetes;
    if (target.spec.type !== 'kubernetes' || !spec) {
      throw new TargetConfigError('NotKubernetesTarget', `Target ${target.namespace}/${target.name} is a ${target.spec.type} target, not a kubernetes one`);
    }
    const ref = spec.kubeconfigSecretRef;
    if (!ref) return this.kubeConfig;

    const where = `Secret ${target.namespace}/${ref.name}`;
    let secret;
    try {
      secret = await this.core.readNamespacedSecret({ namespace: target.namespace, name: ref.name });
    } catch (error) {
      if (isNotFound(error)) throw new TargetConfigError('KubeconfigSecretNotFound', `${where} (spec.kubernetes.kubeconfigSecretRef of Target ${target.name}) not found`);
      throw new TargetConfigError('KubeconfigSecretUnreadable', `cannot read ${where}: ${apiErrorMessage(error)}`);
    }
    const cacheKey = `${target.namespace}/${ref.name}`;
    const resourceVersion = secret.metadata?.resourceVersion ?? '';
    const cached = this.cache.get(cacheKey);
    if (cached && cached.resourceVersion === resourceVersion && cached.key === ref.key) return cached.kubeConfig;

    const encoded = secret.data?.[ref.key];
    if (encoded === undefined) throw new TargetConfigError('KubeconfigKeyNotFound', `${where} has no key "${ref.key}" (spec.kubernetes.kubeconfigSecretRef of Target ${target.name})`);
    const kubeConfig = parseKubeconfig(Buffer.from(encoded, 'base64').toString('utf8'), `key "${ref.key}" of ${where}`);
    this.cache.set(cacheKey, { resourceVersion, key: ref.key, kubeConfig });
    return kubeConfig;
  }
}

/** A kubeconfig with a current context and cluster; parser messages are not passed on, as they quote the text. */
function parseKubeconfig(text: string, source: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromString(text);
  } catch {
    throw new TargetConfigError('KubeconfigInvalid', `${source} is not a valid kubeconfig`);
  }
  if (!kubeConfig.getCurrentCluster()) throw new TargetConfigError('KubeconfigInvalid', `${source} is a kubeconfig without a current context and cluster`);
  return kubeConfig;
}
