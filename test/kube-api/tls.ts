/**
 * Certificates for the emulator's HTTPS endpoint: a throwaway CA, a serving certificate for loopback names and
 * a client certificate (CN=admin, O=system:masters) for kubeconfig client-certificate auth. ECDSA P-256 keys,
 * SHA-256 signatures, PKCS#8 PEM keys: accepted by Go's crypto/tls (kubectl, helm) and by Node (client-node).
 */
import { isIP } from 'node:net';
import { webcrypto } from 'node:crypto';
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API at import time.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';


type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

type X509Crypto = Parameters<typeof x509.cryptoProvider.set>[0];
const crypto = webcrypto;
x509.cryptoProvider.set(webcrypto as unknown as X509Crypto);

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

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

/** A positive serial number (Go rejects negative ones): 16 random bytes with the top bit clear. */
function serialNumber(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey('pkcs8', key as never);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importPrivateKey(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return (await crypto.subtle.importKey('pkcs8', der, KEY_ALGORITHM, false, ['sign'])) as unknown as CryptoKey;
}

function escapeRdn(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1');
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  // an hour of slack for clocks that disagree a little
  return { notBefore: new Date(now - HOUR), notAfter: new Date(now + days * DAY) };
}

async function leafCertificate(
  ca: { cert: x509.X509Certificate; key: CryptoKey },
  subject: string,
  usage: x509.ExtendedKeyUsage,
  sans: x509.JsonGeneralName[],
): Promise<{ certPem: string; keyPem: string }> {
  const keys = await newKeys();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([usage], false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, false));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject,
    issuer: ca.cert.subject,
    ...validity(365),
    publicKey: keys.publicKey as never,
    signingKey: ca.key as never,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions,
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

/** A client certificate signed by the given CA; Kubernetes reads the user from CN and groups from O. */
export async function generateClientCertificate(
  ca: { caCertPem: string; caKeyPem: string },
  identity: ClientIdentity,
): Promise<{ certPem: string; keyPem: string }> {
  const cert = new x509.X509Certificate(ca.caCertPem);
  const key = await importPrivateKey(ca.caKeyPem);
  const subject = [`CN=${escapeRdn(identity.commonName)}`, ...(identity.organizations ?? []).map((o) => `O=${escapeRdn(o)}`)].join(', ');
  return leafCertificate({ cert, key }, subject, x509.ExtendedKeyUsage.clientAuth, []);
}

/**
 * A fresh CA with a serving certificate for `hosts` (IP addresses become IP SANs, the rest DNS SANs) and an admin
 * client certificate. Everything lives in memory; write the PEMs where the server and the kubeconfig need them.
 */
export async function generateServingCertificates(options: { hosts: string[]; client?: ClientIdentity }): Promise<ServingCertificates> {
  if (options.hosts.length === 0) throw new Error('generateServingCertificates: at least one host is needed');
  const caKeys = await newKeys();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: 'CN=kube-api-emulator-ca',
    ...validity(3650),
    keys: caKeys as never,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey as never),
    ],
  });
  const ca = { cert: caCert, key: caKeys.privateKey };
  const sans: x509.JsonGeneralName[] = options.hosts.map((host) => ({ type: isIP(host) ? 'ip' : 'dns', value: host }));
  const firstDns = options.hosts.find((h) => isIP(h) === 0);
  const serving = await leafCertificate(ca, `CN=${escapeRdn(firstDns ?? 'kube-apiserver')}`, x509.ExtendedKeyUsage.serverAuth, sans);
  const client = options.client ?? { commonName: 'admin', organizations: ['system:masters'] };
  const clientSubject = [`CN=${escapeRdn(client.commonName)}`, ...(client.organizations ?? []).map((o) => `O=${escapeRdn(o)}`)].join(', ');
  const admin = await leafCertificate(ca, clientSubject, x509.ExtendedKeyUsage.clientAuth, []);
  return {
    caCertPem: caCert.toString('pem'),
    caKeyPem: await privateKeyPem(caKeys.privateKey),
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
