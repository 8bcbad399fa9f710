import { sql } from 'drizzle-orm';

/**
 * The database's clock for created/updated timestamps. clock_timestamp() rather than now(): now() is frozen
 * at transaction start, so rows written in one transaction would share a timestamp and history ordered by
 * time would lose their order.
 */
export const dbNow = sql`clock_timestamp()`;
