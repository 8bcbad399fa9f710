/**
 * Builders for schemas that are at once valid JSON Schema (for ajv) and structural OpenAPI v3 (for
 * CustomResourceDefinitions). TypeBox's own Union/Record/Literal produce `anyOf`/`const`/`patternProperties`,
 * which structural schemas forbid, so enums, maps and cross-field rules go through these helpers instead.
 */
import { Type, type Static, type TObject, type TProperties, type TSchema, type ObjectOptions } from '@sinclair/typebox';

export { Type, type Static };

/** A CEL rule the API server evaluates (`x-kubernetes-validations`); `shipway validate` evaluates it too. */
export interface CelRule {
  rule: string;
  message: string;
  /** Where the error points, relative to the object holding the rule (e.g. `.canary.percent`). */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

export type ObjectOpts = ObjectOptions & { rules?: CelRule[] };

/** A closed object: unknown fields are errors for `shipway validate` and pruned by the API server. */
export function Obj<T extends TProperties>(properties: T, options: ObjectOpts = {}): TObject<T> {
  const { rules, ...rest } = options;
  return Type.Object(properties, {
    additionalProperties: false,
    ...rest,
    ...(rules && rules.length > 0 ? { 'x-kubernetes-validations': rules } : {}),
  });
}

/** A string enum as `enum`, not TypeBox's union of literals. */
export function StringEnum<const T extends readonly string[]>(values: T, options: { default?: T[number]; description?: string } = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** `map[string]string`: `additionalProperties` rather than `patternProperties`. */
export function StringMap(options: { description?: string; maxProperties?: number } = {}) {
  return Type.Unsafe<Record<string, string>>({
    type: 'object',
    additionalProperties: { type: 'string', maxLength: 4096 },
    ...options,
  });
}

/** A free-form object the schema does not describe (metrics, arbitrary details). */
export function FreeForm(options: { description?: string } = {}) {
  return Type.Unsafe<Record<string, unknown>>({
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
    ...options,
  });
}

/** A list whose items are unique by key fields; the API server rejects duplicates itself. */
export function ListMap<T extends TSchema>(items: T, keys: string[], options: { minItems?: number; maxItems: number; description?: string }) {
  return Type.Array(items, {
    ...options,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': keys,
  });
}

/** A list of unique strings. */
export function StringSet(options: { minItems?: number; maxItems: number; description?: string; itemPattern?: string; itemMaxLength?: number }) {
  const { itemPattern, itemMaxLength, ...rest } = options;
  return Type.Array(
    Type.String({ maxLength: itemMaxLength ?? 253, ...(itemPattern ? { pattern: itemPattern } : {}) }),
    { ...rest, 'x-kubernetes-list-type': 'set' },
  );
}

/** Rules that tie optional sub-objects to a discriminator: each block only with its value, some required. */
export function blockRules(discriminator: string, blocks: { value: string; block: string; required: boolean }[]): CelRule[] {
  const rules: CelRule[] = [];
  for (const { value, block, required } of blocks) {
    rules.push({
      rule: `!has(self.${block}) || self.${discriminator} == '${value}'`,
      message: `${block} is only allowed when ${discriminator} is ${value}`,
      fieldPath: `.${block}`,
      reason: 'FieldValueForbidden',
    });
    if (required) {
      rules.push({
        rule: `self.${discriminator} != '${value}' || has(self.${block})`,
        message: `${block} is required when ${discriminator} is ${value}`,
        fieldPath: `.${block}`,
        reason: 'FieldValueRequired',
      });
    }
  }
  return rules;
}

/** Exactly one of the named optional fields is set. */
export function exactlyOne(fields: string[], message?: string): CelRule {
  return {
    rule: `[${fields.map((f) => `has(self.${f})`).join(', ')}].exists_one(x, x)`,
    message: message ?? `exactly one of ${fields.join(', ')} must be set`,
  };
}

/** At most one of the named optional fields is set. */
export function atMostOne(fields: string[], message?: string): CelRule {
  return {
    rule: `[${fields.map((f) => `has(self.${f})`).join(', ')}].filter(x, x).size() <= 1`,
    message: message ?? `at most one of ${fields.join(', ')} may be set`,
  };
}
