/**
 * Where an ajv error points, as field-path segments: its JSON pointer, plus the missing or unknown property
 * for `required` and `additionalProperties` (ajv reports those at the parent). Shared by `shipway validate`,
 * the agent protocol and the build webhook, so all three name the same field for the same mistake.
 */
import type { ErrorObject } from 'ajv';

export type Path = (string | number)[];

export function errorSegments(error: ErrorObject): Path {
  const segments: Path = error.instancePath === '' ? [] : error.instancePath.slice(1).split('/').map((raw) => {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    return /^\d+$/.test(segment) ? Number(segment) : segment;
  });
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'required') segments.push(String(params.missingProperty));
  if (error.keyword === 'additionalProperties') segments.push(String(params.additionalProperty));
  return segments;
}

/** The value at `segments` under `root`, or undefined where the path leaves the object. */
export function valueAt(root: unknown, segments: Path): unknown {
  let node = root;
  for (const segment of segments) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}
