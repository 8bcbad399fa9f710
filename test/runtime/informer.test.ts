import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../support/until.ts';
import { parse } from 'yaml';
import { Informer, type InformerEvent } from '../../operator/src/runtime/informer.ts';
import { startEmulator, type RunningEmulator } from '../kube-api/emulator.ts';


const target = (name: string) => ({
  apiVersion: 'shipway.dev/v1alpha1',
  kind: 'Target',
  metadata: { name, namespace: 'default' },
  spec: { type: 'script', environment: 'prod', agent: 'a1' },
});

describe('Informer', () => {
  let emulator: RunningEmulator;
  let kc: KubeConfig;
  const types = () => emulator.api.mustType('shipway.dev', 'targets');

  beforeAll(async () => {
    emulator = await startEmulator({ eventLogCapacity: 5, watchBookmarkIntervalMs: 60_000 });
    const crds = emulator.api.mustType('apiextensions.k8s.io', 'customresourcedefinitions');
    emulator.api.create(crds, undefined, parse(readFileSync(new URL('../../crds/targets.shipway.dev.yaml', import.meta.url), 'utf8')));
    kc = new KubeConfig();
    kc.loadFromString(emulator.kubeconfig);
  });
  afterAll(async () => emulator.stop());

  it('lists, then follows additions, changes and deletions through the watch', async () => {
    emulator.api.create(types(), 'default', target('before'));
    const events: string[] = [];
    const informer = new Informer({ kubeConfig: kc, apiVersion: 'shipway.dev/v1alpha1', kind: 'Target', plural: 'targets', onEvent: (type: InformerEvent, o) => events.push(`${type} ${o.metadata?.name}`) });
    await informer.start();
    expect(events).toEqual(['ADDED before']);
    emulator.api.create(types(), 'default', target('after'));
    const current = emulator.api.get(types(), 'default', 'after');
    emulator.api.update(types(), 'default', 'after', { ...current, metadata: { ...current.metadata, labels: { x: 'y' } } }, undefined);
    emulator.api.delete(types(), 'default', 'before');
    await until(() => events.length === 4);
    expect(events).toEqual(['ADDED before', 'ADDED after', 'MODIFIED after', 'DELETED before']);
    expect(informer.get('default', 'after')?.metadata?.labels).toEqual({ x: 'y' });
    expect(informer.list().map((o) => o.metadata?.name)).toEqual(['after']);
    informer.stop();
    emulator.api.delete(types(), 'default', 'after');
  });

  it('reads every page of a custom resource list, not only the first', async () => {
    for (let i = 0; i < 7; i++) emulator.api.create(types(), 'default', target(`paged-${i}`));
    const informer = new Informer({ kubeConfig: kc, apiVersion: 'shipway.dev/v1alpha1', kind: 'Target', plural: 'targets', pageSize: 2, onEvent: () => {} });
    await informer.start();
    expect(informer.list().map((o) => o.metadata?.name).sort()).toEqual(['paged-0', 'paged-1', 'paged-2', 'paged-3', 'paged-4', 'paged-5', 'paged-6']);
    informer.stop();
    for (let i = 0; i < 7; i++) emulator.api.delete(types(), 'default', `paged-${i}`);
  });

  it('re-lists after 410 Expired and carries on watching', async () => {
    const events: string[] = [];
    const errors: unknown[] = [];
    const informer = new Informer({
      kubeConfig: kc, apiVersion: 'shipway.dev/v1alpha1', kind: 'Target', plural: 'targets', watchTimeoutSeconds: 1,
      onEvent: (type, o) => events.push(`${type} ${o.metadata?.name}`), onError: (e) => errors.push(e),
    });
    await informer.start();
    emulator.api.create(types(), 'default', target('one'));
    await until(() => events.includes('ADDED one'));
    // Writes elsewhere push this kind's last event out of the server's short history; when the watch times
    // out, resuming from the informer's resourceVersion gets 410 Expired.
    const cms = emulator.api.mustType('', 'configmaps');
    for (let i = 0; i < 10; i++) emulator.api.create(cms, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `noise-${i}` } });
    await until(() => informer.stats.expired >= 1 && informer.stats.lists >= 2, 8000);
    emulator.api.create(types(), 'default', target('two'));
    await until(() => events.includes('ADDED two'));
    expect(events.filter((e) => e === 'ADDED one')).toHaveLength(1);
    expect(informer.list().map((o) => o.metadata?.name).sort()).toEqual(['one', 'two']);
    informer.stop();
  });

  it('keeps retrying when the server is unreachable, without throwing', async () => {
    const broken = new KubeConfig();
    broken.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const errors: unknown[] = [];
    const informer = new Informer({ kubeConfig: broken, apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', relistBaseDelayMs: 20, onEvent: () => {}, onError: (e) => errors.push(e) });
    await informer.start();
    // Each failed list is reported and retried: three failures mean three lists, none of them fatal.
    await until(() => errors.length >= 3);
    informer.stop();
    expect(informer.stats.lists).toBeGreaterThanOrEqual(3);
    expect(informer.hasSynced).toBe(false);
  });
});
