import { describe, expect, it } from 'vitest';
import { applyPatch, validatePatchOptions } from '../../kube-api/patch/index.ts';
import { deployment, deploymentOptions, patchError } from './fixtures.ts';

describe('patch options', () => {
  it.each([
    {
      name: 'apply without a fieldManager',
      run: () => validatePatchOptions('application/apply-patch+yaml', {}),
      message: 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      causes: [{ field: 'fieldManager', reason: 'FieldValueRequired', message: 'Required value: is required for apply patch' }],
    },
    {
      name: 'force on a merge patch',
      run: () => applyPatch(deployment(), 'application/merge-patch+json', '{}', deploymentOptions({ force: true })),
      message: 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
      causes: [{ field: 'force', reason: 'FieldValueForbidden', message: 'Forbidden: may not be specified for non-apply patch' }],
    },
    {
      name: 'a fieldManager longer than 128 bytes',
      run: () => validatePatchOptions('application/json-patch+json', { fieldManager: 'm'.repeat(129) }),
      message: 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes',
      causes: [{ field: 'fieldManager', reason: 'FieldValueTooLong', message: 'Too long: may not be more than 128 bytes' }],
    },
  ])('refuses $name with 422 Invalid, as the real server', ({ run, message, causes }) => {
    expect(patchError(run)).toMatchObject({ code: 422, reason: 'Invalid', message, causes, details: { group: 'meta.k8s.io', kind: 'PatchOptions' } });
  });

  it('lists several problems at once', () => {
    expect(patchError(() => validatePatchOptions('application/merge-patch+json', { force: false, fieldManager: 'm'.repeat(129) })).message).toBe(
      'PatchOptions.meta.k8s.io "" is invalid: [force: Forbidden: may not be specified for non-apply patch, fieldManager: Too long: may not be more than 128 bytes]',
    );
  });

  it('accepts what real clients send', () => {
    expect(() => validatePatchOptions('application/apply-patch+yaml', { fieldManager: 'kubectl', force: true })).not.toThrow();
    expect(() => validatePatchOptions('application/strategic-merge-patch+json', { fieldManager: 'kubectl-edit' })).not.toThrow();
  });

  it('needs the current object for every patch type but apply', () => {
    expect(() => applyPatch(undefined, 'application/merge-patch+json', '{}', deploymentOptions())).toThrow(TypeError);
  });
});
