/**
 * Field paths of objects: the set of fields an object (or an applied configuration) sets, and reading or
 * removing the value at a path. Lists follow {@link ListRules}: items of keyed lists are `k:` members
 * (with their fields below them), members of scalar sets are `v:`, other lists are owned whole. Empty
 * keyed lists and sets contribute nothing, as in structured-merge-diff.
 *
 * Fields the server owns (`apiVersion`, `kind`, `metadata.name`, `uid`, `resourceVersion`, ...) are never
 * tracked, as the real field manager strips them.
 */
import { FieldSet, type FieldPath } from './field-set.ts';
import { canonicalJson, deepEqual, isObject, type JsonObject } from './json-value.ts';
import type { ListRules } from './merge-keys.ts';

const UNTRACKED_TOP = new Set(['apiVersion', 'kind']);
const UNTRACKED_META = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'selfLink',
  'managedFields',
]);

const untracked = (names: readonly string[], key: string) =>
  (names.length === 0 && UNTRACKED_TOP.has(key)) || (names.length === 1 && names[0] === 'metadata' && UNTRACKED_META.has(key));

export const fieldElement = (name: string) => `f:${name}`;
export const keyElement = (key: string, value: unknown) => `k:${canonicalJson({ [key]: value })}`;
export const valueElement = (value: unknown) => `v:${canonicalJson(value)}`;

const isScalar = (value: unknown) => value === null || typeof value !== 'object';

export function fieldSetOf(object: JsonObject, rules: ListRules): FieldSet {
  const set = new FieldSet();
  const walk = (value: unknown, path: string[], names: string[]) => {
    if (isObject(value)) {
      const keys = Object.keys(value).filter((key) => !untracked(names, key));
      if (keys.length === 0 && Object.keys(value).length === 0) set.insert(path);
      for (const key of keys) walk(value[key], [...path, fieldElement(key)], [...names, key]);
    } else if (Array.isArray(value)) {
      const rule = rules(names);
      if (rule.type === 'map' && isKeyedList(value, rule.key)) {
        for (const item of value as JsonObject[]) {
          const itemPath = [...path, keyElement(rule.key, item[rule.key])];
          set.insert(itemPath);
          walk(item, itemPath, names);
        }
      } else if (rule.type === 'set' && value.every(isScalar)) {
        for (const member of value) set.insert([...path, valueElement(member)]);
      } else {
        set.insert(path);
      }
    } else {
      set.insert(path);
    }
  };
  walk(object, [], []);
  return set;
}

/** Items are objects, each with a distinct merge key: otherwise the list is treated as atomic. */
function isKeyedList(list: unknown[], key: string): boolean {
  const seen = new Set<string>();
  for (const item of list) {
    if (!isObject(item) || item[key] === undefined) return false;
    const id = canonicalJson(item[key]);
    if (seen.has(id)) return false;
    seen.add(id);
  }
  return true;
}

export type Lookup = { found: true; value: unknown } | { found: false };

function step(node: unknown, element: string): Lookup {
  const body = element.slice(2);
  switch (element.slice(0, 2)) {
    case 'f:':
      return isObject(node) && Object.hasOwn(node, body) ? { found: true, value: node[body] } : { found: false };
    case 'k:': {
      if (!Array.isArray(node)) return { found: false };
      const key = JSON.parse(body) as JsonObject;
      const item = node.find((candidate) => isObject(candidate) && Object.keys(key).every((k) => deepEqual(candidate[k], key[k])));
      return item === undefined ? { found: false } : { found: true, value: item };
    }
    case 'v:': {
      const value = JSON.parse(body) as unknown;
      return Array.isArray(node) && node.some((member) => deepEqual(member, value)) ? { found: true, value } : { found: false };
    }
    default: {
      const index = Number(body);
      return Array.isArray(node) && index < node.length ? { found: true, value: node[index] } : { found: false };
    }
  }
}

export function lookup(object: unknown, path: FieldPath): Lookup {
  let result: Lookup = { found: true, value: object };
  for (const element of path) {
    if (!result.found) return result;
    result = step(result.value, element);
  }
  return result;
}

/** Removes the value at `path` from `object` (in place); returns whether there was one. */
export function removePath(object: JsonObject, path: FieldPath): boolean {
  if (path.length === 0) return false;
  const parent = lookup(object, path.slice(0, -1));
  const element = path[path.length - 1]!;
  if (!parent.found || !step(parent.value, element).found) return false;
  const container = parent.value;
  if (element.startsWith('f:') && isObject(container)) {
    delete container[element.slice(2)];
  } else if (Array.isArray(container) && element.startsWith('v:')) {
    const value = JSON.parse(element.slice(2)) as unknown;
    for (let i = container.length - 1; i >= 0; i--) if (deepEqual(container[i], value)) container.splice(i, 1);
  } else if (Array.isArray(container)) {
    const target = step(container, element) as { found: true; value: unknown };
    container.splice(element.startsWith('i:') ? Number(element.slice(2)) : container.indexOf(target.value), 1);
  }
  return true;
}
