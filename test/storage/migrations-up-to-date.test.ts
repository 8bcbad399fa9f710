/**
 * Fails when operator/src/storage/schema.ts changed without a migration: drizzle-kit generates into a copy
 * of operator/drizzle, and a committed migration set that matches the schema produces nothing new.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const committed = join(root, 'operator/drizzle');
const schema = join(root, 'operator/src/storage/schema.ts');
const drizzleKit = join(root, 'node_modules/drizzle-kit/bin.cjs');

describe('drizzle migrations', () => {
  let scratch: string | undefined;
  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('match the schema (run `npm run db:generate` after changing schema.ts)', async () => {
    scratch = await mkdtemp(join(tmpdir(), 'shipway-drizzle-'));
    const out = join(scratch, 'drizzle');
    await cp(committed, out, { recursive: true });
    // drizzle-kit prefixes paths with "./": they must be relative to its working directory.
    await writeFile(
      join(scratch, 'drizzle.config.json'),
      JSON.stringify({ dialect: 'postgresql', schema: relative(scratch, schema), out: './drizzle' }),
    );

    // stdin closed and a timeout: a schema change that needs an answer (rename or drop?) fails instead of hanging.
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [drizzleKit, 'generate', '--config', 'drizzle.config.json'],
      { cwd: scratch, timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } },
    );

    const before = (await readdir(committed, { recursive: true })).sort();
    const after = (await readdir(out, { recursive: true })).sort();
    expect(after, `drizzle-kit generated a new migration:\n${stdout}`).toEqual(before);
    // drizzle-kit exits 0 even when it fails to read the migrations: require its explicit verdict.
    expect(stdout, `drizzle-kit did not compare the schema:\n${stdout}\n${stderr}`).toContain('No schema changes');
    expect(await readFile(join(out, 'meta/_journal.json'), 'utf8')).toBe(
      await readFile(join(committed, 'meta/_journal.json'), 'utf8'),
    );
  });
});
