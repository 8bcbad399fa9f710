/**
 * Targets: a Kubernetes target is Ready when its workload can be read (in its own cluster, through its
 * kubeconfig Secret for a remote one); the condition names what is wrong otherwise. An agent target is
 * Online while its agent is connected or was heard from within three heartbeats, Offline after that, and
 * Unknown until the agent first connects; the operator issues the agent's credential when a Target first
 * names it. Installed apps come from the history's target installations.
 */
import { setCondition } from '../api/conditions.ts';
import type { TargetSpec, TargetStatus } from '../api/target.ts';
import type { WorkloadDriver } from '../tasks/task-executor.ts';
import type { CustomResources } from './custom-resources.ts';
import { kubeTime } from '../api/kube-time.ts';

/** Workloads appear and vanish without an event here, so Targets are looked at again now and then. */
const RECHECK_MS = 60_000;

/** What the operator knows about an agent (the agent hub and the history). */
export interface AgentView {
  connected: boolean;
  lastSeenAt?: Date;
  version?: string;
  revoked?: boolean;
  heartbeatSeconds: number;
  installations: { app: string; version?: string; state: 'installed' | 'uninstalled' | 'failed' | 'unknown'; updatedAt?: Date }[];
}

export interface AgentDirectory {
  /** Issues the agent's credential when it has none (a Target names it for the first time). */
  ensureCredential(agentId: string): Promise<unknown>;
  view(agentId: string, target: string): Promise<AgentView | undefined>;
}

export class TargetController {
  constructor(
    private readonly targets: CustomResources,
    private readonly driver: WorkloadDriver,
    private readonly requeueAfter: (key: string, ms: number) => void,
    private readonly now: () => Date = () => new Date(),
    private readonly agents?: AgentDirectory,
  ) {}

  async reconcile(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const target = await this.targets.get(namespace, name);
    if (!target || target.metadata.deletionTimestamp) return;
    const spec = target.spec as TargetSpec;
    const status: TargetStatus = target.status ?? {};
    const generation = target.metadata.generation;
    let ready: { status: 'True' | 'False' | 'Unknown'; reason: string; message: string };
    if (spec.type === 'kubernetes') {
      try {
        const observed = await this.driver.observe({ namespace, name, labels: target.metadata.labels ?? {}, spec });
        ready = { status: 'True', reason: 'WorkloadFound', message: `${observed.kind} ${spec.kubernetes!.namespace}/${spec.kubernetes!.name} runs ${observed.version ?? 'an untagged image'} (${observed.rollout.message})` };
      } catch (error) {
        ready = { status: 'False', reason: 'WorkloadUnavailable', message: error instanceof Error ? error.message : String(error) };
      }
      this.requeueAfter(key, RECHECK_MS);
    } else {
      return this.reconcileAgentTarget(key, target, spec, status);
    }
    const next: TargetStatus = {
      ...status,
      observedGeneration: generation,
      phase: ready.status === 'True' ? 'Online' : 'Offline',
      conditions: setCondition(status.conditions, { type: 'Ready', ...ready, observedGeneration: generation }, this.now()),
    };
    if (JSON.stringify(next) !== JSON.stringify(status)) await this.targets.patchStatus(target, next);
  }

  private async reconcileAgentTarget(key: string, target: { metadata: { generation?: number } } & Parameters<CustomResources['patchStatus']>[0], spec: TargetSpec, status: TargetStatus): Promise<void> {
    const agentId = spec.agent!;
    const generation = target.metadata.generation;
    const now = this.now();
    let phase: NonNullable<TargetStatus['phase']> = 'Unknown';
    let ready: { status: 'True' | 'False' | 'Unknown'; reason: string; message: string } = { status: 'Unknown', reason: 'AgentNotConnected', message: `agent ${agentId} has not connected yet` };
    const next: TargetStatus = { ...status, observedGeneration: generation };
    if (this.agents) {
      await this.agents.ensureCredential(agentId);
      const view = await this.agents.view(agentId, key);
      if (view?.revoked) {
        phase = 'Offline';
        ready = { status: 'False', reason: 'AgentRevoked', message: `the credential of agent ${agentId} is revoked` };
      } else if (view?.lastSeenAt) {
        const fresh = view.connected || now.getTime() - view.lastSeenAt.getTime() <= 3 * view.heartbeatSeconds * 1000;
        phase = fresh ? 'Online' : 'Offline';
        ready = fresh
          ? { status: 'True', reason: 'AgentConnected', message: `agent ${agentId} is connected` }
          : { status: 'False', reason: 'AgentSilent', message: `agent ${agentId} last seen at ${kubeTime(view.lastSeenAt)}` };
        next.lastSeenAt = kubeTime(view.lastSeenAt);
        // Look again when the agent would count as silent.
        if (fresh) this.requeueAfter(key, Math.max(1000, view.lastSeenAt.getTime() + 3 * view.heartbeatSeconds * 1000 - now.getTime() + 500));
      }
      if (view?.version) next.agentVersion = view.version;
      if (view && view.installations.length > 0) {
        next.installations = view.installations.map((i) => ({ app: i.app, state: i.state, ...(i.version ? { version: i.version } : {}), ...(i.updatedAt ? { updatedAt: kubeTime(i.updatedAt) } : {}) }));
      }
    }
    next.phase = phase;
    next.conditions = setCondition(status.conditions, { type: 'Ready', ...ready, observedGeneration: generation }, now);
    if (JSON.stringify(next) !== JSON.stringify(status)) await this.targets.patchStatus(target, next);
  }
}
