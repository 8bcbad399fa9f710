/**
 * The parts of a structural schema that JSON Schema validators do not check: CEL `x-kubernetes-validations`
 * (with `oldSelf` transition rules on updates) and `x-kubernetes-list-type` uniqueness. Used by
 * `shipway validate` and by the test API server, so both judge a manifest the same way. Pure.
 */
import { parse as parseCel } from '@marcbachmann/cel-js';

type Schema = Record<string, unknown>;
export type Segments = (string | number)[];

export interface RuleSpec {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
  reason?: string;
}

export type StructuralFinding =
  | { kind: 'rule'; path: Segments; rule: RuleSpec }
  | { kind: 'rule-error'; path: Segments; rule: RuleSpec; error: string }
  | { kind: 'duplicate'; path: Segments; value: unknown };

type Program = (context: Record<string, unknown>) => unknown;

export interface CheckOptions {
  /** The previous object, for `oldSelf` transition rules (updates only). */
  old?: unknown;
  /** Skip a rule at `path` (e.g. because the schema already rejected a field it reads). */
  skip?: (path: Segments, rule: RuleSpec) => boolean;
}

export class StructuralRules {
  private readonly programs = new Map<string, Program>();

  /** Throws when a rule does not parse: a server must refuse such a schema loudly, never ignore the rule. */
  compile(rule: string): Program {
    let program = this.programs.get(rule);
    if (!program) {
      program = parseCel(rule) as unknown as Program;
      this.programs.set(rule, program);
    }
    return program;
  }

  check(schema: Schema, value: unknown, options: CheckOptions = {}): StructuralFinding[] {
    const findings: StructuralFinding[] = [];
    this.walk(schema, value, options.old, true, [], findings, options);
    return findings;
  }

  private walk(schema: Schema, value: unknown, old: unknown, hasOld: boolean, path: Segments, out: StructuralFinding[], options: CheckOptions): void {
    if (value === null || value === undefined) return;
    const rules = schema['x-kubernetes-validations'] as RuleSpec[] | undefined;
    if (rules && typeof value === 'object') {
      for (const rule of rules) {
        const transition = /\boldSelf\b/.test(rule.rule);
        if (transition && (!hasOld || old === undefined || old === null || options.old === undefined)) continue;
        if (options.skip?.(path, rule)) continue;
        try {
          const result = this.compile(rule.rule)(transition ? { self: value, oldSelf: old } : { self: value });
          if (result !== true) out.push({ kind: 'rule', path, rule });
        } catch (error) {
          out.push({ kind: 'rule-error', path, rule, error: (error as Error).message });
        }
      }
    }
    if (Array.isArray(value)) {
      this.walkList(schema, value, old, hasOld, path, out, options);
      return;
    }
    if (typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    const oldRecord = hasOld && old && typeof old === 'object' && !Array.isArray(old) ? (old as Record<string, unknown>) : undefined;
    const properties = schema.properties as Record<string, Schema> | undefined;
    if (properties) {
      for (const [name, sub] of Object.entries(properties)) {
        this.walk(sub, record[name], oldRecord?.[name], oldRecord !== undefined && name in oldRecord, [...path, name], out, options);
      }
    }
    const additional = schema.additionalProperties;
    if (additional && typeof additional === 'object') {
      for (const [name, item] of Object.entries(record)) {
        this.walk(additional as Schema, item, oldRecord?.[name], oldRecord !== undefined && name in oldRecord, [...path, name], out, options);
      }
    }
  }

  private walkList(schema: Schema, value: unknown[], old: unknown, hasOld: boolean, path: Segments, out: StructuralFinding[], options: CheckOptions): void {
    const listType = schema['x-kubernetes-list-type'];
    const keys = schema['x-kubernetes-list-map-keys'] as string[] | undefined;
    const keyOf = (item: unknown) =>
      listType === 'map' && keys ? JSON.stringify(keys.map((k) => (item as Record<string, unknown> | null)?.[k])) : JSON.stringify(item);
    if (listType === 'map' || listType === 'set') {
      const seen = new Set<string>();
      value.forEach((item, i) => {
        const key = keyOf(item);
        if (seen.has(key)) out.push({ kind: 'duplicate', path: [...path, i], value: listType === 'map' && keys ? Object.fromEntries(keys.map((k) => [k, (item as Record<string, unknown>)[k]])) : item });
        seen.add(key);
      });
    }
    const items = schema.items as Schema | undefined;
    if (!items) return;
    // Only list-map items correlate with their old selves (by key); other lists have no oldSelf.
    const oldByKey = new Map<string, unknown>();
    if (listType === 'map' && keys && hasOld && Array.isArray(old)) for (const item of old) oldByKey.set(keyOf(item), item);
    value.forEach((item, i) => {
      const key = keyOf(item);
      this.walk(items, item, oldByKey.get(key), oldByKey.has(key), [...path, i], out, options);
    });
  }
}
