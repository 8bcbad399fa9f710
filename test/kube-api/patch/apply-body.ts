/**
 * The body of an `application/apply-patch+yaml` request: YAML, or JSON (which kubectl and client-node send).
 * The real server decodes it with sigs.k8s.io/yaml (go-yaml v2, YAML 1.1): `yes`/`no`/`on`/`off` are
 * booleans, timestamps stay strings, and no base-60 numbers. Any failure, or a document that is not a map,
 * is 400 "error decoding YAML: ...".
 */
import { parse, type Tags } from 'yaml';
import { badRequest } from './errors.ts';
import { goJsonKind, isObject, parseJson, type JsonObject } from './json-value.ts';

const goYamlV2Tags = (tags: Tags): Tags =>
  tags.filter((t) => typeof t === 'string' || (t.tag !== 'tag:yaml.org,2002:timestamp' && t.format !== 'TIME'));

export function parseApplyBody(body: string): JsonObject {
  let value: unknown;
  const json = body.trimStart().startsWith('{') ? parseJson(body) : undefined;
  if (json?.ok) {
    value = json.value;
  } else {
    try {
      value = parse(body, { version: '1.1', customTags: goYamlV2Tags, uniqueKeys: false });
    } catch (error) {
      throw badRequest(`error decoding YAML: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  value ??= {}; // an empty document decodes to an empty object, and fails the kind check later
  if (!isObject(value)) {
    throw badRequest(`error decoding YAML: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${goJsonKind(value)} into Go value of type map[string]interface {}`);
  }
  return value;
}
