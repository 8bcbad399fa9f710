/** Kubernetes `Status` errors: the codes and reasons real clients branch on. */

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  toStatus(): Record<string, unknown> {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** `deployments.apps`, `configmaps` — how the API server names a resource in messages. */
export interface ResourceName {
  group: string;
  plural: string;
  kind: string;
}
const qualified = (r: ResourceName) => (r.group ? `${r.plural}.${r.group}` : r.plural);

export const notFound = (r: ResourceName, name: string) =>
  new ApiError(404, 'NotFound', `${qualified(r)} "${name}" not found`, { name, group: r.group, kind: r.plural });

export const alreadyExists = (r: ResourceName, name: string) =>
  new ApiError(409, 'AlreadyExists', `${qualified(r)} "${name}" already exists`, { name, group: r.group, kind: r.plural });

export const conflict = (r: ResourceName, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again') =>
  new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${why}`, { name, group: r.group, kind: r.plural });

export const invalid = (r: ResourceName, name: string, causes: StatusCause[]) =>
  new ApiError(
    422,
    'Invalid',
    `${r.kind}${r.group ? `.${r.group}` : ''} "${name}" is invalid: ${causes.length === 1 ? `${causes[0]!.field}: ${causes[0]!.message}` : `[${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}]`}`,
    { name, group: r.group, kind: r.kind, causes },
  );

export const badRequest = (message: string) => new ApiError(400, 'BadRequest', message);
export const methodNotAllowed = (message: string) => new ApiError(405, 'MethodNotAllowed', message);
export const unsupportedMediaType = (message: string) => new ApiError(415, 'UnsupportedMediaType', message);
export const forbidden = (message: string, details?: StatusDetails) => new ApiError(403, 'Forbidden', message, details);
export const expired = (message: string) => new ApiError(410, 'Expired', message);
export const pathNotFound = () => new ApiError(404, 'NotFound', 'the server could not find the requested resource');
