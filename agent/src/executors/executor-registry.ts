/**
 * The agent's executors by type. A task's config is checked against its executor's schema — the same JSON
 * Schema and CEL rules the API server applies to the objects it came from — before anything runs, and is
 * refused with the field and the reason; defaults are filled in on the way, so executors get complete
 * configs.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { toPlainSchema, type Json } from '../../../operator/src/api/crd.ts';
import { fieldPath } from '../../../operator/src/validation/issue.ts';
import { describeAjvError } from '../../../operator/src/validation/messages.ts';
import { StructuralRules } from '../../../operator/src/validation/structural-rules.ts';
import type { TASK_KINDS } from '../../../operator/src/protocol/messages.ts';
import type { AgentExecutor, AgentTaskContext, AgentTaskResult } from './agent-executor.ts';
import { errorText, unchangedResult } from './script-executor.ts';

// ajv-formats is CommonJS; under NodeNext its default export is the module object.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;

/** Pipeline tasks register under this prefix: `script` alone is the deployment type. */
export const TASK_TYPE_PREFIX = 'task:';

/** The registry type of a task_assign: its kind and its targetType (`deploy` + `script`, `task` + `script`). */
export function executorType(kind: (typeof TASK_KINDS)[number], targetType: string): string {
  return kind === 'task' ? `${TASK_TYPE_PREFIX}${targetType}` : targetType;
}

export interface ConfigIssue {
  /** Where in the config, e.g. `settings.timeouts.install`; empty for the config as a whole. */
  path: string;
  message: string;
}

export type ConfigCheck = { ok: true; config: unknown } | { ok: false; issues: ConfigIssue[] };

interface Entry {
  executor: AgentExecutor;
  validate: ValidateFunction;
  schema: Record<string, Json>;
}

type Segment = string | number;

export class ExecutorRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly ajv: Ajv;
  private readonly rules = new StructuralRules();

  constructor(executors: readonly AgentExecutor[] = []) {
    this.ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, strictRequired: false, allowUnionTypes: true });
    addFormats(this.ajv);
    for (const keyword of ['x-kubernetes-validations', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-preserve-unknown-fields']) {
      this.ajv.addKeyword({ keyword });
    }
    for (const executor of executors) this.register(executor);
  }

  /** Throws on a second executor for a type, and on a schema that does not compile: both are agent bugs. */
  register(executor: AgentExecutor): void {
    if (this.entries.has(executor.type)) throw new Error(`an executor for ${executor.type} is already registered`);
    const schema = toPlainSchema(executor.configSchema, { closed: true }) as Record<string, Json>;
    this.entries.set(executor.type, { executor, schema, validate: this.ajv.compile(schema) });
  }

  get(type: string): AgentExecutor | undefined {
    return this.entries.get(type)?.executor;
  }

  types(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** What the agent announces in hello: the deployment and task type names, each once, without the prefix. */
  capabilities(): string[] {
    return [...new Set(this.types().map((type) => (type.startsWith(TASK_TYPE_PREFIX) ? type.slice(TASK_TYPE_PREFIX.length) : type)))].sort();
  }

  /** The config with its defaults applied (a copy), or every issue found. */
  validate(type: string, config: unknown): ConfigCheck {
    const entry = this.entries.get(type);
    if (!entry) return { ok: false, issues: [{ path: '', message: this.unknownType(type) }] };
    const copy = structuredClone(config);
    const issues: ConfigIssue[] = [];
    if (!entry.validate(copy)) for (const error of entry.validate.errors ?? []) issues.push(fromAjv(error, copy));
    const failed = issues.map((issue) => issue.path);
    const findings = this.rules.check(entry.schema, copy, {
      // A rule reading a field the schema already refused would only repeat the problem in other words.
      skip: (path, rule) => failed.some((p) => p === fieldPath(path) || readsChild(rule.rule, fieldPath(path), p)),
    });
    for (const finding of findings) {
      if (finding.kind === 'rule') {
        const at = finding.rule.fieldPath ? [...finding.path, ...finding.rule.fieldPath.replace(/^\./, '').split('.')] : finding.path;
        issues.push({ path: fieldPath(at), message: `Invalid value: ${finding.rule.message ?? finding.rule.rule}` });
      } else if (finding.kind === 'duplicate') {
        issues.push({ path: fieldPath(finding.path), message: `Duplicate value: ${JSON.stringify(finding.value)}` });
      } else if (!failed.some((p) => within(p, fieldPath(finding.path)))) {
        issues.push({ path: fieldPath(finding.path), message: `rule ${JSON.stringify(finding.rule.rule)} could not be evaluated: ${finding.error}` });
      }
    }
    return issues.length === 0 ? { ok: true, config: copy } : { ok: false, issues: dedupe(issues) };
  }

  /**
   * Validates, then runs. Never rejects: an unknown type, a refused config and an executor that throws all
   * come back as failed results, with the app reported as the caller described it.
   */
  async run(type: string, config: unknown, context: AgentTaskContext): Promise<AgentTaskResult> {
    const entry = this.entries.get(type);
    if (!entry) return unchangedResult(context, false, { error: this.unknownType(type) });
    const check = this.validate(type, config);
    if (!check.ok) {
      const list = check.issues.map((issue) => `${issue.path === '' ? '(config)' : issue.path}: ${issue.message}`).join('; ');
      return unchangedResult(context, false, { error: `${type} config refused: ${list}` });
    }
    try {
      return await entry.executor.run(check.config, context);
    } catch (error) {
      return unchangedResult(context, false, { error: `${type} failed: ${errorText(error)}` });
    }
  }

  private unknownType(type: string): string {
    return `this agent has no executor for ${JSON.stringify(type)} (it runs ${this.types().join(', ') || 'nothing'})`;
  }
}

function fromAjv(error: ErrorObject, root: unknown): ConfigIssue {
  const segments: Segment[] = [];
  let value = root;
  for (const raw of error.instancePath === '' ? [] : error.instancePath.slice(1).split('/')) {
    const name = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const segment = Array.isArray(value) ? Number(name) : name;
    segments.push(segment);
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[name] : undefined;
  }
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'required') segments.push(String(params.missingProperty));
  if (error.keyword === 'additionalProperties') segments.push(String(params.additionalProperty));
  return { path: fieldPath(segments), message: describeAjvError(error, value) };
}

/** Whether `issuePath` is `here` or lies below it. */
function within(issuePath: string, here: string): boolean {
  return here === '' || issuePath === here || issuePath.startsWith(`${here}.`) || issuePath.startsWith(`${here}[`);
}

/** Whether the rule at `here` reads (as `self.<field>`) the direct child of `here` that `issuePath` lies in. */
function readsChild(rule: string, here: string, issuePath: string): boolean {
  if (!within(issuePath, here) || issuePath === here) return false;
  const rest = here === '' ? issuePath : issuePath.slice(here.length).replace(/^\./, '');
  const child = rest.split(/[.[]/)[0];
  return child !== undefined && child !== '' && new RegExp(`\\bself\\.${child}\\b`).test(rule);
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.path}\n${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
