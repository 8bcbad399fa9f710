/**
 * The kubectl session the README shows ("No cluster at hand?") works as written: every kubectl line of that
 * block runs against a fresh cluster in order and succeeds. Emulator only: it creates the `shop` namespace.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRealCluster, ROOT, startCluster, type Cluster } from './cluster.ts';

function readmeSession(): string[][] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = readme.split('```bash').map((b) => b.split('```')[0]!).find((b) => b.includes('make kube &'));
  if (!block) throw new Error('README.md has no bash block with `make kube &`');
  return block
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line.startsWith('kubectl '))
    .map((line) => line.split(/\s+/).slice(1));
}

describe.skipIf(isRealCluster)('the README kubectl session', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster();
  });
  afterAll(async () => cluster?.stop());

  it('runs line by line and ends with the image rolled back', async () => {
    const session = readmeSession();
    expect(session.length).toBeGreaterThanOrEqual(6);
    for (const args of session) {
      const result = await cluster.kubectl(args, { timeoutMs: 60_000 });
      expect(result.code, `kubectl ${args.join(' ')}\n${result.stderr}`).toBe(0);
    }
    const image = await cluster.kubectlOk(['get', 'deployment', 'web-pre', '-n', 'shop', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']);
    expect(image).toBe('registry.local/shop/web:1.0.0');
  });
});
