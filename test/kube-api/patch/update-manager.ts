/**
 * Ownership for writes that are not server-side apply (create, update, JSON/merge/strategic patch), as
 * the real field manager's `Update`: the writer's `Update` entry gains every field it added or changed;
 * those fields leave every other manager (an `Apply` manager included, so that a later apply conflicts
 * with the edit); fields no longer in the object leave every manager. A write that changes nothing keeps
 * every entry and time as they were.
 *
 * `managedFields` the writer sends are honoured as the real server does: unchanged or `[]` keep the stored
 * entries, `[{}]` (entries without a manager) resets them, other entries replace them.
 */
import { FieldSet, type FieldPath } from './field-set.ts';
import { fieldSetOf, lookup } from './field-paths.ts';
import { deepEqual, isObject, type JsonObject } from './json-value.ts';
import { readManagers, rfc3339Now, sameIdentity, writeManagers, type Manager } from './managed-fields.ts';
import { listRulesFor } from './merge-keys.ts';
import { gvkOf, metadataOf } from './object-gvk.ts';

/**
 * Records `manager`'s write of `after` over `before` (undefined for a create) in
 * `after.metadata.managedFields`. Changes `after` in place and returns it.
 *
 * When `after` already carries a fresh `Apply` entry of `manager` (it is the result of a server-side
 * apply, which records its own ownership), nothing is recorded: a caller may pass every write here.
 */
export function recordUpdateManager(
  before: JsonObject | undefined,
  after: JsonObject,
  manager: string,
  operation: 'Update' = 'Update',
  now: string | (() => string) = rfc3339Now,
  subresource?: string,
): JsonObject {
  if (isApplyResult(before, after, manager)) return after;
  const rules = listRulesFor(gvkOf(after));
  const afterSet = fieldSetOf(after, rules);
  const changed = FieldSet.of(afterSet.paths().filter((path) => isChanged(before, after, afterSet, path)));
  const present = (path: FieldPath) => lookup(after, path).found;
  const identity = { manager, operation, apiVersion: typeof after.apiVersion === 'string' ? after.apiVersion : '', ...(subresource ? { subresource } : {}) };

  const managers = baseManagers(before, after);
  let own = managers.find((m) => sameIdentity(m, identity));
  for (const m of managers) if (m !== own) m.fields = m.fields.difference(changed).filter(present);
  if (!own && changed.isEmpty()) {
    writeManagers(after, managers);
    return after;
  }
  if (!own) managers.push((own = { ...identity, fields: new FieldSet() }));
  own.fields = own.fields.union(changed).filter(present);
  if (!changed.isEmpty()) own.time = typeof now === 'function' ? now() : now;
  writeManagers(after, managers);
  return after;
}

function isChanged(before: JsonObject | undefined, after: JsonObject, afterSet: FieldSet, path: FieldPath): boolean {
  if (!before) return true;
  const old = lookup(before, path);
  if (!old.found) return true;
  return !afterSet.hasChildren(path) && !deepEqual(old.value, (lookup(after, path) as { value: unknown }).value);
}

function baseManagers(before: JsonObject | undefined, after: JsonObject): Manager[] {
  const sent = metadataOf(after).managedFields;
  const stored = before ? metadataOf(before).managedFields : undefined;
  if (sent === undefined || deepEqual(sent, stored) || (Array.isArray(sent) && sent.length === 0)) return readManagers(before);
  if (Array.isArray(sent) && sent.every((entry) => !isObject(entry) || entry.manager === undefined)) return [];
  return readManagers(after);
}

function isApplyResult(before: JsonObject | undefined, after: JsonObject, manager: string): boolean {
  const applied = (object: JsonObject | undefined) => {
    const entries = object ? metadataOf(object).managedFields : undefined;
    return Array.isArray(entries) ? entries.find((e) => isObject(e) && e.manager === manager && e.operation === 'Apply') : undefined;
  };
  const now = applied(after);
  return now !== undefined && !deepEqual(now, applied(before));
}
