/**
 * A migrated PGlite database as a tarball, made once and reused: starting PGlite from a dump takes about a
 * second, while a fresh one runs initdb in WebAssembly (several seconds), which would dominate the suite.
 * Cached in .tmp/ under a key of the migrations and the PGlite version, so a new migration makes a new one.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { migrationsFolder, openDatabase } from '../../operator/src/storage/database.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
let template: Promise<Blob> | undefined;

export function migratedPgliteTemplate(): Promise<Blob> {
  return (template ??= loadOrCreate());
}

async function loadOrCreate(): Promise<Blob> {
  const file = join(root, '.tmp', 'pglite-templates', `${await templateKey()}.tar`);
  try {
    return new Blob([await readFile(file)]);
  } catch {
    // Not made yet: make it below.
  }
  const opened = await openDatabase({ driver: 'pglite' });
  try {
    const client = (opened.db as unknown as { $client: PGlite }).$client;
    const dump = await client.dumpDataDir('none');
    const bytes = new Uint8Array(await dump.arrayBuffer());
    await mkdir(dirname(file), { recursive: true });
    // Written aside then renamed: test files in other workers may be reading the same path.
    const partial = `${file}.${process.pid}.partial`;
    await writeFile(partial, bytes);
    await rename(partial, file);
    await removeOtherTemplates(file);
    return new Blob([bytes]);
  } finally {
    await opened.close();
  }
}

async function templateKey(): Promise<string> {
  const hash = createHash('sha256');
  const pglite = JSON.parse(await readFile(join(root, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')) as {
    version: string;
  };
  hash.update(`pglite ${pglite.version}\n`);
  const files = (await readdir(migrationsFolder, { recursive: true })).filter((f) => /\.(sql|json)$/.test(f)).sort();
  for (const name of files) {
    hash.update(`${name}\n`);
    hash.update(await readFile(join(migrationsFolder, name)));
  }
  return hash.digest('hex').slice(0, 16);
}

/** Templates of older migrations or PGlite versions are 40 MB each and never used again. */
async function removeOtherTemplates(current: string): Promise<void> {
  const directory = dirname(current);
  for (const name of await readdir(directory)) {
    if (name.endsWith('.tar') && name !== basename(current)) await rm(join(directory, name), { force: true });
  }
}
