/**
 * Strategic merge patch (built-in kinds only). Like a JSON merge patch (objects merge, `null` deletes,
 * scalars replace), except for lists, which follow {@link ListRules}: lists with a merge key merge item by
 * item (an item with the same key is merged, a new one is appended), primitive sets take the union, other
 * lists are replaced. Directives:
 * - `$patch: delete` in a list item removes the live items with its key; in a map, removes the map;
 * - `$patch: replace` in a map replaces the map; as a list item (`{$patch: replace}`), replaces the list with
 *   the other items; `$patch: merge` is the default;
 * - `$setElementOrder/<list>`: the order of the merged list (see element-order.ts);
 * - `$deleteFromPrimitiveList/<list>`: values removed from a primitive set (before the patch's values are
 *   merged in);
 * - `$retainKeys: [...]`: after merging, the map keeps only those keys (the patch may set no other key).
 *
 * Errors as the server reports them: malformed directives 400 ("invalid patch format of ..."), lists of
 * lists and `$retainKeys` mismatches 422. A list item without its merge key and an unknown `$patch` value
 * are a plain error (500) on the real server; they are 400 here.
 */
import { applyElementOrder } from './element-order.ts';
import { badRequest, invalidPatchResult, rejectedRequest } from './errors.ts';
import { goValue } from './go-format.ts';
import { canonicalJson, clone, deepEqual, goJsonKind, isObject, parseJson, type JsonObject } from './json-value.ts';
import type { ListRules } from './merge-keys.ts';

const SET_ORDER = '$setElementOrder/';
const DELETE_FROM = '$deleteFromPrimitiveList/';
const DELETE = Symbol('delete');

const isDirective = (key: string) => key === '$patch' || key === '$retainKeys' || key.startsWith(SET_ORDER) || key.startsWith(DELETE_FROM);

export function applyStrategicMergePatch(current: JsonObject, body: string, rules: ListRules): JsonObject {
  const parsed = parseJson(body);
  if (!parsed.ok) throw badRequest(parsed.error);
  if (!isObject(parsed.value)) throw badRequest(`json: cannot unmarshal ${goJsonKind(parsed.value)} into Go value of type map[string]interface {}`);
  return strategicMerge(current, parsed.value, rules);
}

/** Applies a decoded strategic merge patch to `original` (neither is changed). */
export function strategicMerge(original: JsonObject, patch: JsonObject, rules: ListRules): JsonObject {
  const result = mergeMap(original, patch, [], rules);
  if (result === DELETE) throw invalidPatchResult('{}', '$patch: delete cannot delete the whole object');
  return result;
}

interface MapDirectives {
  orders: Map<string, unknown[]>;
  deletions: Map<string, unknown[]>;
  retainKeys?: string[];
}

function readDirectives(patch: JsonObject): MapDirectives {
  const directives: MapDirectives = { orders: new Map(), deletions: new Map() };
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$retainKeys') {
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw badRequest('invalid patch format of retainKeys');
      directives.retainKeys = value as string[];
    } else if (key.startsWith(SET_ORDER)) {
      if (!Array.isArray(value)) throw badRequest('invalid patch format of setElementOrder list');
      directives.orders.set(key.slice(SET_ORDER.length), value);
    } else if (key.startsWith(DELETE_FROM)) {
      if (!Array.isArray(value)) throw badRequest('invalid patch format of primitive list');
      directives.deletions.set(key.slice(DELETE_FROM.length), value);
    }
  }
  return directives;
}

function mergeMap(original: unknown, patch: JsonObject, path: string[], rules: ListRules): JsonObject | typeof DELETE {
  const directive = patch.$patch;
  if (directive === 'delete') return DELETE;
  if (directive === 'replace') {
    const { $patch: _replace, ...content } = patch;
    return mergeMap(undefined, content, path, rules);
  }
  if (directive !== undefined && directive !== 'merge') throw badRequest(`unknown patch type: ${goValue(directive)} in map: ${goValue(patch)}`);

  const { orders, deletions, retainKeys } = readDirectives(patch);
  const result: JsonObject = isObject(original) ? clone(original) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (isDirective(key)) continue;
    const childPath = [...path, key];
    if (value === null) {
      delete result[key];
    } else if (isObject(value)) {
      const merged = mergeMap(result[key], value, childPath, rules);
      if (merged === DELETE) delete result[key];
      else result[key] = merged;
    } else if (Array.isArray(value)) {
      result[key] = mergeList(result[key], value, childPath, rules, orders.get(key), deletions.get(key));
    } else {
      result[key] = value;
    }
  }
  // Order and deletion directives may come without the list itself in the patch.
  for (const key of new Set([...orders.keys(), ...deletions.keys()])) {
    if (Object.hasOwn(patch, key) || !Array.isArray(result[key]) || rules([...path, key]).type === 'atomic') continue;
    result[key] = mergeList(result[key], [], [...path, key], rules, orders.get(key), deletions.get(key));
  }
  if (retainKeys) {
    if (Object.keys(patch).some((key) => !isDirective(key) && !retainKeys.includes(key))) {
      throw rejectedRequest("patch content doesn't match retainKeys list");
    }
    for (const key of Object.keys(result)) if (!retainKeys.includes(key)) delete result[key];
  }
  return result;
}

function mergeList(original: unknown, patch: unknown[], path: string[], rules: ListRules, order?: unknown[], deletions?: unknown[]): unknown[] {
  const rule = rules(path);
  if (rule.type === 'atomic') return clone(patch);
  if (patch.some(Array.isArray)) throw rejectedRequest('lists of lists are not supported');
  const live = Array.isArray(original) ? original : [];

  if (rule.type === 'set') {
    const items: unknown[] = [];
    for (const value of [...live.filter((v) => !deletions?.some((d) => deepEqual(d, v))), ...patch]) {
      if (!items.some((item) => deepEqual(item, value))) items.push(clone(value));
    }
    return order ? applyElementOrder(items, live, order.map(canonicalJson), canonicalJson) : items;
  }

  const key = rule.key;
  const notAMap = patch.find((item) => !isObject(item));
  if (notAMap !== undefined) throw badRequest(`expected a map, but received a ${goJsonKind(notAMap)}`);
  const patchItems = patch as JsonObject[];
  const replace = patchItems.find((item) => item.$patch === 'replace');
  if (replace) {
    return patchItems.filter((item) => item !== replace).map((item) => mergeMap(undefined, item, path, rules) as JsonObject);
  }
  let items = clone(live);
  const sameKey = (item: unknown, id: unknown) => isObject(item) && deepEqual(item[key], id);
  for (const item of patchItems) {
    if (!Object.hasOwn(item, key)) throw badRequest(`map: ${goValue(item)} does not contain declared merge key: ${key}`);
    const id = item[key];
    if (item.$patch === 'delete') {
      items = items.filter((existing) => !sameKey(existing, id));
      continue;
    }
    const index = items.findIndex((existing) => sameKey(existing, id));
    const merged = mergeMap(index >= 0 ? items[index] : undefined, item, path, rules) as JsonObject;
    if (index >= 0) items[index] = merged;
    else items.push(merged);
  }
  if (!order) return items;
  const keyOf = (item: unknown) => canonicalJson(isObject(item) ? item[key] : item);
  return applyElementOrder(items, live, order.map(keyOf), keyOf);
}
