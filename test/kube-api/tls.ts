/**
 * Certificates for the emulator's HTTPS endpoint: a throwaway CA, a serving certificate for loopback names and
 * a client certificate (CN=admin, O=system:masters) for kubeconfig client-certificate auth. ECDSA P-256 keys,
 * SHA-256 signatures, PKCS#8 PEM keys: accepted by Go's crypto/tls (kubectl, helm) and by Node (client-node).
 */
import { isIP } from 'node:net';
import { createCertificateAuthority, escapeRdn, issueCertificate } from '../../operator/src/runtime/certificates.ts';

export interface ServingCertificates {
  caCertPem: string;
  caKeyPem: string;
  certPem: string;
  keyPem: string;
  /** CN=admin, O=system:masters, signed by the same CA. */
  clientCertPem: string;
  clientKeyPem: string;
}

export interface ClientIdentity {
  commonName: string;
  organizations?: string[];
}

/** A client certificate signed by the given CA; Kubernetes reads the user from CN and groups from O. */
export async function generateClientCertificate(
  ca: { caCertPem: string; caKeyPem: string },
  identity: ClientIdentity,
): Promise<{ certPem: string; keyPem: string }> {
  return issueCertificate({ certPem: ca.caCertPem, keyPem: ca.caKeyPem }, { subject: subjectOf(identity), usage: 'client' });
}

const subjectOf = (identity: ClientIdentity) =>
  [`CN=${escapeRdn(identity.commonName)}`, ...(identity.organizations ?? []).map((o) => `O=${escapeRdn(o)}`)].join(', ');

/**
 * A fresh CA with a serving certificate for `hosts` (IP addresses become IP SANs, the rest DNS SANs) and an admin
 * client certificate. Everything lives in memory; write the PEMs where the server and the kubeconfig need them.
 */
export async function generateServingCertificates(options: { hosts: string[]; client?: ClientIdentity }): Promise<ServingCertificates> {
  if (options.hosts.length === 0) throw new Error('generateServingCertificates: at least one host is needed');
  const ca = await createCertificateAuthority('kube-api-emulator-ca');
  const firstDns = options.hosts.find((h) => isIP(h) === 0);
  const serving = await issueCertificate(ca, { subject: `CN=${escapeRdn(firstDns ?? 'kube-apiserver')}`, usage: 'server', hosts: options.hosts });
  const admin = await issueCertificate(ca, { subject: subjectOf(options.client ?? { commonName: 'admin', organizations: ['system:masters'] }), usage: 'client' });
  return {
    caCertPem: ca.certPem,
    caKeyPem: ca.keyPem,
    certPem: serving.certPem,
    keyPem: serving.keyPem,
    clientCertPem: admin.certPem,
    clientKeyPem: admin.keyPem,
  };
}

/**
 * The Kubernetes user of a verified client certificate (a TLS socket's `getPeerCertificate()` subject):
 * CN is the user name, each O a group.
 */
export function userFromCertificateSubject(
  subject: { CN?: string | string[]; O?: string | string[] } | undefined,
): { name: string; groups: string[] } | undefined {
  const cn = subject?.CN;
  if (cn === undefined) return undefined;
  const o = subject?.O;
  return { name: Array.isArray(cn) ? cn[0]! : cn, groups: o === undefined ? [] : Array.isArray(o) ? o : [o] };
}
