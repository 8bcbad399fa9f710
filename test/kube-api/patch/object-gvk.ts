/** Group, version and kind of an object or of a patch target, and the list rules that go with them. */
import { isObject, type JsonObject } from './json-value.ts';
import { listRulesFor, type ListRules } from './merge-keys.ts';

export interface Gvk {
  group: string;
  version: string;
  kind: string;
}

export const apiVersionOf = (gvk: Gvk) => (gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version);

export function gvkOf(object: JsonObject): Gvk {
  const apiVersion = typeof object.apiVersion === 'string' ? object.apiVersion : '';
  const slash = apiVersion.lastIndexOf('/');
  return {
    group: slash >= 0 ? apiVersion.slice(0, slash) : '',
    version: slash >= 0 ? apiVersion.slice(slash + 1) : apiVersion,
    kind: typeof object.kind === 'string' ? object.kind : '',
  };
}

/** Go's `GroupVersionKind.String()`: `apps/v1, Kind=Deployment`, `/v1, Kind=Pod`. */
export const gvkString = (gvk: Gvk) => `${gvk.group}/${gvk.version}, Kind=${gvk.kind}`;

/** List rules of a target: a custom resource (no strategic merge) gets the ObjectMeta rules only. */
export function rulesFor(gvk: Gvk, builtIn: boolean): ListRules {
  return listRulesFor(builtIn ? gvk : { group: gvk.group, kind: '' });
}

export const metadataOf = (object: JsonObject): JsonObject => (isObject(object.metadata) ? object.metadata : {});
