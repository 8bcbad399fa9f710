/**
 * The Target controller's view of agents: credentials issued on first mention, liveness from the agent hub
 * (connected now) and the history (last heartbeat, version, revocation), installed apps per target.
 */
import type { AgentDirectory, AgentView } from '../controllers/target-controller.ts';
import type { Repository } from '../storage/index.ts';
import type { AgentCredentials } from './agent-credentials.ts';

export interface AgentDirectoryOptions {
  repo: Repository;
  credentials: AgentCredentials;
  heartbeatSeconds: number;
  /** Whether the agent has a live session with this operator. */
  isConnected: (agentId: string) => boolean;
}

export function createAgentDirectory(o: AgentDirectoryOptions): AgentDirectory {
  return {
    ensureCredential: (agentId) => o.credentials.ensure(agentId),
    async view(agentId: string, target: string): Promise<AgentView | undefined> {
      const row = await o.repo.getAgent(agentId);
      if (!row) return undefined;
      const installations = await o.repo.listInstallationsOfTarget(target);
      return {
        connected: o.isConnected(agentId),
        ...(row.lastSeenAt ? { lastSeenAt: row.lastSeenAt } : {}),
        ...(row.version ? { version: row.version } : {}),
        revoked: row.revokedAt !== null,
        heartbeatSeconds: o.heartbeatSeconds,
        installations: installations.map((i) => ({ app: i.app, state: i.state, ...(i.version ? { version: i.version } : {}), ...(i.updatedAt ? { updatedAt: i.updatedAt } : {}) })),
      };
    },
  };
}
