/**
 * The chart under test and the real helm binary (scripts/install-helm.sh, through the conformance suite's
 * helper): render it with a set of values and read the objects back as JSON.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { helmBinary, ROOT, run, type Obj, type RunResult } from '../conformance/cluster.ts';

export { ROOT, type Obj };
export const CHART = join(ROOT, 'charts/shipway');
export const RELEASE = 'sw';
export const NAMESPACE = 'shipway-system';

// helm keeps a cache and repository config under HOME; a scratch one keeps the developer's out of the tests.
const scratch = mkdtempSync(join(tmpdir(), 'helm-chart-'));
const env: NodeJS.ProcessEnv = {
  ...process.env,
  HOME: scratch,
  HELM_CACHE_HOME: join(scratch, 'cache'),
  HELM_CONFIG_HOME: join(scratch, 'config'),
  HELM_DATA_HOME: join(scratch, 'data'),
  NO_COLOR: '1',
};
process.once('exit', () => rmSync(scratch, { recursive: true, force: true }));

export async function helm(args: string[]): Promise<RunResult> {
  return run(await helmBinary(), args, env, { timeoutMs: 60_000 });
}

let valueFiles = 0;
/** Values go through a file (-f), as a user's would: --set would turn numbers in strings into numbers. */
export function valuesFile(values: Obj): string {
  const file = join(scratch, `values-${++valueFiles}.json`);
  writeFileSync(file, JSON.stringify(values));
  return file;
}

/** `helm template` of the chart with these values; the result, whatever the exit code. */
export function template(values: Obj = {}, extra: string[] = []): Promise<RunResult> {
  return helm(['template', RELEASE, CHART, '--namespace', NAMESPACE, '-f', valuesFile(values), ...extra]);
}

export interface Rendered {
  objects: Obj[];
  /** The one object of this kind (and name, when given); fails when there is none or several. */
  one(kind: string, name?: string): Obj;
  all(kind: string): Obj[];
}

/** Renders and parses; throws with helm's message when the chart refuses the values. */
export async function render(values: Obj = {}, extra: string[] = []): Promise<Rendered> {
  const result = await template(values, extra);
  if (result.code !== 0) throw new Error(`helm template exited ${result.code}:\n${result.stderr}`);
  const objects = parseAllDocuments(result.stdout)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
  const all = (kind: string) => objects.filter((o) => o.kind === kind);
  return {
    objects,
    all,
    one(kind, name) {
      const found = all(kind).filter((o) => name === undefined || o.metadata.name === name);
      if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}: ${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(', ')}`);
      return found[0]!;
    },
  };
}

/** The operator container of the rendered Deployment. */
export function operatorContainer(rendered: Rendered): Obj {
  return rendered.one('Deployment').spec.template.spec.containers.find((c: Obj) => c.name === 'operator');
}

/** The container's args as flag -> value ('' for a flag without one). */
export function flags(container: Obj): Map<string, string> {
  const args = container.args as string[];
  const map = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) continue;
    const next = args[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      map.set(arg, next);
      i++;
    } else {
      map.set(arg, '');
    }
  }
  return map;
}

export function envVar(container: Obj, name: string): Obj | undefined {
  return (container.env as Obj[] | undefined)?.find((e) => e.name === name);
}
