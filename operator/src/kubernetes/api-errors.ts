/**
 * Kubernetes API failures as the driver reports them. client-node's ApiException message carries the whole
 * response (body and headers); conditions and history rows need one line: the Status `message`.
 */
import { ApiException } from '@kubernetes/client-node';
import { WorkloadError } from '../planning/workload-rollout.ts';

const codeOf = (error: unknown): number | undefined => (error instanceof ApiException || error instanceof KubernetesApiError ? error.code : undefined);

export const isNotFound = (error: unknown): boolean => codeOf(error) === 404;
export const isConflict = (error: unknown): boolean => codeOf(error) === 409;

/** The Status message of an API error (or the error's own message), without headers or bodies. */
export function apiErrorMessage(error: unknown): string {
  if (error instanceof ApiException) {
    const body: unknown = typeof error.body === 'string' ? safeParse(error.body) : error.body;
    const message = body && typeof body === 'object' && 'message' in body ? String((body as { message: unknown }).message) : undefined;
    return message ? `${message} (HTTP ${error.code})` : `HTTP ${error.code}`;
  }
  return error instanceof Error ? error.message : String(error);
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The workload a Target names does not exist (or no longer does). */
export class WorkloadNotFoundError extends WorkloadError {
  override name = 'WorkloadNotFoundError';
  constructor(
    readonly kind: string,
    readonly namespace: string,
    readonly workload: string,
  ) {
    super(`${kind} ${namespace}/${workload} not found`);
  }
}

/** A request failed for another reason than the ones the driver handles; the message is one line. */
export class KubernetesApiError extends Error {
  override name = 'KubernetesApiError';
  constructor(
    readonly action: string,
    readonly code: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${action}: ${message}`, options);
  }
}

/** Runs one API call, turning its failure into a {@link KubernetesApiError} that names what was attempted. */
export async function describeFailure<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof WorkloadError || error instanceof KubernetesApiError) throw error;
    throw new KubernetesApiError(action, error instanceof ApiException ? error.code : undefined, apiErrorMessage(error), { cause: error });
  }
}
