/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: the holder
 * renews the lease every `retryPeriod`; others take it over only after `leaseDuration` without renewal;
 * every write carries the resourceVersion read, so two candidates can never both win (the loser gets 409).
 * A leader that cannot renew within `renewDeadline` stops leading before anyone else may start.
 */
import { ApiException, CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';

export interface LeaderElectionOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  onError?: (error: unknown) => void;
  now?: () => Date;
}

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private timer?: NodeJS.Timeout;
  private leading = false;
  private lastRenew = 0;
  private stopped = false;
  private inflight: Promise<void> = Promise.resolve();
  private readonly o: Required<Omit<LeaderElectionOptions, 'onError'>> & Pick<LeaderElectionOptions, 'onError'>;

  constructor(options: LeaderElectionOptions) {
    this.o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, now: () => new Date(), ...options };
    if (this.o.renewDeadlineMs >= this.o.leaseDurationMs) throw new Error('renewDeadline must be shorter than leaseDuration');
    this.api = options.kubeConfig.makeApiClient(CoordinationV1Api);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    void this.tick();
  }

  /** Stops campaigning; a leader releases the lease so a successor need not wait for it to expire. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.inflight;
    // A renewal in flight at stop may have won the lease without leading: it is released all the same.
    this.setLeading(false);
    try {
      const lease = await this.read();
      if (lease?.spec?.holderIdentity === this.o.identity) {
        lease.spec = { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: this.o.now() as never };
        await this.api.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body: lease });
      }
    } catch (error) {
      this.o.onError?.(error);
    }
  }

  private tick(): Promise<void> {
    this.inflight = this.attempt();
    return this.inflight;
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    try {
      const acquired = await this.tryAcquireOrRenew();
      // Stopped meanwhile: a lease won now must not make a stopped elector lead.
      if (this.stopped) return;
      if (acquired) {
        this.lastRenew = Date.now();
        this.setLeading(true);
      } else if (this.leading && Date.now() - this.lastRenew > this.o.renewDeadlineMs) {
        this.setLeading(false);
      }
    } catch (error) {
      this.o.onError?.(error);
      if (this.leading && Date.now() - this.lastRenew > this.o.renewDeadlineMs) this.setLeading(false);
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.o.retryPeriodMs);
  }

  private setLeading(value: boolean): void {
    if (value === this.leading) return;
    this.leading = value;
    if (value) this.o.onStartedLeading();
    else this.o.onStoppedLeading();
  }

  private async read(): Promise<V1Lease | undefined> {
    try {
      return await this.api.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace });
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw error;
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.o.now();
    const lease = await this.read();
    const durationSeconds = Math.ceil(this.o.leaseDurationMs / 1000);
    if (!lease) {
      try {
        await this.api.createNamespacedLease({
          namespace: this.o.namespace,
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.o.name, namespace: this.o.namespace }, spec: { holderIdentity: this.o.identity, leaseDurationSeconds: durationSeconds, acquireTime: now as never, renewTime: now as never, leaseTransitions: 0 } },
        });
        return true;
      } catch (error) {
        if (error instanceof ApiException && error.code === 409) return false;
        throw error;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity;
    const renewed = spec.renewTime ? new Date(spec.renewTime as unknown as string).getTime() : 0;
    const expired = renewed + (spec.leaseDurationSeconds ?? durationSeconds) * 1000 < now.getTime();
    if (holder && holder !== this.o.identity && !expired) return false;
    const takeover = holder !== this.o.identity;
    lease.spec = {
      ...spec,
      holderIdentity: this.o.identity,
      leaseDurationSeconds: durationSeconds,
      renewTime: now as never,
      ...(takeover ? { acquireTime: now as never, leaseTransitions: (spec.leaseTransitions ?? 0) + (holder ? 1 : 0) } : {}),
    };
    try {
      await this.api.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body: lease });
      return true;
    } catch (error) {
      // Someone else wrote the lease since we read it: they won this round.
      if (error instanceof ApiException && error.code === 409) return false;
      throw error;
    }
  }
}
