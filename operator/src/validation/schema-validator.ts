/**
 * Validates a Shipway object the way the API server does: OpenAPI schema with defaults, unknown fields as
 * errors (kubectl's fieldValidation=Strict), list-map uniqueness and the CEL `x-kubernetes-validations`
 * rules, evaluated with a CEL library. Pure: objects in, issues out.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { API_GROUP, DNS_SUBDOMAIN, GROUP_VERSION, Label } from '../api/common.ts';
import { toPlainSchema, type Json } from '../api/crd.ts';
import { KINDS, type KindDefinition } from '../api/kinds.ts';
import { fieldPath, type ValidationIssue } from './issue.ts';
import { describeAjvError } from './messages.ts';
import { errorSegments, valueAt } from './ajv-paths.ts';
import { StructuralRules } from './structural-rules.ts';

// ajv-formats is CommonJS; under NodeNext its default export is the module object.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;

type Schema = { [key: string]: Json };

const METADATA = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN },
    generateName: { type: 'string', maxLength: 253 },
    namespace: JSON.parse(JSON.stringify(Label())),
    labels: { type: 'object', additionalProperties: { type: 'string', maxLength: 63 } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
  },
  anyOf: [{ required: ['name'] }, { required: ['generateName'] }],
};

function objectSchema(def: KindDefinition): Schema {
  return {
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    additionalProperties: false,
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: METADATA as Json,
      spec: toPlainSchema(def.spec, { closed: true }),
      status: toPlainSchema(def.status, { closed: true }),
    },
  };
}

export interface SchemaValidation {
  kind: KindDefinition;
  /** The object with schema defaults applied (a copy). */
  object: Record<string, unknown>;
  issues: ValidationIssue[];
}

export class SchemaValidator {
  private readonly compiled = new Map<string, { validate: ValidateFunction; schema: Schema }>();
  private readonly rules = new StructuralRules();

  constructor(kinds: readonly KindDefinition[] = KINDS) {
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, strictRequired: false, allowUnionTypes: true });
    addFormats(ajv);
    for (const keyword of ['x-kubernetes-validations', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-preserve-unknown-fields']) {
      ajv.addKeyword({ keyword });
    }
    for (const def of kinds) {
      const schema = objectSchema(def);
      this.compiled.set(def.kind, { validate: ajv.compile(schema), schema });
    }
  }

  /** Which kind an object claims to be, or an issue when it claims shipway.dev but names no known kind. */
  static identify(object: Record<string, unknown>): { kind?: KindDefinition; issue?: ValidationIssue; foreign?: boolean } {
    const { apiVersion, kind } = object;
    const group = typeof apiVersion === 'string' ? apiVersion.split('/')[0] : undefined;
    if (group !== API_GROUP) return { foreign: true };
    if (apiVersion !== GROUP_VERSION) {
      return { issue: { path: 'apiVersion', message: `Unsupported value: ${JSON.stringify(apiVersion)}: supported values: "${GROUP_VERSION}"`, source: 'schema' } };
    }
    if (kind === undefined || kind === null || kind === '') return { issue: { path: 'kind', message: 'Required value', source: 'schema' } };
    const def = KINDS.find((k) => k.kind === kind);
    if (!def) {
      return { issue: { path: 'kind', message: `Unsupported value: ${JSON.stringify(kind)}: supported values: ${KINDS.map((k) => `"${k.kind}"`).join(', ')}`, source: 'schema' } };
    }
    return { kind: def };
  }

  validate(def: KindDefinition, input: Record<string, unknown>): SchemaValidation {
    const entry = this.compiled.get(def.kind);
    if (!entry) throw new Error(`kind ${def.kind} is not registered with this validator`);
    const object = structuredClone(input);
    const issues: ValidationIssue[] = [];
    if (!entry.validate(object)) {
      for (const error of entry.validate.errors ?? []) issues.push(...this.fromAjv(error, object));
    }
    this.checkRules(entry.schema, object, issues);
    return { kind: def, object, issues: dedupe(issues) };
  }

  private fromAjv(error: ErrorObject, root: unknown): ValidationIssue[] {
    // The metadata name/generateName alternative reports each branch; one clear message is enough.
    if (error.keyword === 'anyOf') return [{ path: 'metadata.name', message: 'Required value: name or generateName is required', source: 'schema' }];
    if (error.schemaPath.includes('/anyOf/')) return [];
    const segments = errorSegments(error);
    const value = valueAt(root, segments);
    const message = error.keyword === 'additionalProperties' ? `unknown field "${fieldPath(segments)}"` : describeAjvError(error, value);
    return [{ path: fieldPath(segments), message, source: 'schema' }];
  }

  /** CEL rules and list uniqueness, where the value has the right shape. */
  private checkRules(schema: Schema, object: unknown, issues: ValidationIssue[]): void {
    const schemaIssues = issues.filter((i) => i.source === 'schema').map((i) => i.path);
    const findings = this.rules.check(schema, object, {
      // A rule reading a field the schema already rejected (say an unknown `type`) would only add follow-on noise.
      skip: (path, rule) => schemaIssues.some((p) => referencedChild(rule.rule, fieldPath(path), p)),
    });
    for (const finding of findings) {
      const here = fieldPath(finding.path);
      if (finding.kind === 'duplicate') {
        const keys = finding.value && typeof finding.value === 'object' ? Object.keys(finding.value) : [];
        const at = keys.length === 1 ? [...finding.path, keys[0] as string] : finding.path;
        issues.push({ path: fieldPath(at), message: `Duplicate value: ${JSON.stringify(finding.value)}`, source: 'schema' });
      } else if (finding.kind === 'rule') {
        const at = finding.rule.fieldPath ? fieldPath([...finding.path, ...finding.rule.fieldPath.replace(/^\./, '').split('.')]) : here;
        issues.push({ path: at, message: `Invalid value: ${finding.rule.message ?? finding.rule.rule}`, source: 'rule' });
      } else {
        // A rule over a subtree that already failed the schema (wrong type, missing field) cannot be evaluated;
        // the schema error says what is wrong. Elsewhere an evaluation error is itself worth reporting.
        if (schemaIssues.some((p) => here === '' || p === here || p.startsWith(`${here}.`) || p.startsWith(`${here}[`))) continue;
        issues.push({ path: here, message: `rule ${JSON.stringify(finding.rule.rule)} could not be evaluated: ${finding.error}`, source: 'rule' });
      }
    }
  }
}

/** Whether `issuePath` is a direct field of `here` that the rule reads as `self.<field>`. */
function referencedChild(rule: string, here: string, issuePath: string): boolean {
  const prefix = here === '' ? '' : `${here}.`;
  if (!issuePath.startsWith(prefix)) return false;
  const child = issuePath.slice(prefix.length);
  return /^[A-Za-z0-9_]+$/.test(child) && new RegExp(`\\bself\\.${child}\\b`).test(rule);
}

function dedupe(issues: ValidationIssue[]): ValidationIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
