/**
 * Merging an applied configuration into the live object: maps merge, keyed lists merge item by item (a
 * configured item merges into the live item with its key, a new one is appended), scalar sets take the
 * union, atomic lists and scalars take the configured value, `null` removes the field. Live items keep
 * their order, new items follow in the configuration's order (the real server interleaves them by a
 * finer rule).
 */
import { canonicalJson, clone, deepEqual, isObject, type JsonObject } from './json-value.ts';
import type { ListRules } from './merge-keys.ts';

export function mergeApplied(live: JsonObject, config: JsonObject, rules: ListRules): JsonObject {
  return mergeMap(live, config, [], rules);
}

function mergeMap(live: unknown, config: JsonObject, names: string[], rules: ListRules): JsonObject {
  const result: JsonObject = isObject(live) ? clone(live) : {};
  for (const [key, value] of Object.entries(config)) {
    if (value === null) delete result[key];
    else result[key] = mergeValue(result[key], value, [...names, key], rules);
  }
  return result;
}

function mergeValue(live: unknown, config: unknown, names: string[], rules: ListRules): unknown {
  if (isObject(config)) return mergeMap(live, config, names, rules);
  if (!Array.isArray(config)) return config;
  const rule = rules(names);
  const liveItems = Array.isArray(live) ? live : [];
  if (rule.type === 'set') {
    const items = clone(liveItems);
    for (const value of config) if (!items.some((item) => deepEqual(item, value))) items.push(clone(value));
    return items;
  }
  if (rule.type === 'map' && config.every((item) => isObject(item) && item[rule.key] !== undefined)) {
    const id = (item: unknown) => (isObject(item) ? canonicalJson(item[rule.key]) : undefined);
    const items = clone(liveItems);
    for (const item of config as JsonObject[]) {
      const index = items.findIndex((existing) => id(existing) === id(item));
      if (index >= 0) items[index] = mergeMap(items[index], item, names, rules);
      else items.push(mergeMap(undefined, item, names, rules));
    }
    return items;
  }
  return clone(config);
}
