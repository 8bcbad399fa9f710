import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExternalValueProviders, fetchValueRefs, type ExternalValueProvider } from '../../operator/src/kubernetes/variable-sources.ts';
import { refKey, type FetchedValue, type ValueRef } from '../../operator/src/planning/variable-resolver.ts';
import { startEmulator, type RunningEmulator } from '../kube-api/emulator.ts';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const PASSWORD = 'pä$$ word\nsecond line';

describe('fetchValueRefs', () => {
  let emulator: RunningEmulator;
  let core: CoreV1Api;
  let dir: string;
  beforeAll(async () => {
    emulator = await startEmulator();
    const kc = new KubeConfig();
    kc.loadFromString(emulator.kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
    for (const name of ['shop', 'elsewhere']) await core.createNamespace({ body: { metadata: { name } } });
    await core.createNamespacedSecret({ namespace: 'shop', body: { metadata: { name: 'db' }, data: { password: b64(PASSWORD), user: b64('shop-app') }, stringData: { url: 'postgres://db.internal' } } });
    await core.createNamespacedSecret({ namespace: 'elsewhere', body: { metadata: { name: 'other' }, data: { token: b64('other-token') } } });
    dir = await mkdtemp(join(tmpdir(), 'shipway-variables-'));
    await writeFile(join(dir, 'flags.json'), '{"beta":true}\n');
    await writeFile(join(dir, 'exact'), 'x'.repeat(16));
    await writeFile(join(dir, 'large'), 'x'.repeat(17));
  });
  afterAll(async () => {
    await emulator.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const fetchOne = async (ref: ValueRef, extra: Partial<Parameters<typeof fetchValueRefs>[1]> = {}): Promise<FetchedValue | undefined> =>
    (await fetchValueRefs([ref], { namespace: 'shop', core, env: { SHOP_MODE: 'fast', EMPTY: '' }, fileLimitBytes: 16, ...extra })).get(refKey(ref));

  it.each<[string, ValueRef, FetchedValue]>([
    ['a Secret key, base64-decoded', { kind: 'secret', name: 'db', key: 'password' }, { value: PASSWORD }],
    ['a key written as stringData', { kind: 'secret', name: 'db', key: 'url' }, { value: 'postgres://db.internal' }],
    ['a missing key', { kind: 'secret', name: 'db', key: 'nope' }, { error: 'the Secret has no key nope' }],
    ['a key named like an Object method', { kind: 'secret', name: 'db', key: 'constructor' }, { error: 'the Secret has no key constructor' }],
    ['a missing Secret', { kind: 'secret', name: 'absent', key: 'password' }, { error: 'not found' }],
    ["a Secret of another namespace, which is not the release's", { kind: 'secret', name: 'other', key: 'token' }, { error: 'not found' }],
    ['an environment variable', { kind: 'env', key: 'SHOP_MODE' }, { value: 'fast' }],
    ['an empty environment variable', { kind: 'env', key: 'EMPTY' }, { value: '' }],
    ['an unset environment variable', { kind: 'env', key: 'HOME' }, { error: 'not set' }],
    ['an environment variable named like an Object method', { kind: 'env', key: 'toString' }, { error: 'not set' }],
  ])('reads %s', async (_name, ref, expected) => {
    expect(await fetchOne(ref)).toEqual(expected);
  });

  it.each<[string, string, FetchedValue]>([
    ['a file, as it is', 'flags.json', { value: '{"beta":true}\n' }],
    ['a file exactly at the limit', 'exact', { value: 'x'.repeat(16) }],
    ['refuses a file over the limit', 'large', { error: 'larger than 16 bytes' }],
    ['a missing file', 'absent', { error: 'not found' }],
    ['a directory', '.', { error: 'is a directory' }],
  ])('reads %s', async (_name, file, expected) => {
    expect(await fetchOne({ kind: 'file', path: join(dir, file) })).toEqual(expected);
  });

  it('refuses a file over the default limit of 1 MiB', async () => {
    const path = join(dir, 'mebibyte-plus-one');
    await writeFile(path, Buffer.alloc(1024 * 1024 + 1, 'a'));
    expect(await fetchOne({ kind: 'file', path }, { fileLimitBytes: undefined })).toEqual({ error: 'larger than 1048576 bytes' });
  });

  it('reads several keys of one Secret and every source in one call, keyed by refKey', async () => {
    const refs: ValueRef[] = [
      { kind: 'secret', name: 'db', key: 'password' },
      { kind: 'secret', name: 'db', key: 'user' },
      { kind: 'secret', name: 'db', key: 'password' },
      { kind: 'env', key: 'SHOP_MODE' },
      { kind: 'file', path: join(dir, 'flags.json') },
    ];
    const result = await fetchValueRefs(refs, { namespace: 'shop', core, env: { SHOP_MODE: 'fast' } });
    expect(result).toEqual(
      new Map<string, FetchedValue>([
        ['secret:db/password', { value: PASSWORD }],
        ['secret:db/user', { value: 'shop-app' }],
        ['env:SHOP_MODE', { value: 'fast' }],
        [`file:${join(dir, 'flags.json')}`, { value: '{"beta":true}\n' }],
      ]),
    );
  });

  it('reports a vault reference when no provider is registered', async () => {
    const ref: ValueRef = { kind: 'vault', path: 'secret/shop/config' };
    expect(await fetchOne(ref)).toEqual({ error: 'no provider is registered for external source vault' });
    expect(await fetchOne(ref, { providers: createExternalValueProviders() })).toEqual({ error: 'no provider is registered for external source vault' });
  });

  it('asks the registered provider for a vault path', async () => {
    const store = new Map([['secret/shop/config', 'vault-config-value']]);
    const asked: string[] = [];
    const kv: ExternalValueProvider = {
      async fetch(path) {
        asked.push(path);
        const value = store.get(path);
        if (path.endsWith('/long')) throw new Error('denied '.repeat(100));
        if (value === undefined) throw new Error(`no value at ${path}\nstack and details`);
        return value;
      },
    };
    const providers = createExternalValueProviders();
    providers.register('vault', kv);
    const refs: ValueRef[] = [{ kind: 'vault', path: 'secret/shop/config' }, { kind: 'vault', path: 'secret/shop/absent' }, { kind: 'vault', path: 'secret/shop/long' }];

    const result = await fetchValueRefs(refs, { namespace: 'shop', core, providers });

    expect(result.get('vault:secret/shop/config')).toEqual({ value: 'vault-config-value' });
    expect(result.get('vault:secret/shop/absent')).toEqual({ error: 'no value at secret/shop/absent' });
    expect((result.get('vault:secret/shop/long') as { error: string }).error).toMatch(/^denied denied .{150,}…$/);
    expect((result.get('vault:secret/shop/long') as { error: string }).error.length).toBe(200);
    expect(asked.sort()).toEqual(['secret/shop/absent', 'secret/shop/config', 'secret/shop/long']);
  });

  it('turns an API failure into a short error without the Secret data', async () => {
    const refs: ValueRef[] = [{ kind: 'secret', name: 'db', key: 'password' }];
    const result = await fetchValueRefs(refs, { namespace: 'no-such-namespace', core });
    const error = (result.get('secret:db/password') as { error: string }).error;
    expect(error).toBe('not found');

    // A client whose server is gone: the failure is reported, not thrown.
    const stopped = await startEmulator();
    const kc = new KubeConfig();
    kc.loadFromString(stopped.kubeconfig);
    await stopped.stop();
    const down = await fetchValueRefs(refs, { namespace: 'shop', core: kc.makeApiClient(CoreV1Api) });
    const message = (down.get('secret:db/password') as { error: string }).error;
    expect(message).not.toContain('\n');
    expect(message.length).toBeLessThanOrEqual(200);
    expect(message).toContain('ECONNREFUSED');
  });
});
