/** ObjectMeta rules the API server enforces on every kind. */
import { randomUUID } from 'node:crypto';
import { PATTERNS } from '../../operator/src/api/patterns.ts';
import { badRequest, invalid, type ResourceName } from './errors.ts';
import type { KubeObject } from './store.ts';

const DNS_SUBDOMAIN = new RegExp(PATTERNS.dnsSubdomain.regex);
const DNS_LABEL = new RegExp(PATTERNS.dnsLabel.regex);
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const GENERATED_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** Kinds whose names must be DNS labels rather than subdomains. */
const LABEL_NAMED = new Set(['Namespace']);
const DNS_1035_NAMED = new Set(['Service']);

export function now(clock: () => Date): string {
  return clock().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function generateName(prefix: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += GENERATED_ALPHABET[Math.floor(Math.random() * GENERATED_ALPHABET.length)];
  return `${prefix}${suffix}`;
}

export function validateName(r: ResourceName, name: string | undefined): void {
  if (!name) throw invalid(r, '', [{ field: 'metadata.name', reason: 'FieldValueRequired', message: 'Required value: name or generateName is required' }]);
  const [pattern, what, max] = LABEL_NAMED.has(r.kind)
    ? [DNS_LABEL, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character", 63]
    : DNS_1035_NAMED.has(r.kind)
      ? [DNS_1035_LABEL, "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character", 63]
      : [DNS_SUBDOMAIN, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character", 253];
  if (name.length > max || !pattern.test(name)) {
    throw invalid(r, name, [{ field: 'metadata.name', reason: 'FieldValueInvalid', message: `Invalid value: "${name}": ${what}` }]);
  }
}

export function validateLabels(r: ResourceName, object: KubeObject): void {
  const labels = object.metadata?.labels as Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(labels ?? {})) {
    if (typeof value !== 'string') throw badRequest(`unable to decode label ${key}: value must be a string`);
    if (value.length > 63 || (value !== '' && !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(value))) {
      throw invalid(r, object.metadata.name, [{ field: `metadata.labels`, reason: 'FieldValueInvalid', message: `Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character` }]);
    }
  }
}

/** Fields a client may not set or change: the server owns them. */
export function initialMeta(object: KubeObject, clock: () => Date, generation: boolean): void {
  const meta = object.metadata;
  meta.uid = randomUUID();
  meta.creationTimestamp = now(clock);
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  if (generation) meta.generation = 1;
  else delete meta.generation;
}

export function carryServerMeta(next: KubeObject, current: KubeObject): void {
  const meta = next.metadata;
  const old = current.metadata;
  for (const field of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'namespace', 'name']) {
    if (old[field] === undefined) delete meta[field];
    else meta[field] = old[field];
  }
}
