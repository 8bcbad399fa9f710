/**
 * The one masking function for secrets: every log line, event, status field and history row goes
 * through a Masker built from the secret values in play. Pure.
 */

export const MASK = '******';

/** Values shorter than this are not masked: masking "1" or "a" would shred every message. */
const MIN_SECRET_LENGTH = 3;

export interface Masker {
  (text: string): string;
  /** Masks every string inside a JSON-like value (objects, arrays), returning a copy. */
  deep<T>(value: T): T;
  readonly size: number;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A masker for these secret values. Besides each value it masks the forms a value takes on its way into
 * text: JSON-escaped (quotes, backslashes, newlines) and base64 (as in a Secret's data).
 */
export function createMasker(secrets: Iterable<string>): Masker {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
    forms.add(Buffer.from(secret, 'utf8').toString('base64'));
  }
  // Longest first, so a secret that contains another is masked whole.
  const ordered = [...forms].sort((a, b) => b.length - a.length);
  const pattern = ordered.length > 0 ? new RegExp(ordered.map(escapeRegExp).join('|'), 'g') : undefined;
  const mask = ((text: string) => (pattern && typeof text === 'string' ? text.replace(pattern, MASK) : text)) as Masker;
  const deep = (value: unknown): unknown => {
    if (typeof value === 'string') return mask(value);
    if (Array.isArray(value)) return value.map(deep);
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deep(v)]));
    return value;
  };
  Object.defineProperty(mask, 'deep', { value: <T>(value: T) => deep(value) as T });
  Object.defineProperty(mask, 'size', { value: ordered.length });
  return mask;
}
