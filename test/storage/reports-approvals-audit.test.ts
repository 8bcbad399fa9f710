import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { NotFoundError, OptimisticLockError, StateConflictError } from '../../operator/src/storage/errors.ts';
import { approvals, auditEvents, statusReports, type NewStatusReport } from '../../operator/src/storage/schema.ts';
import { releaseInput, unique } from '../support/storage-fixtures.ts';
import { describeOnEachDriver } from '../support/test-databases.ts';

const at = (time: string) => new Date(`2026-03-01T${time}.000Z`);

describeOnEachDriver('reports, approvals and audit events', (database) => {
  describe('status reports', () => {
    const report = (overrides: Partial<NewStatusReport> & Pick<NewStatusReport, 'target'>): NewStatusReport => ({
      dedupKey: unique('report'),
      agentId: 'agent-1',
      status: 'running',
      ...overrides,
    });

    it('stores a report resent by the agent only once', async () => {
      const input = report({ target: unique('shop/web'), progress: 40, metrics: { cpu: 0.4 } });
      const first = await database.repository.recordStatusReport(input);

      expect(await database.repository.recordStatusReport({ ...input, progress: 90 })).toEqual(first);
      expect(await database.db.$count(statusReports, eq(statusReports.dedupKey, input.dedupKey))).toBe(1);
      expect(first).toMatchObject({ progress: 40, metrics: { cpu: 0.4 } });
    });

    it('gives the latest report of every target, overall or within one release', async () => {
      const [r1, r2] = [
        await database.repository.upsertRelease(releaseInput()),
        await database.repository.upsertRelease(releaseInput()),
      ];
      const [a, b] = [unique('shop/a'), unique('shop/b')];
      const record = (target: string, releaseId: string, time: string, extra: Partial<NewStatusReport> = {}) =>
        database.repository.recordStatusReport(report({ target, releaseId, reportedAt: at(time), ...extra }));
      await record(a, r1.id, '10:00:00', { progress: 10 });
      const aInR1 = await record(a, r1.id, '10:05:00', { progress: 100, status: 'succeeded' });
      const aInR2 = await record(a, r2.id, '11:00:00');
      // Recorded last but reported earliest: arrival order must not matter.
      const bInR1 = await record(b, r1.id, '09:00:00');

      const mine = (rows: { target: string }[]) => rows.filter((row) => row.target === a || row.target === b);
      expect(mine(await database.repository.listLatestReportPerTarget())).toEqual([aInR2, bInR1]);
      expect(await database.repository.listLatestReportPerTarget({ releaseId: r1.id })).toEqual([aInR1, bInR1]);
      expect(await database.repository.listLatestReportPerTarget({ releaseId: r2.id })).toEqual([aInR2]);
      expect((await database.repository.listReportsOfTarget(a, { limit: 2 })).map((row) => row.id)).toEqual([aInR2.id, aInR1.id]);
    });

    it('rejects a progress outside 0-100 at the database', async () => {
      await expect(database.repository.recordStatusReport(report({ target: 'shop/x', progress: 150 }))).rejects.toThrow();
    });
  });

  describe('approvals', () => {
    const approvalFor = async (overrides: { step?: number } = {}) => {
      const release = await database.repository.upsertRelease(releaseInput());
      const input = {
        dedupKey: unique('approval'),
        releaseId: release.id,
        environment: 'prod',
        approvers: ['bob', 'carol'],
        ...overrides,
      };
      return { release, input, approval: await database.repository.recordApproval(input) };
    };

    it('records an approval request once per dedup key', async () => {
      const { input, approval } = await approvalFor({ step: 2 });

      expect(approval).toMatchObject({ status: 'pending', step: 2, approvers: ['bob', 'carol'], decidedBy: null, lockVersion: 1 });
      expect(await database.repository.recordApproval({ ...input, approvers: [] })).toEqual(approval);
      expect(await database.db.$count(approvals, eq(approvals.dedupKey, input.dedupKey))).toBe(1);
      expect(await database.repository.getApproval(approval.id)).toEqual(approval);
    });

    it('decides a pending approval once, with the actor and comment', async () => {
      const { release, approval } = await approvalFor();
      const decidedAt = at('12:00:00');
      const approved = await database.repository.decideApproval(approval.id, 1, {
        status: 'approved',
        decidedBy: 'bob',
        comment: 'looks good',
        decidedAt,
      });

      expect(approved).toMatchObject({ status: 'approved', decidedBy: 'bob', comment: 'looks good', decidedAt, lockVersion: 2 });
      const again = database.repository.decideApproval(approval.id, approved.lockVersion, { status: 'rejected', decidedBy: 'carol' });
      await expect(again).rejects.toBeInstanceOf(StateConflictError);
      await expect(again).rejects.toMatchObject({ table: 'approvals', expectedState: 'pending', actualState: 'approved' });
      expect(await database.repository.listPendingApprovals(release.id)).toEqual([]);
    });

    it('refuses a decision made from a stale read of a pending approval, and a missing one', async () => {
      const { approval } = await approvalFor();
      await expect(database.repository.decideApproval(approval.id, 7, { status: 'approved' })).rejects.toBeInstanceOf(
        OptimisticLockError,
      );
      await expect(
        database.repository.decideApproval('00000000-0000-4000-8000-000000000000', 1, { status: 'expired' }),
      ).rejects.toBeInstanceOf(NotFoundError);
      const expired = await database.repository.decideApproval(approval.id, 1, { status: 'expired' });
      expect(expired.decidedAt).toBeInstanceOf(Date);
    });

    it('lists the pending approvals of a release and all of them', async () => {
      const { release, approval: first } = await approvalFor();
      const second = await database.repository.recordApproval({
        dedupKey: unique('approval'),
        releaseId: release.id,
        environment: 'prod',
        step: 1,
      });
      const rejected = await database.repository.decideApproval(first.id, 1, { status: 'rejected', decidedBy: 'carol' });

      expect(await database.repository.listPendingApprovals(release.id)).toEqual([second]);
      expect(await database.repository.listApprovalsOfRelease(release.id)).toEqual([rejected, second]);
    });
  });

  describe('audit events', () => {
    it('records an action once per dedup key and lists a release\'s actions by time of occurrence', async () => {
      const release = await database.repository.upsertRelease(releaseInput());
      const base = { kind: 'Release', namespace: release.namespace, name: release.name, releaseId: release.id };
      const later = await database.repository.recordAuditEvent({
        ...base,
        dedupKey: unique('audit'),
        action: 'approve',
        actor: 'bob',
        comment: 'ok',
        details: { environment: 'prod' },
        occurredAt: at('10:00:00'),
      });
      const earlierInput = { ...base, dedupKey: unique('audit'), action: 'start', actor: 'alice', occurredAt: at('09:00:00') };
      const earlier = await database.repository.recordAuditEvent(earlierInput);

      expect(await database.repository.recordAuditEvent({ ...earlierInput, actor: 'mallory' })).toEqual(earlier);
      expect(await database.db.$count(auditEvents, eq(auditEvents.dedupKey, earlierInput.dedupKey))).toBe(1);
      expect(await database.repository.listAuditEventsOfRelease(release.id)).toEqual([earlier, later]);
      expect(later.details).toEqual({ environment: 'prod' });
    });

    it('lists the actions on one object, including those not tied to a release', async () => {
      const name = unique('web-prod');
      const target = { kind: 'Target', namespace: 'shop', name };
      const retry = await database.repository.recordAuditEvent({
        ...target,
        dedupKey: unique('audit'),
        action: 'retry',
        actor: 'alice',
        target: `shop/${name}`,
      });
      const otherKind = { ...target, kind: 'ReleaseApp' };
      await database.repository.recordAuditEvent({ ...otherKind, dedupKey: unique('audit'), action: 'switch-version' });

      expect(await database.repository.listAuditEventsOfObject(target)).toEqual([retry]);
      expect(retry.releaseId).toBeNull();
      expect(retry.occurredAt).toBeInstanceOf(Date);
    });
  });
});
