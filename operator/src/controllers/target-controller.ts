/**
 * Targets: a Kubernetes target is Ready when its workload can be read (in its own cluster, through its
 * kubeconfig Secret for a remote one); the condition names what is wrong otherwise. Agent targets get
 * their phase from agent heartbeats, which arrive with the agents; until then they are Unknown.
 */
import { setCondition } from '../api/conditions.ts';
import type { TargetSpec, TargetStatus } from '../api/target.ts';
import type { WorkloadDriver } from '../tasks/task-executor.ts';
import type { CustomResources } from './custom-resources.ts';

/** Workloads appear and vanish without an event here, so Targets are looked at again now and then. */
const RECHECK_MS = 60_000;

export class TargetController {
  constructor(
    private readonly targets: CustomResources,
    private readonly driver: WorkloadDriver,
    private readonly requeueAfter: (key: string, ms: number) => void,
    private readonly now: () => Date = () => new Date(),
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
      ready = { status: 'Unknown', reason: 'AgentNotConnected', message: `agent ${spec.agent} has not connected` };
    }
    const next: TargetStatus = {
      ...status,
      observedGeneration: generation,
      phase: spec.type === 'kubernetes' ? (ready.status === 'True' ? 'Online' : 'Offline') : (status.phase ?? 'Unknown'),
      conditions: setCondition(status.conditions, { type: 'Ready', ...ready, observedGeneration: generation }, this.now()),
    };
    if (JSON.stringify(next) !== JSON.stringify(status)) await this.targets.patchStatus(target, next);
  }
}
