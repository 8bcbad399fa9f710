import { desc, eq } from 'drizzle-orm';
import type { Database } from './database.ts';
import { insertOnce } from './row-writes.ts';
import { statusReports, type NewStatusReport, type StatusReport } from './schema.ts';

export function statusReportRepository(db: Database) {
  return {
    /** Reports are append-only; the agent's message id is the dedup key, so a resent report is stored once. */
    recordStatusReport: (input: NewStatusReport): Promise<StatusReport> =>
      insertOnce(
        'status_reports',
        input.dedupKey,
        db.insert(statusReports).values(input).onConflictDoNothing({ target: statusReports.dedupKey }).returning(),
        async () => (await db.select().from(statusReports).where(eq(statusReports.dedupKey, input.dedupKey)))[0],
      ),

    /** The newest report of every target (of one release when given), ordered by target. */
    listLatestReportPerTarget: (options: { releaseId?: string } = {}): Promise<StatusReport[]> =>
      db
        .selectDistinctOn([statusReports.target])
        .from(statusReports)
        .where(options.releaseId === undefined ? undefined : eq(statusReports.releaseId, options.releaseId))
        .orderBy(statusReports.target, desc(statusReports.reportedAt), desc(statusReports.id)),

    /** Reports of one target, newest first. */
    listReportsOfTarget: (target: string, options: { limit?: number } = {}): Promise<StatusReport[]> =>
      db
        .select()
        .from(statusReports)
        .where(eq(statusReports.target, target))
        .orderBy(desc(statusReports.reportedAt), desc(statusReports.id))
        .limit(options.limit ?? 100),
  };
}

export type StatusReportRepository = ReturnType<typeof statusReportRepository>;
