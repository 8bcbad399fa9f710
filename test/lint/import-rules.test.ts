import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const depcruise = join(root, 'node_modules/.bin/depcruise');

/** Runs the project's import rules over a small tree laid out like the repository. */
async function cruise(dir: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(depcruise, ['--config', join(root, '.dependency-cruiser.cjs'), '--no-progress', 'operator'], { cwd: dir });
    return { code: 0, output: stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string };
    return { code: e.code, output: e.stdout };
  }
}

describe('import rules (dependency-cruiser)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shipway-imports-'));
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', allowImportingTsExtensions: true, noEmit: true } }));
    for (const sub of ['api', 'validation', 'storage', 'runtime', 'controllers']) await mkdir(join(dir, 'operator/src', sub), { recursive: true });
    await writeFile(join(dir, 'operator/src/storage/database.ts'), 'export const db = 1;\n');
    await writeFile(join(dir, 'operator/src/controllers/release.ts'), 'export const c = 1;\n');
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('refuses Node I/O modules and I/O layers in pure modules', async () => {
    await writeFile(join(dir, 'operator/src/api/bad.ts'), "import { readFileSync } from 'node:fs';\nimport { db } from '../storage/database.ts';\nexport const x = [readFileSync, db];\n");
    const { code, output } = await cruise(dir);
    expect(code).not.toBe(0);
    expect(output).toContain('pure-no-node-io: operator/src/api/bad.ts → fs');
    expect(output).toContain('pure-no-io-layers: operator/src/api/bad.ts → operator/src/storage/database.ts');
    await rm(join(dir, 'operator/src/api/bad.ts'));
  });

  it('refuses runtime helpers that import controllers', async () => {
    await writeFile(join(dir, 'operator/src/runtime/queue.ts'), "import { c } from '../controllers/release.ts';\nexport const q = c;\n");
    const { code, output } = await cruise(dir);
    expect(code).not.toBe(0);
    expect(output).toContain('runtime-not-controllers');
    await rm(join(dir, 'operator/src/runtime/queue.ts'));
  });
});
