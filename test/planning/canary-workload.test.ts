import { describe, expect, it } from 'vitest';
import { CANARY_LABEL, canaryDeployment, canaryName, canaryReplicas } from '../../operator/src/planning/canary-workload.ts';

describe('canaryReplicas', () => {
  it.each([
    [10, 10, 1],
    [10, 25, 3],
    [4, 50, 2],
    [3, 1, 1],
    [0, 50, 1],
    [5, 100, 5],
  ])('%i main replicas at %i %% give %i canary pods', (main, percent, expected) => expect(canaryReplicas(main, percent)).toBe(expected));

  it.each([0, -5, 101, Number.NaN])('refuses %d percent', (percent) => expect(() => canaryReplicas(4, percent)).toThrow(RangeError));
});

describe('canaryDeployment', () => {
  const main = {
    metadata: { name: 'web', namespace: 'shop', uid: 'u1', labels: { app: 'web' } },
    spec: { replicas: 10, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'r/web:1' }] } } },
  };

  it('is named after the main Deployment, selects only canary pods and keeps the app labels', () => {
    const canary = canaryDeployment(main, { web: 'r/web:2' }, 20);
    expect(canary.metadata.name).toBe(canaryName('web'));
    expect(canary.metadata.name).toBe('web-canary');
    expect(canary.spec.replicas).toBe(2);
    expect(canary.spec.selector.matchLabels).toEqual({ app: 'web', [CANARY_LABEL]: 'true' });
    expect(canary.spec.template.metadata.labels).toEqual({ app: 'web', [CANARY_LABEL]: 'true' });
    expect(canary.spec.template.spec.containers).toEqual([{ name: 'web', image: 'r/web:2' }]);
  });

  it('is owned by the main Deployment without being controlled by it, so it goes when main is deleted', () => {
    expect(canaryDeployment(main, {}, 10).metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'u1', controller: false, blockOwnerDeletion: false }]);
  });
});
