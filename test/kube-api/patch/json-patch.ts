/**
 * RFC 6902 JSON patch (fast-json-patch), with the API server's error mapping:
 * - a body that does not decode as a list of operations is 400 BadRequest (the server's `DecodePatch`);
 * - an operation that fails (a failed `test`, a missing path on `remove`/`replace`, an unknown `op`...) is
 *   422 Invalid "the server rejected our request due to an error in our request" with no causes, exactly as
 *   the server's `NewGenericServerResponse(422, ...)`; the underlying reason is kept as the error's `cause`;
 * - a result that is no longer a JSON object is 422 Invalid (the server fails to decode it into the kind).
 */
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { badRequest, invalidPatchResult, rejectedRequest } from './errors.ts';
import { clone, goJsonKind, isObject, parseJson, type JsonObject } from './json-value.ts';

export function applyJsonPatch(current: JsonObject, body: string): JsonObject {
  const parsed = parseJson(body);
  if (!parsed.ok) throw badRequest(parsed.error);
  const operations = parsed.value;
  if (operations === null) return clone(current); // Go decodes `null` as an empty patch
  if (!Array.isArray(operations)) {
    throw badRequest(`json: cannot unmarshal ${goJsonKind(operations)} into Go value of type jsonpatch.Patch`);
  }
  const notAnOperation = operations.find((op) => op !== null && !isObject(op));
  if (notAnOperation !== undefined) {
    throw badRequest(`json: cannot unmarshal ${goJsonKind(notAnOperation)} into Go value of type jsonpatch.Operation`);
  }
  let result: unknown;
  try {
    result = fastJsonPatch.applyPatch(clone(current), operations.map((op) => op ?? {}) as Operation[], true, true, true).newDocument;
  } catch (error) {
    throw rejectedRequest((error as Error).message);
  }
  if (!isObject(result)) {
    throw invalidPatchResult(JSON.stringify(result), `json: cannot unmarshal ${goJsonKind(result)} into Go value of type map[string]interface {}`);
  }
  return result;
}
