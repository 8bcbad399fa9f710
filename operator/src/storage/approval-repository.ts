import { and, asc, eq } from 'drizzle-orm';
import type { Database } from './database.ts';
import { dbNow } from './clock.ts';
import { NotFoundError, OptimisticLockError, StateConflictError } from './errors.ts';
import { bumpVersion, byIdAndVersion, insertOnce } from './row-writes.ts';
import { approvals, type Approval, type NewApproval } from './schema.ts';

export interface ApprovalDecision {
  status: 'approved' | 'rejected' | 'expired';
  decidedBy?: string | null;
  comment?: string | null;
  /** Defaults to the database clock. */
  decidedAt?: Date;
}

export function approvalRepository(db: Database) {
  const getApproval = async (id: string): Promise<Approval | undefined> =>
    (await db.select().from(approvals).where(eq(approvals.id, id)))[0];

  return {
    getApproval,

    recordApproval: (input: NewApproval): Promise<Approval> =>
      insertOnce(
        'approvals',
        input.dedupKey,
        db.insert(approvals).values(input).onConflictDoNothing({ target: approvals.dedupKey }).returning(),
        async () => (await db.select().from(approvals).where(eq(approvals.dedupKey, input.dedupKey)))[0],
      ),

    /** A decision is final: only a pending approval can be decided, and only by a caller that saw its current version. */
    decideApproval: async (id: string, expectedLockVersion: number, decision: ApprovalDecision): Promise<Approval> => {
      const [row] = await db
        .update(approvals)
        .set({
          status: decision.status,
          decidedBy: decision.decidedBy ?? null,
          comment: decision.comment ?? null,
          decidedAt: decision.decidedAt ?? dbNow,
          ...bumpVersion(approvals),
        })
        .where(and(byIdAndVersion(approvals, id, expectedLockVersion), eq(approvals.status, 'pending')))
        .returning();
      if (row) return row;
      const current = await getApproval(id);
      if (!current) throw new NotFoundError('approvals', id);
      // A decided approval is reported as such even when the version moved too: that is what the caller must learn.
      if (current.status !== 'pending') throw new StateConflictError('approvals', id, 'pending', current.status);
      throw new OptimisticLockError('approvals', id, expectedLockVersion, current.lockVersion);
    },

    listPendingApprovals: (releaseId: string): Promise<Approval[]> =>
      db
        .select()
        .from(approvals)
        .where(and(eq(approvals.releaseId, releaseId), eq(approvals.status, 'pending')))
        .orderBy(asc(approvals.createdAt), asc(approvals.id)),

    listApprovalsOfRelease: (releaseId: string): Promise<Approval[]> =>
      db
        .select()
        .from(approvals)
        .where(eq(approvals.releaseId, releaseId))
        .orderBy(asc(approvals.createdAt), asc(approvals.id)),
  };
}

export type ApprovalRepository = ReturnType<typeof approvalRepository>;
