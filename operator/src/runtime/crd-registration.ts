/**
 * CRD registration at start-up (`shipway operator --install-crds`) through @dot-i/k8s-operator's
 * `registerCustomResourceDefinition`, which creates a CRD from its YAML file and leaves an existing one
 * alone — as Helm does with a chart's crds/ directory, so an operator never downgrades a CRD someone
 * upgraded. The library is used only here, off the hot path: it brings its own @kubernetes/client-node
 * 0.20 (this project uses 1.x), so it gets the operator's kubeconfig as text, and its watches (which end
 * the process on an error) and its single event queue are not used at all — see runtime/informer.ts and
 * runtime/work-queue.ts for what replaces them. Waiting for `Established` uses the project's client.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ApiextensionsV1Api, type KubeConfig } from '@kubernetes/client-node';
import dotI from '@dot-i/k8s-operator';

// The package is CommonJS with `exports.default`: Node's ESM loader gives the module object as the default
// import, bundlers' interop (vitest) the class itself.
const Operator: typeof dotI.default = (dotI as { default?: typeof dotI.default }).default ?? (dotI as unknown as typeof dotI.default);

class Registrar extends Operator {
  constructor(kubeConfigText: string, log: (message: string) => void) {
    super({ debug: () => {}, info: log, warn: log, error: log });
    // The library loaded the default kubeconfig into its own client; it must talk to the operator's cluster.
    this.kubeConfig.loadFromString(kubeConfigText);
  }

  protected async init(): Promise<void> {}

  async registerAll(files: string[]): Promise<string[]> {
    const names: string[] = [];
    for (const file of files) {
      const { group, plural } = await this.registerCustomResourceDefinition(file);
      names.push(`${plural}.${group}`);
    }
    return names;
  }
}

export async function registerCrds(kubeConfig: KubeConfig, directory: string, log: (message: string) => void, timeoutMs = 60_000): Promise<string[]> {
  const files = readdirSync(directory).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(directory, f));
  const names = await new Registrar(kubeConfig.exportConfig(), log).registerAll(files);
  const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const crd = await api.readCustomResourceDefinition({ name });
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return names;
}
