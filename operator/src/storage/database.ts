import { fileURLToPath } from 'node:url';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import * as schema from './schema.ts';

/** The supertype of both drivers' databases (and of their transactions): repository code never branches on driver. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export type Driver = 'pg' | 'pglite';

export interface OpenDatabaseOptions {
  /** PostgreSQL connection URL; defaults to DATABASE_URL. Without either, an embedded PGlite database is used. */
  url?: string;
  /** PGlite data directory; in memory when absent. Ignored when a URL is used. */
  dataDir?: string;
  /** Extra PGlite settings (e.g. `loadDataDir` to start from a dump, `relaxedDurability`). */
  pglite?: Omit<PGliteOptions, 'dataDir'>;
  /** Force a driver; by default pg when a URL is known (option or DATABASE_URL), else pglite. */
  driver?: Driver;
  /** Apply pending migrations before returning (default true). */
  migrate?: boolean;
  /** pg only: errors of idle pooled connections (server restart, network cut); ignored when absent. */
  onPoolError?: (error: Error) => void;
}

export interface OpenedDatabase {
  db: Database;
  driver: Driver;
  /** Where the data lives, safe to log: the URL's password is masked. */
  description: string;
  close(): Promise<void>;
}

/** Resolved from this module, not the cwd, so the operator finds its migrations from any working directory. */
export const migrationsFolder = fileURLToPath(new URL('../../drizzle/', import.meta.url));

// Arbitrary constant shared by every Shipway process: serialises migrations when several operators start at once.
const MIGRATION_LOCK_KEY = 0x5319_7a11;

export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<OpenedDatabase> {
  const url = options.url || process.env.DATABASE_URL || undefined;
  const driver = options.driver ?? (url ? 'pg' : 'pglite');
  const migrate = options.migrate ?? true;
  if (driver === 'pglite') return openPglite(options.dataDir, options.pglite ?? {}, migrate);
  if (!url) throw new Error('the pg driver needs a database URL (option url or DATABASE_URL)');
  return openPostgres(url, migrate, options.onPoolError);
}

async function openPostgres(url: string, migrate: boolean, onPoolError?: (error: Error) => void): Promise<OpenedDatabase> {
  const pool = new pg.Pool({ connectionString: url });
  // Without a listener an idle client's error event would crash the process; the next query reports the problem.
  pool.on('error', (error) => onPoolError?.(error));
  const description = redactUrl(url);
  try {
    if (migrate) await migratePostgres(pool);
  } catch (error) {
    await pool.end();
    throw new Error(`cannot open the database at ${description}: ${(error as Error).message}`, { cause: error });
  }
  const db: Database = drizzlePg(pool, { schema });
  return { db, driver: 'pg', description, close: once(() => pool.end()) };
}

async function migratePostgres(pool: pg.Pool): Promise<void> {
  // An advisory lock is per session, so the lock and the migration share one dedicated connection.
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await migratePg(drizzlePg(client, { schema }), { migrationsFolder });
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    client.release();
  }
}

async function openPglite(
  dataDir: string | undefined,
  pgliteOptions: Omit<PGliteOptions, 'dataDir'>,
  migrate: boolean,
): Promise<OpenedDatabase> {
  const client = new PGlite({ ...pgliteOptions, ...(dataDir !== undefined && { dataDir }) });
  await client.waitReady;
  const pgliteDb = drizzlePglite(client, { schema });
  try {
    if (migrate) await migratePglite(pgliteDb, { migrationsFolder });
  } catch (error) {
    await client.close();
    throw error;
  }
  const db: Database = pgliteDb;
  return {
    db,
    driver: 'pglite',
    description: dataDir ? `pglite:${dataDir}` : 'pglite:memory',
    close: once(() => client.close()),
  };
}

/** The URL with its password replaced, for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    // libpq also takes the password (and the client key's) as query parameters.
    for (const key of [...parsed.searchParams.keys()]) {
      if (/password/i.test(key)) parsed.searchParams.set(key, '***');
    }
    return parsed.toString();
  } catch {
    // Not a URL (e.g. a libpq key/value string): say nothing rather than risk printing a password.
    return 'postgres (connection string not shown)';
  }
}

/** close() may be called by several owners (shutdown hooks, tests); the drivers reject a second close. */
function once(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => (closing ??= close());
}
