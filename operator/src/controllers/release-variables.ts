/**
 * The variables of one Release pass, by layer (system < project < environment < release < runtime): the
 * project layer is the ConfigMap and Secret named `shipway-project-<project>` in the release's namespace
 * (a Secret's keys are secret variables), the environment and release layers come from the spec, system
 * and runtime values from the engine. Read lazily — only a pass that starts work or sends a notification
 * pays for the Kubernetes reads — and once per pass. Secret values found are registered for masking under
 * the release's uid, so logs, events, status and history hide them.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import type { ReleaseSpec } from '../api/release.ts';
import type { Variable } from '../api/variables.ts';
import { isNotFound, apiErrorMessage } from '../kubernetes/api-errors.ts';
import { fetchValueRefs, type ExternalValueProviders } from '../kubernetes/variable-sources.ts';
import { plainVariables, refKey, resolveVariables, valueRefs, type VariableLayerInput } from '../planning/variable-resolver.ts';
import type { SecretRegistry } from '../runtime/secret-registry.ts';

export const projectVariablesName = (project: string) => `shipway-project-${project}`;

export interface VariableSourcesOptions {
  core: CoreV1Api;
  secrets: SecretRegistry;
  providers?: ExternalValueProviders;
}

export interface ResolvedVariables {
  values: Record<string, string>;
  problems: string[];
}

type Fetched = Map<string, { value: string } | { error: string }>;

export class ReleaseVariables {
  private project?: Promise<{ layer: VariableLayerInput; fetched: Fetched; problems: string[] }>;
  private readonly fetched: Fetched = new Map();

  constructor(
    private readonly namespace: string,
    private readonly uid: string,
    private readonly spec: ReleaseSpec,
    private readonly o: VariableSourcesOptions,
  ) {}

  /** Variables for one environment; `builtIn` are the engine's system and runtime values. */
  async resolve(environment: string, builtIn: { system: Record<string, string>; runtime: Record<string, string> }): Promise<ResolvedVariables> {
    const project = await this.projectLayer();
    const envVariables: Variable[] = this.spec.environments.find((e) => e.name === environment)?.variables ?? [];
    const layers: VariableLayerInput[] = [
      { layer: 'system', variables: plainVariables(builtIn.system) },
      project.layer,
      { layer: 'environment', variables: envVariables },
      { layer: 'release', variables: this.spec.variables ?? [] },
      { layer: 'runtime', variables: plainVariables(builtIn.runtime) },
    ];
    const missing = valueRefs(layers, environment).filter((ref) => !this.fetched.has(refKey(ref)) && !project.fetched.has(refKey(ref)));
    if (missing.length > 0) {
      for (const [key, value] of await fetchValueRefs(missing, { namespace: this.namespace, core: this.o.core, ...(this.o.providers ? { providers: this.o.providers } : {}) })) {
        this.fetched.set(key, value);
      }
    }
    const result = resolveVariables({ layers, environment, fetched: new Map([...project.fetched, ...this.fetched]) });
    if (result.secretValues.length > 0) this.o.secrets.add(this.uid, result.secretValues);
    return { values: result.values, problems: [...project.problems, ...result.problems] };
  }

  private projectLayer() {
    this.project ??= this.readProject();
    return this.project;
  }

  /** The project's ConfigMap (plain) and Secret (secret) of the same name; either may be absent. */
  private async readProject() {
    const name = projectVariablesName(this.spec.project);
    const problems: string[] = [];
    const variables: Variable[] = [];
    const fetched: Fetched = new Map();
    try {
      const map = await this.o.core.readNamespacedConfigMap({ name, namespace: this.namespace });
      variables.push(...plainVariables(map.data ?? {}));
    } catch (error) {
      if (!isNotFound(error)) problems.push(`project variables: ConfigMap ${this.namespace}/${name}: ${apiErrorMessage(error)}`);
    }
    try {
      const secret = await this.o.core.readNamespacedSecret({ name, namespace: this.namespace });
      for (const [key, data] of Object.entries(secret.data ?? {})) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) continue; // not a variable name (e.g. tls.crt)
        const variable: Variable = { name: key, type: 'secret', secretKeyRef: { name, key } };
        variables.push(variable);
        fetched.set(refKey({ kind: 'secret', name, key }), { value: Buffer.from(data, 'base64').toString('utf8') });
      }
    } catch (error) {
      if (!isNotFound(error)) problems.push(`project variables: Secret ${this.namespace}/${name}: ${apiErrorMessage(error)}`);
    }
    return { layer: { layer: 'project' as const, variables }, fetched, problems };
  }
}
