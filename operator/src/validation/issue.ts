/** One problem found in a manifest: where (a Kubernetes-style field path) and why. */
export interface ValidationIssue {
  /** e.g. `spec.environments[1].strategy.canary` */
  path: string;
  message: string;
  source: 'schema' | 'rule' | 'semantic';
}

const PLAIN_KEY = /^[A-Za-z0-9_$-]+$/;

/**
 * `['spec', 'environments', 1, 'name']` → `spec.environments[1].name`; map keys that are not plain names are
 * bracketed as the API server does: `spec.docker.labels[app.kubernetes.io/name]`.
 */
export function fieldPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number' || !PLAIN_KEY.test(segment)) out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

/** `spec.a[0].b` → `['spec', 'a', 0, 'b']`, for mapping issues back to YAML nodes. */
export function parseFieldPath(path: string): (string | number)[] {
  const segments: (string | number)[] = [];
  for (const match of path.matchAll(/([^.[\]]+)|\[([^\]]+)\]/g)) {
    const bracketed = match[2];
    if (bracketed !== undefined) segments.push(/^\d+$/.test(bracketed) ? Number(bracketed) : bracketed);
    else if (match[1] !== undefined) segments.push(match[1]);
  }
  return segments;
}
