/**
 * The emulator's patch engine: JSON patch, merge patch, strategic merge patch and server-side apply, with
 * the API server's status codes and messages. Pure functions over JSON objects; see README.md.
 */
import { serverSideApply } from './server-side-apply.ts';
import { unsupportedMediaType } from './errors.ts';
import { applyJsonPatch } from './json-patch.ts';
import { applyMergePatch } from './merge-patch.ts';
import { rulesFor } from './object-gvk.ts';
import { validatePatchOptions } from './patch-options.ts';
import { APPLY_PATCH, CUSTOM_RESOURCE_PATCH_TYPES, JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, type PatchType } from './patch-type.ts';
import { applyStrategicMergePatch } from './strategic-merge.ts';

export { PatchError, type PatchErrorCause, type PatchErrorCode, type PatchErrorDetails, type PatchErrorReason } from './errors.ts';
export { parsePatchType, BUILT_IN_PATCH_TYPES, CUSTOM_RESOURCE_PATCH_TYPES, type PatchType } from './patch-type.ts';
export { validatePatchOptions } from './patch-options.ts';
export { strategicMergeKeys, listRulesFor, PRIMITIVE_SET, type ListRule, type ListRules } from './merge-keys.ts';
export { recordUpdateManager } from './update-manager.ts';
export { managerFromUserAgent } from './user-agent.ts';
export { FieldSet, pathString } from './field-set.ts';
export type { ManagedFieldsEntry } from './managed-fields.ts';

/** An object of any kind, as decoded JSON. */
export type KubeObject = Record<string, any>;

export interface PatchOptions {
  /** Strategic merge is only for built-in kinds; custom resources get 415 (as a real API server). */
  strategicMergeAllowed: boolean;
  /** apiVersion + kind of the target, to look up strategic merge keys. */
  gvk: { group: string; version: string; kind: string };
  /** Required for apply (422 Invalid PatchOptions when missing, as the real server). */
  fieldManager?: string;
  /** Apply: take the conflicting fields. Given for another patch type: 422, as the real server. */
  force?: boolean;
  /** RFC 3339 time for managedFields entries. */
  now?: () => string;
}

/**
 * Applies a patch to `current` and returns the new object (a copy: inputs are never changed). `current`
 * may be undefined only for apply, which then creates. `body` is the raw request body.
 * Name, namespace, uid and resourceVersion in the patch are kept in the result: the caller checks them.
 * Non-apply patches do not touch managedFields: record the writer with {@link recordUpdateManager}.
 */
export function applyPatch(current: KubeObject | undefined, type: PatchType, body: string, options: PatchOptions): KubeObject {
  if (type === STRATEGIC_MERGE_PATCH && !options.strategicMergeAllowed) throw unsupportedMediaType(CUSTOM_RESOURCE_PATCH_TYPES);
  validatePatchOptions(type, options);
  if (type === APPLY_PATCH) {
    return serverSideApply(current, body, {
      gvk: options.gvk,
      builtIn: options.strategicMergeAllowed,
      fieldManager: options.fieldManager!,
      ...(options.force ? { force: true } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
  }
  if (!current) throw new TypeError(`applyPatch: a ${type} patch needs the current object; only apply creates`);
  switch (type) {
    case JSON_PATCH:
      return applyJsonPatch(current, body);
    case MERGE_PATCH:
      return applyMergePatch(current, body);
    case STRATEGIC_MERGE_PATCH:
      return applyStrategicMergePatch(current, body, rulesFor(options.gvk, true));
  }
}
