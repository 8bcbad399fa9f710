/** Go's `%v` rendering of decoded JSON, for error messages that quote a patch the way the real server does. */
import { isObject } from './json-value.ts';

export function goValue(value: unknown): string {
  if (value === null || value === undefined) return '<nil>';
  if (Array.isArray(value)) return `[${value.map(goValue).join(' ')}]`;
  if (isObject(value)) {
    return `map[${Object.keys(value)
      .sort()
      .map((k) => `${k}:${goValue(value[k])}`)
      .join(' ')}]`;
  }
  return String(value);
}
