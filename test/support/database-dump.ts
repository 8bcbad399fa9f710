/** Every row of every table of a database, for tests that scan all that was stored (e.g. for a secret). */
import { sql } from 'drizzle-orm';

type ExecutingDatabase = { execute(query: ReturnType<typeof sql>): Promise<{ rows: Record<string, unknown>[] }> };

/** All tables of all schemas but the system ones, as JSON per `schema.table`. */
export async function databaseDump(database: unknown): Promise<Record<string, string>> {
  const db = database as ExecutingDatabase;
  const tables = (await db.execute(sql`select table_schema, table_name from information_schema.tables
    where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema') order by 1, 2`)).rows;
  const dump: Record<string, string> = {};
  for (const { table_schema, table_name } of tables) {
    const rows = (await db.execute(sql`select * from ${sql.identifier(String(table_schema))}.${sql.identifier(String(table_name))}`)).rows;
    dump[`${String(table_schema)}.${String(table_name)}`] = JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
  }
  return dump;
}
