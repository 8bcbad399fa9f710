/**
 * Storage tests run on both drivers. PGlite is always available (in memory, one per test file). PostgreSQL
 * runs when DATABASE_URL is set (scripts/with-postgres.sh starts a throwaway server): every test file gets
 * its own database, created here and dropped afterwards, so files running in parallel never share rows.
 * Without DATABASE_URL the PostgreSQL variant is skipped, unless REQUIRE_POSTGRES=1 makes it fail.
 */
import { randomBytes } from 'node:crypto';
import type { SQL } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import {
  openDatabase,
  redactUrl,
  type Database,
  type Driver,
  type OpenedDatabase,
} from '../../operator/src/storage/database.ts';
import { createRepository, type Repository } from '../../operator/src/storage/repository.ts';
import { migratedPgliteTemplate } from './pglite-template.ts';

export interface TestDatabase {
  driver: Driver;
  db: Database;
  repository: Repository;
}

export const postgresRequired = (): boolean => process.env.REQUIRE_POSTGRES === '1';
export const postgresUrl = (): string | undefined => process.env.DATABASE_URL || undefined;

export interface DriverVariant {
  name: string;
  driver: Driver;
  /** PostgreSQL without DATABASE_URL (and without REQUIRE_POSTGRES=1, which turns this into a failure). */
  skip: boolean;
}

export function driverVariants(): DriverVariant[] {
  return [
    { name: 'PGlite', driver: 'pglite', skip: false },
    { name: 'PostgreSQL', driver: 'pg', skip: !postgresUrl() && !postgresRequired() },
  ];
}

export const MISSING_POSTGRES_MESSAGE =
  'REQUIRE_POSTGRES=1 but DATABASE_URL is not set: run the tests through scripts/with-postgres.sh ' +
  '(it starts a throwaway PostgreSQL server) or point DATABASE_URL at a server.';

/**
 * Declare `suite` once per driver. The object passed to `suite` is filled in `beforeAll`: read its fields inside
 * tests and hooks, not while declaring them.
 */
export function describeOnEachDriver(title: string, suite: (database: TestDatabase) => void): void {
  for (const { name, driver, skip } of driverVariants()) {
    (skip ? describe.skip : describe)(`${title} (${name})`, () => {
      const database = {} as TestDatabase;
      let opened: ScratchDatabase | undefined;
      beforeAll(async () => {
        opened = await openScratchDatabase(driver);
        Object.assign(database, { driver, db: opened.db, repository: createRepository(opened.db) });
      });
      afterAll(async () => {
        await opened?.dispose();
      });
      suite(database);
    });
  }
}

export interface ScratchDatabase extends OpenedDatabase {
  /** Close the connection and, on PostgreSQL, drop the database. */
  dispose(): Promise<void>;
  /** PostgreSQL only: the URL of the scratch database. */
  url?: string;
}

/** A fresh, migrated database of the given driver (an empty one with `migrate: false`). */
export async function openScratchDatabase(driver: Driver, options: { migrate?: boolean } = {}): Promise<ScratchDatabase> {
  if (driver === 'pglite') {
    const migrate = options.migrate ?? true;
    // Migrations still run on the copy: they find everything applied, which is the check we want anyway.
    const pglite = migrate ? { loadDataDir: await migratedPgliteTemplate() } : {};
    const opened = await openDatabase({ driver: 'pglite', migrate, pglite });
    return { ...opened, dispose: () => opened.close() };
  }
  const adminUrl = postgresUrl();
  if (!adminUrl) throw new Error(postgresRequired() ? MISSING_POSTGRES_MESSAGE : 'DATABASE_URL is not set');
  const name = `shipway_test_${randomBytes(6).toString('hex')}`;
  await withAdminClient(adminUrl, (client) => client.query(`create database ${name}`));
  const url = databaseUrl(adminUrl, name);
  let opened: OpenedDatabase;
  try {
    opened = await openDatabase({ driver: 'pg', url, migrate: options.migrate ?? true });
  } catch (error) {
    await dropDatabase(adminUrl, name);
    throw error;
  }
  return {
    ...opened,
    url,
    dispose: async () => {
      await opened.close();
      await dropDatabase(adminUrl, name);
    },
  };
}

function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  // FORCE: a connection the test leaked must not keep its database alive.
  await withAdminClient(adminUrl, (client) => client.query(`drop database if exists ${name} with (force)`));
}

async function withAdminClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`cannot connect to ${redactUrl(url)}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Rows of a raw `db.execute`. Its result type is driver-specific (pg QueryResult, PGlite Results); both
 * carry `rows`, which is all tests read.
 */
export async function queryRows<T>(db: Database, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}
