/**
 * The TLS identity of the operator's agent endpoint, kept in a Secret (`shipway-agent-tls`: ca.crt, ca.key,
 * tls.crt, tls.key) so every replica serves the same certificate and agents keep trusting the CA across
 * restarts. Made on first start, renewed (same CA) when it nears its end or the host names change; a
 * Secret someone else provides (cert-manager, the chart) without ca.key is used as it is.
 */
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { isConflict, isNotFound } from '../kubernetes/api-errors.ts';
import { certificateExpiry, createCertificateAuthority, issueCertificate, type PemPair } from '../runtime/certificates.ts';

export const AGENT_TLS_SECRET = 'shipway-agent-tls';
const RENEW_BEFORE_MS = 30 * 24 * 3600_000;
const HOSTS_ANNOTATION = 'shipway.dev/hosts';

export interface AgentTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const decode = (secret: V1Secret, key: string) => (secret.data?.[key] ? Buffer.from(secret.data[key]!, 'base64').toString('utf8') : undefined);

export async function ensureAgentTls(core: CoreV1Api, namespace: string, hosts: string[], now = new Date()): Promise<AgentTls> {
  let secret: V1Secret | undefined;
  try {
    secret = await core.readNamespacedSecret({ name: AGENT_TLS_SECRET, namespace });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  const ca = secret && decode(secret, 'ca.crt');
  const caKey = secret && decode(secret, 'ca.key');
  const cert = secret && decode(secret, 'tls.crt');
  const key = secret && decode(secret, 'tls.key');
  const wanted = [...hosts].sort().join(',');
  if (ca && cert && key) {
    const fresh = certificateExpiry(cert).getTime() - now.getTime() > RENEW_BEFORE_MS;
    // Provided from outside (no CA key): ours to use, not to renew.
    if (!caKey || (fresh && secret!.metadata?.annotations?.[HOSTS_ANNOTATION] === wanted)) return { caPem: ca, certPem: cert, keyPem: key };
  }
  const authority: PemPair = ca && caKey ? { certPem: ca, keyPem: caKey } : await createCertificateAuthority('shipway-agent-ca');
  const serving = await issueCertificate(authority, { subject: 'CN=shipway-operator', usage: 'server', hosts });
  const body: V1Secret = {
    metadata: { name: AGENT_TLS_SECRET, namespace, annotations: { [HOSTS_ANNOTATION]: wanted }, labels: { 'app.kubernetes.io/managed-by': 'shipway' }, ...(secret?.metadata?.resourceVersion ? { resourceVersion: secret.metadata.resourceVersion } : {}) },
    type: 'Opaque',
    stringData: { 'ca.crt': authority.certPem, 'ca.key': authority.keyPem, 'tls.crt': serving.certPem, 'tls.key': serving.keyPem },
  };
  try {
    if (secret) await core.replaceNamespacedSecret({ name: AGENT_TLS_SECRET, namespace, body });
    else await core.createNamespacedSecret({ namespace, body });
  } catch (error) {
    // Another replica wrote it first: use theirs, so both serve the same certificate.
    if (isConflict(error)) return ensureAgentTls(core, namespace, hosts, now);
    throw error;
  }
  return { caPem: authority.certPem, certPem: serving.certPem, keyPem: serving.keyPem };
}
