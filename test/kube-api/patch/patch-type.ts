/** PATCH content types, as the API server negotiates them. */
import { unsupportedMediaType } from './errors.ts';

export const JSON_PATCH = 'application/json-patch+json';
export const MERGE_PATCH = 'application/merge-patch+json';
export const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';
export const APPLY_PATCH = 'application/apply-patch+yaml';

export type PatchType = typeof JSON_PATCH | typeof MERGE_PATCH | typeof STRATEGIC_MERGE_PATCH | typeof APPLY_PATCH;

/** The types a built-in resource accepts, in the order the real server lists them in its 415 message. */
export const BUILT_IN_PATCH_TYPES: readonly PatchType[] = [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH];
/** Custom resources have no Go struct to take merge keys from, so no strategic merge patch. */
export const CUSTOM_RESOURCE_PATCH_TYPES: readonly PatchType[] = [JSON_PATCH, MERGE_PATCH, APPLY_PATCH];

/**
 * The patch type of a `Content-Type` header. Parameters (`;charset=utf-8`) are dropped, as the real server
 * does; we also trim and lower-case (the real server compares exactly, which no client relies on).
 * Anything else is 415 UnsupportedMediaType listing the accepted types; with `customResource`, strategic
 * merge patch is refused too, with the shorter list a custom resource's endpoint reports.
 */
export function parsePatchType(contentType: string | undefined, options: { customResource?: boolean } = {}): PatchType {
  const accepted = options.customResource ? CUSTOM_RESOURCE_PATCH_TYPES : BUILT_IN_PATCH_TYPES;
  const base = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  const match = accepted.find((type) => type === base);
  if (!match) throw unsupportedMediaType(accepted);
  return match;
}
