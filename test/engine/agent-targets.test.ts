/**
 * Agent targets end to end: the operator (with its agent endpoint) issues the agent's credential into a
 * Secret when a Target names it; a real `shipway-agent` process started from that Secret dials in over QUIC;
 * Releases then install, update and roll back a script app on its host through the same engine as
 * Kubernetes targets, and the Target's status shows the agent and what is installed.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useEngine } from './engine-fixture.ts';
import { startAgentProcess } from './agent-process.ts';
import { eventually } from '../support/until.ts';

const engine = useEngine({ agentPort: 0, agentHeartbeatSeconds: 1, agentNamespace: 'default' });

let dir: string;
const agents: ChildProcess[] = [];
const agentOutput: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shipway-agent-e2e-'));
});
afterAll(async () => {
  for (const a of agents) a.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

async function startAgent(agentId: string): Promise<void> {
  agents.push(await startAgentProcess(engine, agentId, { credentialDir: join(dir, `${agentId}-credential`), stateDir: join(dir, `${agentId}-state`), output: agentOutput }));
}

const targetYaml = (ns: string, workDir: string) => `
apiVersion: shipway.dev/v1alpha1
kind: Target
metadata: { name: host-1, namespace: ${ns} }
spec:
  type: script
  environment: prod
  host: 127.0.0.1
  agent: host-1
  script: { workDir: ${workDir} }
`;

const releaseYaml = (ns: string, name: string, version: string, workDir: string) => `
apiVersion: shipway.dev/v1alpha1
kind: Release
metadata: { name: ${name}, namespace: ${ns} }
spec:
  project: shop
  version: ${version}
  variables:
    - { name: GREETING, value: "hello from ${name}" }
  environments:
    - { name: prod, promotion: auto, targets: { names: [host-1] } }
---
apiVersion: shipway.dev/v1alpha1
kind: ReleaseApp
metadata: { name: ${name}-shop, namespace: ${ns} }
spec:
  release: ${name}
  app: shop
  version: ${version}
  artifact: { package: { url: "file:///srv/shop-\${APP_VERSION}.tgz" } }
  script:
    workDir: ${workDir}/shop
    install: |
      set -eu
      mkdir -p "$WORK_DIR"
      echo "install $APP_VERSION ($GREETING) on $TARGET_NAME" >> "$WORK_DIR/ops.log"
      echo "$APP_VERSION" > "$WORK_DIR/VERSION"
    update: |
      set -eu
      echo "update $CURRENT_VERSION -> $APP_VERSION" >> "$WORK_DIR/ops.log"
      echo "$APP_VERSION" > "$WORK_DIR/VERSION"
    rollback: |
      set -eu
      echo "rollback to $APP_VERSION" >> "$WORK_DIR/ops.log"
      echo "$APP_VERSION" > "$WORK_DIR/VERSION"
`;

describe('agent targets', () => {
  it('installs, updates and rolls back a script app through a real agent, and shows the agent on the Target', async () => {
    await eventually(async () => engine.operator.agents() !== undefined, { timeoutMs: 30_000, message: () => `the agent endpoint did not start\n${engine.logs.slice(-20).join('\n')}` });
    const ns = await engine.namespace('agents');
    const work = join(dir, 'host-1');
    await engine.apply(targetYaml(ns, work));
    await startAgent('host-1');
    let online: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- kubectl -o json
    await eventually(async () => {
      online = await engine.json(['get', 'target', 'host-1', '-n', ns]);
      return online.status?.phase === 'Online';
    }, { timeoutMs: 30_000, message: () => `the Target did not go Online\nagent:\n${agentOutput.slice(-20).join('\n')}\noperator:\n${engine.logs.slice(-20).join('\n')}` });
    expect(online.status.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Ready', status: 'True', reason: 'AgentConnected' })]));

    await engine.apply(releaseYaml(ns, 'r1', '1.0.0', work));
    await engine.waitFor(ns, 'r1', (r) => r.status?.phase === 'Succeeded', 'the first release installs the app', 60_000);
    expect(await readFile(join(work, 'shop', 'ops.log'), 'utf8')).toBe('install 1.0.0 (hello from r1) on host-1\n');

    await engine.apply(releaseYaml(ns, 'r2', '1.1.0', work));
    await engine.waitFor(ns, 'r2', (r) => r.status?.phase === 'Succeeded', 'the second release updates the app', 60_000);
    expect(await readFile(join(work, 'shop', 'ops.log'), 'utf8')).toBe('install 1.0.0 (hello from r1) on host-1\nupdate 1.0.0 -> 1.1.0\n');
    let installed: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- kubectl -o json
    await eventually(async () => {
      installed = await engine.json(['get', 'target', 'host-1', '-n', ns]);
      return !!installed.status?.installations?.find((i: { app: string; version: string }) => i.app === 'shop' && i.version === '1.1.0');
    }, { timeoutMs: 20_000, message: () => 'the Target does not show shop 1.1.0 installed' });
    expect(installed.status.agentVersion).toBeDefined();

    await engine.annotate(ns, 'r2', { 'shipway.dev/action': 'rollback', 'shipway.dev/actor': 'alice' });
    const rolledBack = await engine.waitFor(ns, 'r2', (r) => r.status?.phase === 'RolledBack', 'the rollback takes the host back to 1.0.0', 60_000);
    expect(rolledBack.status.environments[0].targets[0]).toMatchObject({ name: 'host-1', phase: 'RolledBack' });
    expect((await readFile(join(work, 'shop', 'ops.log'), 'utf8')).trim().split('\n').at(-1)).toBe('rollback to 1.0.0');
    expect((await readFile(join(work, 'shop', 'VERSION'), 'utf8')).trim()).toBe('1.0.0');

    const history = await engine.history(ns, 'r2');
    expect(history.deployments.map((d) => [d.operation, d.version, d.status]).sort()).toEqual([['deploy', '1.1.0', 'rolled_back'], ['rollback', '1.0.0', 'succeeded']]);
  }, 180_000);
});
