/**
 * The operator reads a docker Target's tlsSecretRef Secret for the agent, through the real client against the
 * API emulator: the PEMs come back, the private key is masked from then on, and a missing Secret or key is an
 * error naming it.
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerTlsReader } from '../../operator/src/agents/docker-tls-secrets.ts';
import { SecretRegistry } from '../../operator/src/runtime/secret-registry.ts';
import { startEmulator, type RunningEmulator } from '../kube-api/emulator.ts';

describe('docker tlsSecretRef', () => {
  let emulator: RunningEmulator;
  let core: CoreV1Api;
  const b64 = (text: string) => Buffer.from(text).toString('base64');

  beforeAll(async () => {
    emulator = await startEmulator();
    const kc = new KubeConfig();
    kc.loadFromString(emulator.kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'shop' } } });
    await core.createNamespacedSecret({ namespace: 'shop', body: { metadata: { name: 'edge-tls' }, data: { 'ca.pem': b64('CA PEM\n'), 'cert.pem': b64('CERT PEM\n'), 'key.pem': b64('-----BEGIN PRIVATE KEY-----\nk3y-material\n-----END PRIVATE KEY-----\n') } } });
    await core.createNamespacedSecret({ namespace: 'shop', body: { metadata: { name: 'half-tls' }, data: { 'ca.pem': b64('CA PEM\n') } } });
  }, 60_000);
  afterAll(async () => {
    await emulator?.stop();
  });

  it('returns the PEMs and masks the private key from then on', async () => {
    const secrets = new SecretRegistry();
    const read = dockerTlsReader(core, secrets);
    const material = await read('shop', 'edge-tls');
    expect(material).toEqual({ ca: 'CA PEM\n', cert: 'CERT PEM\n', key: '-----BEGIN PRIVATE KEY-----\nk3y-material\n-----END PRIVATE KEY-----\n' });
    expect(secrets.masker()(`engine config ${JSON.stringify(material)}`)).not.toContain('k3y-material');
  });

  it.each([
    ['no-such-tls', 'Secret shop/no-such-tls (docker.tlsSecretRef) not found'],
    ['half-tls', 'Secret shop/half-tls (docker.tlsSecretRef) has no cert.pem'],
  ])('%s: fails naming the Secret and what is missing', async (name, message) => {
    await expect(dockerTlsReader(core, new SecretRegistry())('shop', name)).rejects.toThrow(message);
  });
});
