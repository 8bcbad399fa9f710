/**
 * What the API server does with a custom object against its CRD's structural schema: prune unknown fields,
 * apply defaults, validate (OpenAPI v3 via ajv, CEL rules and list types via the project's StructuralRules).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { fieldPath } from '../../operator/src/validation/issue.ts';
import { StructuralRules, type Segments } from '../../operator/src/validation/structural-rules.ts';

const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;
type Schema = Record<string, any>;

export interface FieldError {
  field: string;
  reason: string;
  message: string;
}

const ROOT_KEEP = new Set(['apiVersion', 'kind', 'metadata']);

function quote(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value !== null && typeof value === 'object') return Array.isArray(value) ? '"array"' : '"object"';
  return String(value);
}

export class CrdSchema {
  private readonly validateFn: ValidateFunction;
  private static readonly rules = new StructuralRules();

  constructor(private readonly schema: Schema) {
    const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: true });
    addFormats(ajv);
    for (const format of ['int32', 'int64', 'float', 'double', 'byte', 'binary', 'password', 'quantity', 'duration', 'cidr', 'mac', 'datetime']) {
      ajv.addFormat(format, true);
    }
    for (const keyword of ['x-kubernetes-validations', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string', 'x-kubernetes-embedded-resource', 'x-kubernetes-map-type']) {
      ajv.addKeyword({ keyword });
    }
    // metadata is validated by the server itself, not by the CRD schema.
    const { metadata: _metadata, ...properties } = (schema.properties ?? {}) as Schema;
    this.validateFn = ajv.compile({ ...schema, properties });
    // A rule that does not compile must fail loudly here (at CRD creation), never be ignored later.
    CrdSchema.compileRules(schema);
  }

  static compileRules(schema: Schema): void {
    const visit = (node: Schema | undefined) => {
      if (!node || typeof node !== 'object') return;
      for (const rule of (node['x-kubernetes-validations'] ?? []) as { rule: string }[]) CrdSchema.rules.compile(rule.rule);
      for (const sub of Object.values((node.properties ?? {}) as Schema)) visit(sub as Schema);
      if (node.items) visit(node.items);
      if (node.additionalProperties && typeof node.additionalProperties === 'object') visit(node.additionalProperties);
    };
    visit(schema);
  }

  /** Removes fields the schema does not know (in place); returns their paths for fieldValidation. */
  prune(object: Schema): string[] {
    const unknown: string[] = [];
    const walk = (schema: Schema | undefined, value: unknown, path: Segments, root: boolean) => {
      if (!schema || value === null || typeof value !== 'object') return;
      if (Array.isArray(value)) {
        value.forEach((item, i) => walk(schema.items, item, [...path, i], false));
        return;
      }
      const record = value as Record<string, unknown>;
      const properties = schema.properties as Schema | undefined;
      const additional = schema.additionalProperties;
      const embedded = schema['x-kubernetes-embedded-resource'] === true;
      for (const key of Object.keys(record)) {
        if ((root || embedded) && ROOT_KEEP.has(key) && !(properties && key in properties && key !== 'metadata')) continue;
        if (properties && key in properties) walk(properties[key], record[key], [...path, key], false);
        else if (additional && typeof additional === 'object') walk(additional, record[key], [...path, key], false);
        else if (additional === true || schema['x-kubernetes-preserve-unknown-fields'] === true) continue;
        else {
          unknown.push(fieldPath([...path, key]));
          delete record[key];
        }
      }
    };
    walk(this.schema, object, [], true);
    return unknown;
  }

  /** Applies `default`s (in place), depth first, only inside objects that exist. */
  applyDefaults(object: Schema): void {
    const walk = (schema: Schema | undefined, value: unknown) => {
      if (!schema || value === null || typeof value !== 'object') return;
      if (Array.isArray(value)) {
        for (const item of value) walk(schema.items, item);
        return;
      }
      const record = value as Record<string, unknown>;
      for (const [key, sub] of Object.entries((schema.properties ?? {}) as Schema)) {
        if (record[key] === undefined && sub && typeof sub === 'object' && 'default' in sub) record[key] = structuredClone(sub.default);
        walk(sub, record[key]);
      }
      const additional = schema.additionalProperties;
      if (additional && typeof additional === 'object') for (const item of Object.values(record)) walk(additional, item);
    };
    walk(this.schema, object);
  }

  /** Field errors as the API server words them; `old` enables transition rules on update. */
  validate(object: Schema, old?: Schema): FieldError[] {
    const errors: FieldError[] = [];
    const { metadata: _m, ...body } = object;
    if (!this.validateFn(body)) for (const e of this.validateFn.errors ?? []) errors.push(ajvError(e, body));
    const findings = CrdSchema.rules.check(this.schema, object, { ...(old ? { old } : {}) });
    for (const f of findings) {
      if (f.kind === 'duplicate') {
        errors.push({ field: fieldPath(f.path), reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(f.value)}` });
      } else if (f.kind === 'rule') {
        const at = f.rule.fieldPath ? [...f.path, ...f.rule.fieldPath.replace(/^\./, '').split('.')] : f.path;
        const reason = f.rule.reason ?? 'FieldValueInvalid';
        const text = f.rule.message ?? `failed rule: ${f.rule.rule}`;
        errors.push({ field: fieldPath(at), reason, message: reason === 'FieldValueInvalid' ? `Invalid value: "object": ${text}` : `${reasonWord(reason)}: ${text}` });
      } else if (!errors.some((e) => e.field.startsWith(fieldPath(f.path)))) {
        errors.push({ field: fieldPath(f.path), reason: 'InternalError', message: `Internal error: error evaluating rule "${f.rule.rule}": ${f.error}` });
      }
    }
    return errors;
  }
}

function reasonWord(reason: string): string {
  return { FieldValueRequired: 'Required value', FieldValueForbidden: 'Forbidden', FieldValueDuplicate: 'Duplicate value' }[reason] ?? 'Invalid value';
}

function ajvError(e: ErrorObject, root: unknown): FieldError {
  const segments: Segments = e.instancePath === '' ? [] : e.instancePath.slice(1).split('/').map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
  let value: unknown = root;
  for (const s of segments) value = (value as Record<string | number, unknown> | undefined)?.[s];
  const p = e.params as Record<string, any>;
  const field = fieldPath(segments);
  switch (e.keyword) {
    case 'required':
      return { field: fieldPath([...segments, p.missingProperty]), reason: 'FieldValueRequired', message: 'Required value' };
    case 'enum':
      return { field, reason: 'FieldValueNotSupported', message: `Unsupported value: ${quote(value)}: supported values: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'type':
      return { field, reason: 'FieldValueTypeInvalid', message: `Invalid value: ${quote(value)}: ${field} in body must be of type ${p.type}: ${quote(value)}` };
    case 'pattern':
      return { field, reason: 'FieldValueInvalid', message: `Invalid value: ${quote(value)}: ${field} in body should match '${p.pattern}'` };
    case 'minimum':
      return { field, reason: 'FieldValueInvalid', message: `Invalid value: ${quote(value)}: ${field} in body should be greater than or equal to ${p.limit}` };
    case 'maximum':
      return { field, reason: 'FieldValueInvalid', message: `Invalid value: ${quote(value)}: ${field} in body should be less than or equal to ${p.limit}` };
    case 'minLength':
      return { field, reason: 'FieldValueInvalid', message: `Invalid value: ${quote(value)}: ${field} in body should be at least ${p.limit} chars long` };
    case 'maxLength':
      return { field, reason: 'FieldValueTooLong', message: `Too long: may not be more than ${p.limit} bytes` };
    case 'minItems':
      return { field, reason: 'FieldValueInvalid', message: `Invalid value: ${value === undefined ? 0 : (value as unknown[]).length}: ${field} in body should have at least ${p.limit} items` };
    case 'maxItems':
      return { field, reason: 'FieldValueTooMany', message: `Too many: ${(value as unknown[]).length}: must have at most ${p.limit} items` };
    case 'format':
      return { field, reason: 'FieldValueInvalid', message: `Invalid value: ${quote(value)}: ${field} in body must be of type ${p.format}: ${quote(value)}` };
    default:
      return { field, reason: 'FieldValueInvalid', message: `Invalid value: ${quote(value)}: ${e.message ?? e.keyword}` };
  }
}
