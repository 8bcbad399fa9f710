/**
 * Server-side apply, faithful in its visible behaviour rather than a port of structured-merge-diff:
 * - the configuration is merged into the live object (apply-merge.ts) and the applier's `Apply` entry in
 *   `metadata.managedFields` becomes exactly the set of fields it configured;
 * - fields the applier owned before and configures no more are removed from the object, unless another
 *   manager owns them (or fields below them);
 * - configuring a value that differs from the live value of a field another manager owns is a conflict:
 *   409 "Apply failed with N conflict(s) ..." listing each field and manager, unless `force`, which moves
 *   those fields to the applier. Configuring the live value shares ownership;
 * - fields that are gone from the result leave every manager; empty entries are dropped;
 * - an apply that changes nothing returns the object as it was, managedFields times included;
 * - a live object without managedFields is owned by "before-first-apply" (an `Update` manager), as on the
 *   real server, so the first apply conflicts with what was there.
 */
import { fieldSetOf, lookup, removePath } from './field-paths.ts';
import { FieldSet, pathString, type FieldPath } from './field-set.ts';
import { mergeApplied } from './apply-merge.ts';
import { parseApplyBody } from './apply-body.ts';
import { PatchError, badRequest } from './errors.ts';
import { clone, deepEqual, isObject, type JsonObject } from './json-value.ts';
import { describeManager, readManagers, rfc3339Now, sameIdentity, writeManagers, type Manager } from './managed-fields.ts';
import type { ListRules } from './merge-keys.ts';
import { apiVersionOf, gvkOf, gvkString, metadataOf, rulesFor, type Gvk } from './object-gvk.ts';

export interface ApplyOptions {
  gvk: Gvk;
  /** Built-in kind (list merge keys known) or custom resource (ObjectMeta rules only). */
  builtIn: boolean;
  fieldManager: string;
  force?: boolean;
  now?: () => string;
}

interface Conflict {
  path: FieldPath;
  owner: Manager;
}

export function serverSideApply(current: JsonObject | undefined, body: string, options: ApplyOptions): JsonObject {
  const config = parseApplyBody(body);
  if (gvkString(gvkOf(config)) !== gvkString(options.gvk) || config.apiVersion !== apiVersionOf(options.gvk)) {
    throw badRequest(`invalid object type: ${gvkString(gvkOf(config))}`);
  }
  const sentManagedFields = metadataOf(config).managedFields;
  if (sentManagedFields !== undefined && sentManagedFields !== null) throw badRequest('metadata.managedFields must be nil');
  const now = options.now ?? rfc3339Now;
  const rules = rulesFor(options.gvk, options.builtIn);
  const live = current ? withoutManagedFields(current) : {};
  const managers = current ? managersOf(current, live, rules, now) : [];
  const identity = { manager: options.fieldManager, operation: 'Apply' as const, apiVersion: config.apiVersion as string };
  const previous = managers.find((m) => sameIdentity(m, identity));
  const others = managers.filter((m) => m !== previous);
  const applied = fieldSetOf(config, rules);

  const conflicts = findConflicts(live, config, applied, others);
  if (conflicts.length > 0 && !options.force) throw conflictError(conflicts);
  for (const { path, owner } of conflicts) owner.fields = owner.fields.difference(FieldSet.of([path]));

  const result = mergeApplied(live, config, rules);
  if (previous) prune(result, previous.fields.difference(applied), applied, others);
  for (const m of others) m.fields = m.fields.filter((path) => lookup(result, path).found);
  writeManagers(result, [...others, { ...identity, time: now(), fields: applied }]);
  return current && sameApartFromTimes(current, result) ? clone(current) : result;
}

function withoutManagedFields(object: JsonObject): JsonObject {
  const copy = clone(object);
  if (isObject(copy.metadata)) delete copy.metadata.managedFields;
  return copy;
}

