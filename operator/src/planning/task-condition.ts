/**
 * CEL conditions of pipeline tasks: the `condition` field that skips a task and the `evaluate` block of a
 * `condition` task. Both see the same activation, so an expression means the same in either place. Pure.
 */
import { parse as parseCel } from '@marcbachmann/cel-js';

/** What an expression can read. Every value is a string, so comparisons need no CEL type conversions. */
export interface ConditionActivation {
  variables: Readonly<Record<string, string>>;
  /** Earlier tasks of this target by task id: `results['smoke'].status == 'succeeded'`. */
  results: Readonly<Record<string, { status: string; output?: string }>>;
  release: { namespace: string; name: string; uid: string; project: string; version: string };
  environment: string;
  target: { name: string; labels: Readonly<Record<string, string>> };
}

export type ConditionResult = { value: boolean } | { error: string };

type Program = (activation: Record<string, unknown>) => unknown;

// Pipelines hold a bounded number of expressions; the cap only guards against a leak if that ever changes.
const MAX_CACHED_PROGRAMS = 1000;
const programs = new Map<string, Program>();

function compile(expression: string): Program {
  let program = programs.get(expression);
  if (!program) {
    program = parseCel(expression) as unknown as Program;
    if (programs.size >= MAX_CACHED_PROGRAMS) programs.clear();
    programs.set(expression, program);
  }
  return program;
}

/** The activation from what the engine knows; a result without output has no `output` key (test it with `has`). */
export function conditionActivation(input: ConditionActivation): Record<string, unknown> {
  const results: Record<string, { status: string; output?: string }> = {};
  for (const [id, result] of Object.entries(input.results)) {
    results[id] = result.output === undefined ? { status: result.status } : { status: result.status, output: result.output };
  }
  return {
    variables: { ...input.variables },
    results,
    release: { ...input.release },
    environment: input.environment,
    target: { name: input.target.name, labels: { ...input.target.labels } },
  };
}

function describeValue(value: unknown): string {
  if (typeof value === 'bigint') return `int ${value}`;
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a map' : `${typeof value} ${String(value)}`;
}

/** True or false, or why the expression has no boolean value (parse error, unknown key, wrong type). */
export function evaluateCondition(expression: string, activation: ConditionActivation): ConditionResult {
  let value: unknown;
  try {
    value = compile(expression)(conditionActivation(activation));
  } catch (error) {
    // cel-js messages end with a frame that quotes the expression and points at the spot.
    const { name, message } = error as Error;
    return { error: `${name}: ${message.trim()}` };
  }
  if (typeof value !== 'boolean') return { error: `the expression must evaluate to a boolean, got ${describeValue(value)}: ${expression}` };
  return { value };
}
