/**
 * RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, everything else (arrays included)
 * replaces. The body must be a JSON object: anything else is 400, as the real server reports it when the
 * client asks for strict field validation (kubectl does); `null` is 400 "Invalid JSON Patch" always.
 */
import { badRequest } from './errors.ts';
import { clone, goJsonKind, isObject, parseJson, type JsonObject } from './json-value.ts';

/** Merges `patch` into `target` (neither is changed) and returns the result. */
export function mergePatchValue(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatchValue(result[key], value);
  }
  return result;
}

export function parseObjectPatch(body: string): JsonObject {
  const parsed = parseJson(body);
  if (!parsed.ok) throw badRequest(`error decoding patch: ${parsed.error}`);
  if (parsed.value === null) throw badRequest('Invalid JSON Patch');
  if (!isObject(parsed.value)) {
    throw badRequest(`error decoding patch: json: cannot unmarshal ${goJsonKind(parsed.value)} into Go value of type map[string]interface {}`);
  }
  return parsed.value;
}

export function applyMergePatch(current: JsonObject, body: string): JsonObject {
  return mergePatchValue(current, parseObjectPatch(body)) as JsonObject;
}
