/**
 * The TLS material of a docker Target's engine (`spec.docker.tlsSecretRef`): the operator reads the Secret and
 * sends the PEMs in the task's config, because agents hold no Kubernetes credentials. The private key joins
 * the secret registry, so every log line, event, status and history row masks it like any secret variable.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import { isNotFound } from '../kubernetes/api-errors.ts';
import type { SecretRegistry } from '../runtime/secret-registry.ts';
import type { DockerTlsMaterial } from '../tasks/agent-dispatch.ts';

const KEYS = { ca: 'ca.pem', cert: 'cert.pem', key: 'key.pem' } as const;

export function dockerTlsReader(core: CoreV1Api, secrets: SecretRegistry): (namespace: string, name: string) => Promise<DockerTlsMaterial> {
  return async (namespace, name) => {
    const where = `Secret ${namespace}/${name} (docker.tlsSecretRef)`;
    let data: Record<string, string> | undefined;
    try {
      data = (await core.readNamespacedSecret({ namespace, name })).data;
    } catch (error) {
      if (isNotFound(error)) throw new Error(`${where} not found`);
      throw error;
    }
    const read = (key: string) => {
      const value = data?.[key];
      if (!value) throw new Error(`${where} has no ${key}`);
      return Buffer.from(value, 'base64').toString('utf8');
    };
    const material = { ca: read(KEYS.ca), cert: read(KEYS.cert), key: read(KEYS.key) };
    secrets.set(`docker-tls/${namespace}/${name}`, [material.key]);
    return material;
  };
}
