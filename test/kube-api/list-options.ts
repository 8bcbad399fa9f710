/** Label and field selectors, paging and matching, shared by list and watch. */
import { badRequest } from './errors.ts';
import type { ResourceType } from './resource-types.ts';
import { builtinFieldSelectors, fieldValueByPath, parseFieldSelector, parseLabelSelector, SelectorError } from '../../operator/src/planning/selectors.ts';
import type { KubeObject } from './store.ts';

export type Matcher = (object: KubeObject) => boolean;

export function matcher(type: ResourceType, namespace: string | undefined, labelSelector: string | null, fieldSelector: string | null): Matcher {
  try {
    const labels = labelSelector ? parseLabelSelector(labelSelector) : () => true;
    let fields: Matcher = () => true;
    if (fieldSelector) {
      // Core kinds use the server's built-in tables; CRDs and events.k8s.io Events list their fields on the type.
      const builtin = type.crd || type.group === 'events.k8s.io' ? undefined : builtinFieldSelectors(type.kind);
      fields = builtin
        ? parseFieldSelector(fieldSelector, builtin.supported, { resolve: builtin.resolve })
        : parseFieldSelector(fieldSelector, (f) => type.fieldSelectors.includes(f), { resolve: fieldValueByPath });
    }
    return (o) => (namespace === undefined || o.metadata.namespace === namespace) && labels(o.metadata.labels) && fields(o);
  } catch (error) {
    if (error instanceof SelectorError) throw badRequest(error.message);
    throw error;
  }
}

/** An opaque continue token: where the next page starts. */
export function encodeContinue(lastKey: string, rv: number): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start: lastKey })).toString('base64url');
}

export function decodeContinue(token: string): { start: string; rv: number } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (typeof parsed.start !== 'string') throw new Error('no start');
    return { start: parsed.start, rv: Number(parsed.rv) };
  } catch {
    throw badRequest('invalid continue token');
  }
}

export const objectKey = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
