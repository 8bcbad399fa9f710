/**
 * The operator's Prometheus metrics (prom-client): process and Node.js defaults, plus what an operator of
 * Shipway watches — Releases by phase, connected agents, whether this replica leads, reconcile errors and
 * build notifications. Gauges are read at scrape time from the informers' caches, so they cost nothing between
 * scrapes and are never stale.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

export interface OperatorMetricsSources {
  /** The phase of every Release this replica watches. */
  releasePhases(): (string | undefined)[];
  connectedAgents(): number;
  leading(): boolean;
}

export interface OperatorMetrics {
  readonly registry: Registry;
  reconcileError(kind: string): void;
  buildNotification(result: string): void;
}

export function createOperatorMetrics(sources: OperatorMetricsSources): OperatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'shipway_operator_' });
  new Gauge({
    name: 'shipway_releases',
    help: 'Releases watched by this replica, by phase',
    labelNames: ['phase'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const phase of sources.releasePhases()) counts.set(phase ?? 'Pending', (counts.get(phase ?? 'Pending') ?? 0) + 1);
      for (const [phase, n] of counts) this.set({ phase }, n);
    },
  });
  new Gauge({
    name: 'shipway_agents_connected',
    help: 'Agents connected to this replica (only the leader serves agents)',
    registers: [registry],
    collect() {
      this.set(sources.connectedAgents());
    },
  });
  new Gauge({
    name: 'shipway_leader',
    help: '1 while this replica holds the leader lease',
    registers: [registry],
    collect() {
      this.set(sources.leading() ? 1 : 0);
    },
  });
  const reconcileErrors = new Counter({ name: 'shipway_reconcile_errors_total', help: 'Reconciles that ended in an error, by kind', labelNames: ['kind'], registers: [registry] });
  const notifications = new Counter({ name: 'shipway_build_notifications_total', help: 'Calls of the build webhook, by result', labelNames: ['result'], registers: [registry] });
  return {
    registry,
    reconcileError: (kind) => reconcileErrors.inc({ kind }),
    buildNotification: (result) => notifications.inc({ result }),
  };
}
