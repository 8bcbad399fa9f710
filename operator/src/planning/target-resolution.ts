/**
 * Which Targets an environment of a Release covers, pure: by name or by label selector, always limited to
 * Targets that declare that environment. Problems come back as one message naming the environment and why.
 */
import type { TargetSelection } from '../api/common.ts';
import type { Environment } from '../api/release.ts';
import type { TargetSpec } from '../api/target.ts';
import { labelSelectorFromObject } from './selectors.ts';

export interface TargetObject {
  name: string;
  labels: Record<string, string>;
  spec: TargetSpec;
}

/** Whether a ReleaseApp's target selection picks a target: by name, by labels, or every target when absent. */
export function selectsTarget(selection: TargetSelection | undefined, target: Pick<TargetObject, 'name' | 'labels'>): boolean {
  if (!selection) return true;
  if (selection.names) return selection.names.includes(target.name);
  return labelSelectorFromObject(selection.selector)(target.labels);
}

export interface ResolvedEnvironment {
  name: string;
  targets: TargetObject[];
  error?: string;
}

/** Target types the operator drives itself; the others need an agent. */
const IN_CLUSTER = new Set(['kubernetes']);

export function resolveEnvironment(env: Environment, targets: readonly TargetObject[], options: { agentsServed?: boolean } = {}): ResolvedEnvironment {
  const inEnv = targets.filter((t) => t.spec.environment === env.name);
  let chosen: TargetObject[];
  if (env.targets?.names) {
    const byName = new Map(targets.map((t) => [t.name, t]));
    const missing = env.targets.names.filter((n) => !byName.has(n));
    if (missing.length > 0) return { name: env.name, targets: [], error: `environment ${env.name}: target${missing.length > 1 ? 's' : ''} not found: ${missing.join(', ')}` };
    const elsewhere = env.targets.names.filter((n) => byName.get(n)!.spec.environment !== env.name);
    if (elsewhere.length > 0) {
      return { name: env.name, targets: [], error: `environment ${env.name}: ${elsewhere.map((n) => `${n} belongs to environment ${byName.get(n)!.spec.environment}`).join(', ')}` };
    }
    chosen = env.targets.names.map((n) => byName.get(n)!);
  } else if (env.targets?.selector) {
    const matches = labelSelectorFromObject(env.targets.selector);
    chosen = inEnv.filter((t) => matches(t.labels));
  } else {
    chosen = inEnv;
  }
  if (chosen.length === 0) return { name: env.name, targets: [], error: `environment ${env.name}: no targets matched` };
  const unsupported = options.agentsServed ? [] : chosen.filter((t) => !IN_CLUSTER.has(t.spec.type));
  if (unsupported.length > 0) {
    return { name: env.name, targets: [], error: `environment ${env.name}: ${unsupported.map((t) => `${t.name} is a ${t.spec.type} target`).join(', ')}; this operator serves no agents (start it with --agent-port)` };
  }
  return { name: env.name, targets: [...chosen].sort((a, b) => a.name.localeCompare(b.name)) };
}
