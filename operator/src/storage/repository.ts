import type { Database } from './database.ts';
import { agentRepository, type AgentRepository } from './agent-repository.ts';
import { approvalRepository, type ApprovalRepository } from './approval-repository.ts';
import { auditEventRepository, type AuditEventRepository } from './audit-event-repository.ts';
import { deploymentRepository, type DeploymentRepository } from './deployment-repository.ts';
import { historyRepository, type HistoryRepository } from './history-repository.ts';
import { releaseAppRepository, type ReleaseAppRepository } from './release-app-repository.ts';
import { releaseRepository, type ReleaseRepository } from './release-repository.ts';
import { stageRunRepository, type StageRunRepository } from './stage-run-repository.ts';
import { statusReportRepository, type StatusReportRepository } from './status-report-repository.ts';
import { targetInstallationRepository, type TargetInstallationRepository } from './target-installation-repository.ts';
import { taskRunRepository, type TaskRunRepository } from './task-run-repository.ts';

export interface Repository
  extends ReleaseRepository,
    ReleaseAppRepository,
    DeploymentRepository,
    StageRunRepository,
    TaskRunRepository,
    StatusReportRepository,
    ApprovalRepository,
    AuditEventRepository,
    TargetInstallationRepository,
    AgentRepository,
    HistoryRepository {
  /**
   * Run `work` with a repository bound to one transaction: it commits when `work` resolves and rolls back
   * everything when it throws. Nested calls become savepoints.
   */
  transaction<T>(work: (tx: Repository) => Promise<T>): Promise<T>;
}

export function createRepository(db: Database): Repository {
  return {
    ...releaseRepository(db),
    ...releaseAppRepository(db),
    ...deploymentRepository(db),
    ...stageRunRepository(db),
    ...taskRunRepository(db),
    ...statusReportRepository(db),
    ...approvalRepository(db),
    ...auditEventRepository(db),
    ...targetInstallationRepository(db),
    ...agentRepository(db),
    ...historyRepository(db),
    transaction: (work) => db.transaction((tx) => work(createRepository(tx))),
  };
}
