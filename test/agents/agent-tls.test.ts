import { X509Certificate } from 'node:crypto';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_TLS_SECRET, ensureAgentTls } from '../../operator/src/agents/agent-tls.ts';
import { startEmulator, type RunningEmulator } from '../kube-api/emulator.ts';

describe('the agent endpoint certificate', () => {
  let emulator: RunningEmulator;
  let core: CoreV1Api;
  beforeAll(async () => {
    emulator = await startEmulator();
    const kc = new KubeConfig();
    kc.loadFromString(emulator.kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'shipway-system' } } });
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  it('is made once, signed by a CA kept in the Secret, for the host names given, and reused by the next start', async () => {
    const first = await ensureAgentTls(core, 'shipway-system', ['shipway.example.com', '127.0.0.1']);
    const cert = new X509Certificate(first.certPem);
    expect(cert.verify(new X509Certificate(first.caPem).publicKey)).toBe(true);
    expect(cert.subjectAltName).toContain('DNS:shipway.example.com');
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
    const again = await ensureAgentTls(core, 'shipway-system', ['127.0.0.1', 'shipway.example.com']);
    expect(again).toEqual(first);
  });

  it('renews the certificate with the same CA when the host names change or it nears its end', async () => {
    const before = await ensureAgentTls(core, 'shipway-system', ['a.example.com']);
    const renamed = await ensureAgentTls(core, 'shipway-system', ['b.example.com']);
    expect(renamed.caPem).toBe(before.caPem);
    expect(renamed.certPem).not.toBe(before.certPem);
    expect(new X509Certificate(renamed.certPem).subjectAltName).toBe('DNS:b.example.com');
    const late = await ensureAgentTls(core, 'shipway-system', ['b.example.com'], new Date(Date.now() + 340 * 24 * 3600_000));
    expect(late.caPem).toBe(before.caPem);
    expect(late.certPem).not.toBe(renamed.certPem);
  });

  it('uses a Secret provided from outside (no CA key) as it is', async () => {
    await core.deleteNamespacedSecret({ name: AGENT_TLS_SECRET, namespace: 'shipway-system' });
    const made = await ensureAgentTls(core, 'shipway-system', ['x.example.com']);
    await core.replaceNamespacedSecret({
      name: AGENT_TLS_SECRET, namespace: 'shipway-system',
      body: { metadata: { name: AGENT_TLS_SECRET, namespace: 'shipway-system' }, stringData: { 'ca.crt': made.caPem, 'tls.crt': made.certPem, 'tls.key': made.keyPem } },
    });
    expect(await ensureAgentTls(core, 'shipway-system', ['other.example.com'])).toEqual(made);
  });
});
