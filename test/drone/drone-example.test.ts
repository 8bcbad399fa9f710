/**
 * examples/drone: the notify step of `.drone.yml` is run with its exact commands (as Drone runs them: one
 * shell script, stopping at the first failure) against the API emulator with the operator, and the
 * ReleaseApp of the active Release picks up the tag while the one of a finished Release does not. The README's
 * webhook snippet runs too, against the operator's HTTP endpoint.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { useEngine, workloads } from '../engine/engine-fixture.ts';
import { eventually } from '../support/until.ts';

const run = promisify(execFile);
const SECRET = 'drone-webhook-secret';
const engine = useEngine({ httpPort: 0, httpHost: '127.0.0.1', webhookSecret: SECRET });
const scratch: string[] = [];
afterAll(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- kubectl -o json
type Json = any;

interface DroneStep {
  name: string;
  commands?: string[];
  environment?: Record<string, { from_secret: string } | string>;
}

/** The commands of a step, with its environment as Drone would set it (secrets from `secrets`). */
async function runStep(step: DroneStep, env: Record<string, string>, secrets: Record<string, string>): Promise<string> {
  const stepEnv = Object.fromEntries(Object.entries(step.environment ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v : secrets[v.from_secret]!]));
  const workspace = await mkdtemp(join(tmpdir(), 'shipway-drone-'));
  scratch.push(workspace);
  // Drone joins a step's commands into one script run with `sh -e` in the workspace.
  const { stdout, stderr } = await run('sh', ['-e', '-c', step.commands!.join('\n')], { cwd: workspace, env: { PATH: process.env.PATH!, HOME: workspace, ...env, ...stepEnv } });
  return `${stdout}${stderr}`;
}

const releaseApp = (ns: string, name: string) => engine.json(['get', 'releaseapp', name, '-n', ns]);

function release(ns: string, name: string, promotion: string): string {
  return `apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: ${name}, namespace: ${ns} }
spec:
  project: shop
  version: 1.0.1
  environments: [{ name: pre, promotion: ${promotion} }]
---
apiVersion: shipway.dev/v1alpha1
kind: ReleaseApp
metadata: { name: ${name}-web, namespace: ${ns} }
spec: { release: ${name}, app: web, version: 1.0.1, artifact: { image: registry.local/web } }
`;
}

describe('the Drone example', () => {
  it('its notify step annotates the ReleaseApps of active releases, which then show the new tag', async () => {
    const ns = await engine.namespace('drone');
    await engine.apply(`${workloads(ns, 'pre', ['web'])}---\n${release(ns, 'done', 'auto')}`);
    await engine.waitFor(ns, 'done', (r) => r.status?.phase === 'Succeeded', 'the first release finishes');
    await engine.apply(release(ns, 'next', 'manual'));
    await engine.waitFor(ns, 'next', (r) => r.status?.phase === 'Waiting', 'the second release waits');
    await eventually(async () => (await releaseApp(ns, 'next-web')).metadata.labels?.['shipway.dev/active'] === 'true' && (await releaseApp(ns, 'done-web')).metadata.labels?.['shipway.dev/active'] === 'false', {
      timeoutMs: 20_000, message: () => 'the operator labels the ReleaseApps',
    });

    const pipeline = parse(await readFile('examples/drone/.drone.yml', 'utf8')) as { steps: DroneStep[] };
    expect(pipeline.steps.map((s) => s.name)).toEqual(['build', 'notify-shipway']);
    const kubeconfig = await readFile(engine.cluster.kubeconfigPath, 'utf8');
    const output = await runStep(pipeline.steps[1]!, { DRONE_BUILD_NUMBER: '57' }, { shipway_kubeconfig: kubeconfig });
    expect(output).toContain('next-web annotated');
    expect(output).not.toContain('done-web');

    let last: Json;
    await eventually(async () => (last = await releaseApp(ns, 'next-web')).status?.newTag?.tag === '1.0.57', { timeoutMs: 20_000, message: () => JSON.stringify(last?.status) });
    expect(last.status).toMatchObject({ newTag: { tag: '1.0.57', build: '57' }, hasNewTag: true });
    expect((await releaseApp(ns, 'done-web')).status.newTag).toBeUndefined();
  }, 120_000);

  it("the README's webhook snippet posts a signed build the operator accepts", async () => {
    const ns = await engine.namespace('drone-hook');
    await engine.apply(`${workloads(ns, 'pre', ['web'])}---\n${release(ns, 'hooked', 'manual')}`);
    await engine.waitFor(ns, 'hooked', (r) => r.status?.phase === 'Waiting', 'the release waits');
    const readme = await readFile('examples/drone/README.md', 'utf8');
    const snippet = /## Or: the operator's webhook[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)![1]!;
    const script = snippet.replace('http://shipway.shipway-system.svc:8080', `http://127.0.0.1:${engine.operator.httpPort}`);
    const output = await runStep({ name: 'webhook', commands: [script] }, { DRONE_BUILD_NUMBER: '58', DRONE_BUILD_STATUS: 'success', SHIPWAY_WEBHOOK_SECRET: SECRET }, {});
    expect(JSON.parse(output).annotated).toContainEqual({ namespace: ns, name: 'hooked-web', app: 'web', tag: '1.0.58' });
    await eventually(async () => (await releaseApp(ns, 'hooked-web')).status?.newTag?.tag === '1.0.58', { timeoutMs: 20_000, message: () => 'the tag is shown' });
  }, 120_000);
});
