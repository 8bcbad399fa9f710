/**
 * X.509 certificates made in memory: a CA, and serving or client certificates it signs. The operator's QUIC
 * endpoint for agents uses them when no certificate is given (and the Kubernetes API emulator of the tests
 * does too). ECDSA P-256 keys, SHA-256 signatures, PKCS#8 PEM keys: accepted by Go's crypto/tls, Node and
 * BoringSSL (the TLS under @matrixai/quic).
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

export interface PemPair {
  certPem: string;
  keyPem: string;
}

export interface LeafOptions {
  /** Distinguished name, e.g. `CN=admin, O=system:masters`. */
  subject: string;
  usage: 'server' | 'client';
  /** Host names and addresses (IP addresses become IP SANs, the rest DNS SANs). */
  hosts?: string[];
  days?: number;
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

/** Escapes a value for a distinguished name. */
export function escapeRdn(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1');
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  // an hour of slack for clocks that disagree a little
  return { notBefore: new Date(now - HOUR), notAfter: new Date(now + days * DAY) };
}

export async function createCertificateAuthority(commonName: string, days = 3650): Promise<PemPair> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${escapeRdn(commonName)}`,
    ...validity(days),
    keys: keys as never,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

/** A certificate signed by the CA, for a server (with SANs) or a client. */
export async function issueCertificate(ca: PemPair, options: LeafOptions): Promise<PemPair> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await importPrivateKey(ca.keyPem);
  const keys = await newKeys();
  const sans: x509.JsonGeneralName[] = (options.hosts ?? []).map((host) => ({ type: isIP(host) ? 'ip' : 'dns', value: host }));
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([options.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth], false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
    await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, false));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: options.subject,
    issuer: caCert.subject,
    ...validity(options.days ?? 365),
    publicKey: keys.publicKey as never,
    signingKey: caKey as never,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions,
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

/** When the certificate stops being valid (to renew it ahead of time). */
export function certificateExpiry(certPem: string): Date {
  return new x509.X509Certificate(certPem).notAfter;
}
