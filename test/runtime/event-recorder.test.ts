import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventRecorder } from '../../operator/src/runtime/event-recorder.ts';
import { startEmulator, type RunningEmulator } from '../kube-api/emulator.ts';

const run = promisify(execFile);

describe('EventRecorder', () => {
  let emulator: RunningEmulator;
  let kc: KubeConfig;
  let dir: string;
  beforeAll(async () => {
    emulator = await startEmulator();
    kc = new KubeConfig();
    kc.loadFromString(emulator.kubeconfig);
    dir = await mkdtemp(join(tmpdir(), 'shipway-events-'));
    await writeFile(join(dir, 'kubeconfig'), emulator.kubeconfig);
  });
  afterAll(async () => {
    await emulator.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('records an event that kubectl describe shows, and counts repeats on the same Event', async () => {
    const cms = emulator.api.mustType('', 'configmaps');
    const cm = emulator.api.create(cms, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'subject' } });
    const recorder = new EventRecorder(kc, 'shipway-operator', 'pod-1');
    await recorder.record(cm, 'Normal', 'Started', 'release started in pre');
    await recorder.record(cm, 'Normal', 'Started', 'release started in pre');
    await recorder.record(cm, 'Warning', 'RolledBack', 'canary web-pre failed its health check');
    const events = emulator.api.list(emulator.api.mustType('', 'events'), 'default').filter((e) => e.involvedObject.uid === cm.metadata.uid);
    expect(events.map((e) => [e.reason, e.count, e.type])).toEqual(expect.arrayContaining([['Started', 2, 'Normal'], ['RolledBack', 1, 'Warning']]));
    expect(events).toHaveLength(2);
    const { stdout } = await run('kubectl', ['--kubeconfig', join(dir, 'kubeconfig'), '--cache-dir', join(dir, 'cache'), 'describe', 'configmap', 'subject', '-n', 'default'], { timeout: 30_000 });
    expect(stdout).toContain('release started in pre');
    expect(stdout).toContain('canary web-pre failed its health check');
  });

  it('never throws when the API refuses the event', async () => {
    const errors: unknown[] = [];
    const recorder = new EventRecorder(kc, 'shipway-operator', 'pod-1', (e) => errors.push(e));
    await recorder.record({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'no-such-namespace', uid: 'u' } }, 'Normal', 'Started', 'hello');
    expect(errors).toHaveLength(1);
  });
});
