import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../support/until.ts';
import { LeaderElector } from '../../operator/src/runtime/leader-election.ts';
import { startEmulator, type RunningEmulator } from '../kube-api/emulator.ts';


describe('LeaderElector', () => {
  let emulator: RunningEmulator;
  let kc: KubeConfig;
  beforeAll(async () => {
    emulator = await startEmulator();
    kc = new KubeConfig();
    kc.loadFromString(emulator.kubeconfig);
  });
  afterAll(async () => emulator.stop());

  const candidate = (identity: string, name: string, log: string[]) =>
    new LeaderElector({
      kubeConfig: kc, namespace: 'default', name, identity,
      leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 100,
      onStartedLeading: () => log.push(`${identity} leads`),
      onStoppedLeading: () => log.push(`${identity} stops`),
    });

  it('lets exactly one of several candidates lead at any time', async () => {
    const log: string[] = [];
    const electors = ['a', 'b', 'c'].map((id) => candidate(id, 'race', log));
    let overlap = false;
    const probe = setInterval(() => {
      if (electors.filter((e) => e.isLeader).length > 1) overlap = true;
    }, 5);
    for (const e of electors) e.start();
    await until(() => electors.some((e) => e.isLeader));
    await new Promise((r) => setTimeout(r, 600));
    clearInterval(probe);
    expect(overlap).toBe(false);
    expect(electors.filter((e) => e.isLeader)).toHaveLength(1);
    expect(log).toHaveLength(1);
    await Promise.all(electors.map((e) => e.stop()));
  });

  it('hands over when the leader stops, releasing the lease', async () => {
    const log: string[] = [];
    const first = candidate('first', 'handover', log);
    first.start();
    await until(() => first.isLeader);
    const second = candidate('second', 'handover', log);
    second.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(second.isLeader).toBe(false);
    const started = Date.now();
    await first.stop();
    await until(() => second.isLeader, 3000);
    // Released, not expired: the successor need not wait the whole lease duration.
    expect(Date.now() - started).toBeLessThan(1500);
    expect(log).toEqual(['first leads', 'first stops', 'second leads']);
    const lease = emulator.api.get(emulator.api.mustType('coordination.k8s.io', 'leases'), 'default', 'handover');
    expect(lease.spec.holderIdentity).toBe('second');
    expect(lease.spec.leaseTransitions).toBeGreaterThanOrEqual(0);
    await second.stop();
  });

  it('takes over a lease whose holder vanished once it expires', async () => {
    const leases = emulator.api.mustType('coordination.k8s.io', 'leases');
    emulator.api.create(leases, 'default', {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'stale' },
      spec: { holderIdentity: 'ghost', leaseDurationSeconds: 1, renewTime: new Date().toISOString(), leaseTransitions: 3 },
    });
    const log: string[] = [];
    const heir = candidate('heir', 'stale', log);
    heir.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(heir.isLeader).toBe(false);
    await until(() => heir.isLeader, 3000);
    expect(emulator.api.get(leases, 'default', 'stale').spec).toMatchObject({ holderIdentity: 'heir', leaseTransitions: 4 });
    await heir.stop();
  });
});
