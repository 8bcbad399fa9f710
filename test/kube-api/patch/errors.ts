/**
 * Errors of the patch engine, shaped like the API server's `Status` failures (code, reason, message, causes)
 * so the server core can turn them into `Status` objects unchanged.
 */

export type PatchErrorCode = 400 | 409 | 415 | 422;
export type PatchErrorReason = 'BadRequest' | 'Conflict' | 'UnsupportedMediaType' | 'Invalid';

export interface PatchErrorCause {
  field: string;
  message: string;
  /** The `StatusCause.reason` (Go's `Type`), e.g. `FieldManagerConflict`, `FieldValueRequired`. */
  reason?: string;
}

/** `Status.details` besides causes, for errors where the real server fills them (e.g. invalid PatchOptions). */
export interface PatchErrorDetails {
  group?: string;
  kind?: string;
  name?: string;
}

export class PatchError extends Error {
  constructor(
    public code: PatchErrorCode,
    public reason: PatchErrorReason,
    message: string,
    public causes?: PatchErrorCause[],
    public details?: PatchErrorDetails,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'PatchError';
  }
}

export const badRequest = (message: string, options?: ErrorOptions) =>
  new PatchError(400, 'BadRequest', message, undefined, undefined, options);

/**
 * What `NewGenericServerResponse(422, ...)` produces: the real server discards the underlying message
 * (a failed JSON patch `test`, a missing path, lists of lists...). We keep it as the error's `cause`.
 */
export const rejectedRequest = (detail: string) =>
  new PatchError(422, 'Invalid', 'the server rejected our request due to an error in our request', undefined, undefined, {
    cause: new Error(detail),
  });

/** `errors.NewInvalid(schema.GroupKind{}, "", field.Invalid(field.NewPath("patch"), patched, why))`. */
export const invalidPatchResult = (patched: string, why: string) =>
  new PatchError(422, 'Invalid', ` "" is invalid: patch: Invalid value: ${JSON.stringify(patched)}: ${why}`, [
    { field: 'patch', message: `Invalid value: ${JSON.stringify(patched)}: ${why}`, reason: 'FieldValueInvalid' },
  ]);

export const unsupportedMediaType = (accepted: readonly string[]) =>
  new PatchError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`);
