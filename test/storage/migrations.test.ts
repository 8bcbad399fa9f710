import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import {
  migrationsFolder,
  openDatabase,
  redactUrl,
  type Database,
  type OpenedDatabase,
} from '../../operator/src/storage/database.ts';
import { createRepository } from '../../operator/src/storage/repository.ts';
import { driverVariants, openScratchDatabase, queryRows, type ScratchDatabase } from '../support/test-databases.ts';
import { releaseInput } from '../support/storage-fixtures.ts';

const TABLES = [
  'agents',
  'approvals',
  'audit_events',
  'deployments',
  'release_apps',
  'releases',
  'stage_runs',
  'status_reports',
  'target_installations',
  'task_runs',
];

const INDEXES = [
  'releases_uid_key',
  'releases_project_created_at_idx',
  'release_apps_uid_key',
  'release_apps_app_idx',
  'release_apps_release_id_idx',
  'deployments_dedup_key_key',
  'deployments_release_id_created_at_idx',
  'deployments_app_target_created_at_idx',
  'deployments_release_app_id_superseded_idx',
  'stage_runs_dedup_key_key',
  'stage_runs_deployment_id_idx',
  'task_runs_dedup_key_key',
  'task_runs_stage_run_id_idx',
  'task_runs_release_id_idx',
  'status_reports_dedup_key_key',
  'status_reports_target_reported_at_idx',
  'status_reports_release_id_target_reported_at_idx',
  'approvals_dedup_key_key',
  'approvals_release_id_status_idx',
  'audit_events_dedup_key_key',
  'audit_events_release_id_occurred_at_idx',
  'audit_events_object_occurred_at_idx',
  'target_installations_target_app_key',
  'target_installations_app_idx',
];

async function tableNames(db: Database): Promise<string[]> {
  const rows = await queryRows<{ table_name: string }>(
    db,
    sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
  );
  return rows.map((row) => row.table_name);
}

async function indexNames(db: Database): Promise<string[]> {
  const rows = await queryRows<{ indexname: string }>(db, sql`select indexname from pg_indexes where schemaname = 'public'`);
  return rows.map((row) => row.indexname);
}

async function appliedMigrations(db: Database): Promise<number> {
  const rows = await queryRows<{ count: number }>(db, sql`select count(*)::int as count from drizzle.__drizzle_migrations`);
  return rows[0]?.count ?? 0;
}

async function journalEntries(): Promise<number> {
  const journal = JSON.parse(await readFile(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as {
    entries: unknown[];
  };
  return journal.entries.length;
}

/** Run `open` as the operator would when started elsewhere with no DATABASE_URL: defaults must still work. */
async function fromAnotherDirectoryWithoutUrl<T>(open: () => Promise<T>): Promise<T> {
  const saved = { url: process.env.DATABASE_URL, cwd: process.cwd() };
  delete process.env.DATABASE_URL;
  process.chdir(tmpdir());
  try {
    return await open();
  } finally {
    process.chdir(saved.cwd);
    if (saved.url !== undefined) process.env.DATABASE_URL = saved.url;
  }
}

for (const { name, driver, skip } of driverVariants()) {
  (skip ? describe.skip : describe)(`migrations (${name})`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterAll(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    /** Opens one database, initially empty, as many times as asked. */
    async function reopenable(): Promise<(migrate: boolean) => Promise<OpenedDatabase>> {
      if (driver === 'pglite') {
        const dataDir = await mkdtemp(join(tmpdir(), 'shipway-pglite-'));
        cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
        return (migrate) => fromAnotherDirectoryWithoutUrl(() => openDatabase({ dataDir, migrate }));
      }
      const scratch: ScratchDatabase = await openScratchDatabase('pg', { migrate: false });
      cleanups.push(() => scratch.dispose());
      await scratch.close();
      return (migrate) => openDatabase({ url: scratch.url, migrate });
    }

    it('creates every table and index in an empty database, and reopening applies nothing and keeps the rows', async () => {
      const open = await reopenable();

      const empty = await open(false);
      expect(empty.driver).toBe(driver);
      expect(await tableNames(empty.db)).toEqual([]);
      await empty.close();

      const migrated = await open(true);
      expect(await tableNames(migrated.db)).toEqual(TABLES);
      expect(await indexNames(migrated.db)).toEqual(expect.arrayContaining(INDEXES));
      expect(await appliedMigrations(migrated.db)).toBe(await journalEntries());
      const release = await createRepository(migrated.db).upsertRelease(releaseInput());
      await migrated.close();

      const reopened = await open(true);
      try {
        expect(await appliedMigrations(reopened.db)).toBe(await journalEntries());
        expect(await createRepository(reopened.db).getReleaseByUid(release.uid)).toEqual(release);
      } finally {
        await reopened.close();
      }
    });
  });
}

describe('openDatabase', () => {
  it('never shows the password of a database URL', () => {
    const shown = redactUrl('postgres://shipway:s3cret-pw@db.example:5432/shipway?sslmode=require');
    expect(shown).not.toContain('s3cret-pw');
    expect(shown).toContain('db.example:5432/shipway');
    expect(redactUrl('postgres://db.example/shipway?user=shipway&password=s3cret-pw')).not.toContain('s3cret-pw');
    expect(redactUrl('host=db password=s3cret-pw')).not.toContain('s3cret-pw');
  });

  it('reports a failed connection without the password', async () => {
    const failure = openDatabase({ url: 'postgres://shipway:s3cret-pw@127.0.0.1:1/shipway' });
    await expect(failure).rejects.toThrow(/127\.0\.0\.1:1/);
    await expect(failure).rejects.not.toThrow(/s3cret-pw/);
  });
});