function managersOf(current: JsonObject, live: JsonObject, rules: ListRules, now: () => string): Manager[] {
  const managers = readManagers(current);
  const entries = metadataOf(current).managedFields;
  if (managers.length > 0 || (Array.isArray(entries) && entries.length > 0)) return managers;
  const apiVersion = typeof current.apiVersion === 'string' ? current.apiVersion : '';
  return [{ manager: 'before-first-apply', operation: 'Update', apiVersion, time: now(), fields: fieldSetOf(live, rules) }];
}

/** Fields whose configured value differs from the live one, for each other manager that owns them. */
function findConflicts(live: JsonObject, config: JsonObject, applied: FieldSet, others: Manager[]): Conflict[] {
  const conflicts: Conflict[] = [];
  for (const path of applied.paths()) {
    if (applied.hasChildren(path) || /^[kv]:/.test(path[path.length - 1]!)) continue;
    const want = lookup(config, path);
    const have = lookup(live, path);
    if (!want.found || !have.found || deepEqual(want.value, have.value)) continue;
    for (const owner of others) if (owner.fields.has(path)) conflicts.push({ path, owner });
  }
  return conflicts;
}

/**
 * Removes what the applier gave up (parents first), unless someone still owns it or something below it,
 * or it is the key of a list item that stays; then removes the maps and lists this left empty.
 */
function prune(object: JsonObject, released: FieldSet, applied: FieldSet, others: Manager[]): void {
  const owned = (path: FieldPath) => applied.covers(path) || others.some((m) => m.fields.covers(path));
  for (const path of released.paths()) {
    if (owned(path) || isItemKey(path) || !removePath(object, path)) continue;
    for (let end = path.length - 1; end > 0; end--) {
      const parent = path.slice(0, end);
      const value = lookup(object, parent);
      if (!parent[end - 1]!.startsWith('f:') || owned(parent) || !value.found || !isEmptyContainer(value.value)) break;
      removePath(object, parent);
    }
  }
}

const isEmptyContainer = (value: unknown) => (Array.isArray(value) ? value.length === 0 : isObject(value) && Object.keys(value).length === 0);

function isItemKey(path: FieldPath): boolean {
  const [parent, field] = [path[path.length - 2], path[path.length - 1]!];
  return parent !== undefined && parent.startsWith('k:') && Object.hasOwn(JSON.parse(parent.slice(2)) as JsonObject, field.slice(2));
}

const managerId = (m: Manager) =>
  JSON.stringify({ manager: m.manager, operation: m.operation, ...(m.operation === 'Update' ? { apiVersion: m.apiVersion } : {}), ...(m.subresource ? { subresource: m.subresource } : {}) });

function conflictError(conflicts: Conflict[]): PatchError {
  const causes = conflicts.map(({ path, owner }) => ({ reason: 'FieldManagerConflict', message: `conflict with ${describeManager(owner)}`, field: pathString(path) }));
  if (conflicts.length === 1) {
    const [only] = conflicts as [Conflict];
    return new PatchError(409, 'Conflict', `Apply failed with 1 conflict: conflict with ${describeManager(only.owner)}: ${pathString(only.path)}`, causes);
  }
  const byManager = new Map<string, Conflict[]>();
  for (const c of conflicts) byManager.set(managerId(c.owner), [...(byManager.get(managerId(c.owner)) ?? []), c]);
  const lines = [...byManager.keys()].sort().flatMap((id) => {
    const group = byManager.get(id)!;
    return [`conflicts with ${describeManager(group[0]!.owner)}:`, ...group.map((c) => `- ${pathString(c.path)}`)];
  });
  return new PatchError(409, 'Conflict', `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`, causes);
}

function sameApartFromTimes(a: JsonObject, b: JsonObject): boolean {
  const untimed = (o: JsonObject) => {
    const copy = clone(o);
    const entries = metadataOf(copy).managedFields;
    if (Array.isArray(entries)) for (const entry of entries) if (isObject(entry)) delete entry.time;
    return copy;
  };
  return deepEqual(untimed(a), untimed(b));
}
