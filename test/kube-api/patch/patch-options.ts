/**
 * The API server's `ValidatePatchOptions`: apply needs a `fieldManager`, only apply may `force`, a manager
 * name is at most 128 bytes. Failures are 422 Invalid on the `PatchOptions` kind, e.g.
 * `PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch`.
 */
import { PatchError, type PatchErrorCause } from './errors.ts';
import { APPLY_PATCH, type PatchType } from './patch-type.ts';

export const FIELD_MANAGER_MAX_LENGTH = 128;

export function validatePatchOptions(type: PatchType, options: { fieldManager?: string; force?: boolean }): void {
  const causes: PatchErrorCause[] = [];
  if (type !== APPLY_PATCH && options.force !== undefined) {
    causes.push({ field: 'force', reason: 'FieldValueForbidden', message: 'Forbidden: may not be specified for non-apply patch' });
  }
  if (type === APPLY_PATCH && !options.fieldManager) {
    causes.push({ field: 'fieldManager', reason: 'FieldValueRequired', message: 'Required value: is required for apply patch' });
  }
  if (Buffer.byteLength(options.fieldManager ?? '') > FIELD_MANAGER_MAX_LENGTH) {
    causes.push({ field: 'fieldManager', reason: 'FieldValueTooLong', message: `Too long: may not be more than ${FIELD_MANAGER_MAX_LENGTH} bytes` });
  }
  if (causes.length === 0) return;
  const list = causes.map((c) => `${c.field}: ${c.message}`);
  const summary = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  throw new PatchError(422, 'Invalid', `PatchOptions.meta.k8s.io "" is invalid: ${summary}`, causes, { group: 'meta.k8s.io', kind: 'PatchOptions' });
}
