import { and, asc, eq } from 'drizzle-orm';
import type { Database } from './database.ts';
import { insertOnce } from './row-writes.ts';
import { auditEvents, type AuditEvent, type NewAuditEvent } from './schema.ts';

export interface ObjectRef {
  kind: string;
  namespace: string;
  name: string;
}

export function auditEventRepository(db: Database) {
  return {
    /**
     * Actions arrive as annotations that may be seen more than once (resync, restart): the dedup key (e.g. the
     * object's uid, action and resourceVersion) makes recording one idempotent.
     */
    recordAuditEvent: (input: NewAuditEvent): Promise<AuditEvent> =>
      insertOnce(
        'audit_events',
        input.dedupKey,
        db.insert(auditEvents).values(input).onConflictDoNothing({ target: auditEvents.dedupKey }).returning(),
        async () => (await db.select().from(auditEvents).where(eq(auditEvents.dedupKey, input.dedupKey)))[0],
      ),

    /**
     * Records the event unless its dedup key is known, and says whether this call recorded it: the caller
     * does the one-off work (a notification) only then.
     */
    claimAuditEvent: async (input: NewAuditEvent): Promise<boolean> =>
      (await db.insert(auditEvents).values(input).onConflictDoNothing({ target: auditEvents.dedupKey }).returning({ id: auditEvents.id })).length > 0,

    listAuditEventsOfRelease: (releaseId: string): Promise<AuditEvent[]> =>
      db
        .select()
        .from(auditEvents)
        .where(eq(auditEvents.releaseId, releaseId))
        .orderBy(asc(auditEvents.occurredAt), asc(auditEvents.id)),

    listAuditEventsOfObject: (object: ObjectRef): Promise<AuditEvent[]> =>
      db
        .select()
        .from(auditEvents)
        .where(
          and(
            eq(auditEvents.namespace, object.namespace),
            eq(auditEvents.kind, object.kind),
            eq(auditEvents.name, object.name),
          ),
        )
        .orderBy(asc(auditEvents.occurredAt), asc(auditEvents.id)),
  };
}

export type AuditEventRepository = ReturnType<typeof auditEventRepository>;
