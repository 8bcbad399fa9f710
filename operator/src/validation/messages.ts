/** Readable reasons for ajv errors, in the words `kubectl` users know from the API server. */
import type { ErrorObject } from 'ajv';
import { PATTERN_MEANINGS } from '../api/patterns.ts';

const FORMAT_NAMES: Record<string, string> = {
  'date-time': 'an RFC 3339 date-time such as 2026-01-31T10:00:00Z',
  date: 'a date as YYYY-MM-DD',
};

const show = (value: unknown): string => (typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value));

export function describeAjvError(error: ErrorObject, value: unknown): string {
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return 'Required value';
    case 'additionalProperties':
      return 'unknown field';
    case 'enum':
      return `Unsupported value: ${show(value)}: supported values: ${(p.allowedValues as unknown[]).map(show).join(', ')}`;
    case 'type':
      return `Invalid value: ${show(value)}: must be ${p.type === 'integer' ? 'an integer' : `of type ${String(p.type)}`}`;
    case 'pattern':
      return `Invalid value: ${show(value)}: must be ${PATTERN_MEANINGS.get(String(p.pattern)) ?? `matching ${String(p.pattern)}`}`;
    case 'format':
      return `Invalid value: ${show(value)}: must be ${FORMAT_NAMES[String(p.format)] ?? `in format ${String(p.format)}`}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `Invalid value: ${show(value)}: must be ${String(p.comparison)} ${String(p.limit)}`;
    case 'minLength':
      return `Invalid value: ${show(value)}: must be at least ${String(p.limit)} characters long`;
    case 'maxLength':
      return `Too long: must have at most ${String(p.limit)} characters`;
    case 'minItems':
      return `Invalid value: must have at least ${String(p.limit)} item(s)`;
    case 'maxItems':
      return `Too many: must have at most ${String(p.limit)} items`;
    case 'maxProperties':
      return `Too many: must have at most ${String(p.limit)} entries`;
    default:
      return error.message ?? error.keyword;
  }
}
