import { and, eq, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { dbNow } from './clock.ts';
import { NotFoundError, OptimisticLockError } from './errors.ts';

/** Columns a caller never sets directly: identity, bookkeeping and the lock itself. */
type Managed = 'id' | 'lockVersion' | 'createdAt' | 'updatedAt';

/** What an update may change: every column except the managed ones and the row's natural key(s). */
export type Changes<Insert, Fixed extends keyof Insert = never> = Partial<Omit<Insert, Managed | Fixed>>;

/**
 * Insert a row keyed by a uid or dedup key (the insert must use ON CONFLICT DO NOTHING on that key) and
 * return it, or the row already stored under that key. A writer that retries after a crash or a lost reply
 * gets its first row back: the first write wins and later values are ignored.
 */
export async function insertOnce<Row>(
  table: string,
  key: string,
  inserted: PromiseLike<Row[]>,
  findExisting: () => PromiseLike<Row | undefined>,
): Promise<Row> {
  const [row] = await inserted;
  if (row) return row;
  const existing = await findExisting();
  // Only possible if the conflicting row was deleted in between; the repository never deletes.
  if (!existing) throw new NotFoundError(table, key);
  return existing;
}

/** The SET part every locked update adds: bump the version, stamp the time. */
export function bumpVersion(table: { lockVersion: AnyPgColumn }) {
  return { lockVersion: sql`${table.lockVersion} + 1`, updatedAt: dbNow };
}

export function byIdAndVersion(table: { id: AnyPgColumn; lockVersion: AnyPgColumn }, id: string, expected: number) {
  return and(eq(table.id, id), eq(table.lockVersion, expected));
}

/**
 * Run an UPDATE guarded by `byIdAndVersion` and return the updated row. When nothing matched, read the row to
 * tell a missing row (NotFoundError) from a concurrent change (OptimisticLockError).
 */
export async function updateLocked<Row>(
  table: string,
  id: string,
  expectedLockVersion: number,
  updated: PromiseLike<Row[]>,
  findCurrent: () => PromiseLike<{ lockVersion: number } | undefined>,
): Promise<Row> {
  const [row] = await updated;
  if (row) return row;
  const current = await findCurrent();
  if (!current) throw new NotFoundError(table, id);
  throw new OptimisticLockError(table, id, expectedLockVersion, current.lockVersion);
}
