/**
 * `metadata.managedFields`: reading entries into field sets and writing them back.
 *
 * A manager is identified, as in the real field manager, by name, operation and subresource, plus the
 * apiVersion for `Update` managers (an applier keeps one entry whatever version it applies with).
 * Entries whose set became empty are dropped; entries are sorted as the real server sorts them
 * (operation, then time, then manager name, apiVersion, subresource).
 */
import { FieldSet } from './field-set.ts';
import { isObject, type JsonObject } from './json-value.ts';

export type Operation = 'Apply' | 'Update';

export interface ManagedFieldsEntry {
  manager: string;
  operation: Operation;
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: JsonObject;
  subresource?: string;
}

export interface Manager {
  manager: string;
  operation: Operation;
  apiVersion: string;
  time?: string;
  subresource?: string;
  fields: FieldSet;
}

/** RFC 3339 with seconds, as Kubernetes prints `metav1.Time`. */
export const rfc3339Now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export function sameIdentity(a: Omit<Manager, 'fields'>, b: Omit<Manager, 'fields'>): boolean {
  return (
    a.manager === b.manager &&
    a.operation === b.operation &&
    (a.subresource ?? '') === (b.subresource ?? '') &&
    (a.operation === 'Apply' || a.apiVersion === b.apiVersion)
  );
}

/** How conflict messages name a manager: `"kubectl"`, or `"kubectl-edit" using apps/v1` for an updater. */
export function describeManager(m: Omit<Manager, 'fields'>): string {
  let text = JSON.stringify(m.manager);
  if (m.subresource) text += ` with subresource ${JSON.stringify(m.subresource)}`;
  if (m.operation === 'Update') text += ` using ${m.apiVersion}`;
  return text;
}

export function readManagers(object: JsonObject | undefined): Manager[] {
  const entries = isObject(object?.metadata) ? object.metadata.managedFields : undefined;
  if (!Array.isArray(entries)) return [];
  return entries.filter(isObject).flatMap((entry): Manager[] => {
    if (typeof entry.manager !== 'string' || (entry.operation !== 'Apply' && entry.operation !== 'Update')) return [];
    return [
      {
        manager: entry.manager,
        operation: entry.operation,
        apiVersion: typeof entry.apiVersion === 'string' ? entry.apiVersion : '',
        ...(typeof entry.time === 'string' ? { time: entry.time } : {}),
        ...(typeof entry.subresource === 'string' && entry.subresource ? { subresource: entry.subresource } : {}),
        fields: FieldSet.fromFieldsV1(entry.fieldsV1),
      },
    ];
  });
}

export function toEntries(managers: readonly Manager[]): ManagedFieldsEntry[] {
  return managers
    .filter((m) => !m.fields.isEmpty())
    .map((m) => ({
      manager: m.manager,
      operation: m.operation,
      apiVersion: m.apiVersion,
      ...(m.time ? { time: m.time } : {}),
      fieldsType: 'FieldsV1' as const,
      fieldsV1: m.fields.toFieldsV1(),
      ...(m.subresource ? { subresource: m.subresource } : {}),
    }))
    .sort(compareEntries);
}

function compareEntries(a: ManagedFieldsEntry, b: ManagedFieldsEntry): number {
  const seconds = (e: ManagedFieldsEntry) => (e.time ? Math.floor(Date.parse(e.time) / 1000) : 0);
  const keys = (e: ManagedFieldsEntry) => [e.operation, seconds(e), e.manager, e.apiVersion, e.subresource ?? ''] as const;
  const [x, y] = [keys(a), keys(b)];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  return 0;
}

/** Writes the managers into `object.metadata.managedFields` (in place); no entries leave the field out. */
export function writeManagers(object: JsonObject, managers: readonly Manager[]): void {
  const metadata = (isObject(object.metadata) ? object.metadata : (object.metadata = {})) as JsonObject;
  const entries = toEntries(managers);
  if (entries.length > 0) metadata.managedFields = entries;
  else delete metadata.managedFields;
}
