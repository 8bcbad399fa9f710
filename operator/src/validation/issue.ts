/** One problem found in a manifest: where (a Kubernetes-style field path) and why. */
export interface ValidationIssue {
  /** e.g. `spec.environments[1].strategy.canary` */
  path: string;
  message: string;
  source: 'schema' | 'rule' | 'semantic';
}

/** `['spec', 'environments', 1, 'name']` → `spec.environments[1].name` */
export function fieldPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

/** `spec.a[0].b` → `['spec', 'a', 0, 'b']`, for mapping issues back to YAML nodes. */
export function parseFieldPath(path: string): (string | number)[] {
  const segments: (string | number)[] = [];
  for (const match of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (match[2] !== undefined) segments.push(Number(match[2]));
    else if (match[1] !== undefined) segments.push(match[1]);
  }
  return segments;
}
