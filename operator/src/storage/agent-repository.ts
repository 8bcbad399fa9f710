import { and, asc, eq, isNull, lte, or, sql, type SQL } from 'drizzle-orm';
import type { Database } from './database.ts';
import { dbNow } from './clock.ts';
import { NotFoundError } from './errors.ts';
import { bumpVersion } from './row-writes.ts';
import { agents, type Agent } from './schema.ts';
import type { AgentStatus } from './status-values.ts';

export interface AgentRegistration {
  id: string;
  namespace: string;
  /** Hash of the issued credential; the credential itself is never stored. */
  credentialHash: string;
  credentialIssuedAt?: Date;
  version?: string | null;
  capabilities?: string[];
}

export interface AgentHeartbeat {
  status?: AgentStatus;
  version?: string | null;
  /** When the agent was seen; defaults to the database clock. */
  seenAt?: Date;
}

const timestamp = (value: Date | undefined): SQL => (value ? sql`${value.toISOString()}::timestamptz` : dbNow);

export function agentRepository(db: Database) {
  const getAgent = async (id: string): Promise<Agent | undefined> =>
    (await db.select().from(agents).where(eq(agents.id, id)))[0];

  const existing = async (id: string): Promise<Agent> => {
    const row = await getAgent(id);
    if (!row) throw new NotFoundError('agents', id);
    return row;
  };

  return {
    getAgent,

    listAgents: (options: { namespace?: string } = {}): Promise<Agent[]> =>
      db
        .select()
        .from(agents)
        .where(options.namespace === undefined ? undefined : eq(agents.namespace, options.namespace))
        .orderBy(asc(agents.id)),

    /**
     * Create the agent or re-issue its credential. A new credential replaces the old one, so an earlier
     * revocation (which was of the old credential) is cleared.
     */
    registerAgent: async (input: AgentRegistration): Promise<Agent> => {
      const issuedAt = timestamp(input.credentialIssuedAt);
      const values = {
        id: input.id,
        namespace: input.namespace,
        credentialHash: input.credentialHash,
        credentialIssuedAt: issuedAt,
        version: input.version ?? null,
        capabilities: input.capabilities ?? [],
      };
      const [row] = await db
        .insert(agents)
        .values(values)
        .onConflictDoUpdate({
          target: agents.id,
          set: {
            namespace: input.namespace,
            credentialHash: input.credentialHash,
            credentialIssuedAt: issuedAt,
            revokedAt: null,
            ...(input.version !== undefined && { version: input.version }),
            ...(input.capabilities !== undefined && { capabilities: input.capabilities }),
            ...bumpVersion(agents),
          },
        })
        .returning();
      // INSERT ... ON CONFLICT DO UPDATE returns the row in both cases.
      return row!;
    },

    /**
     * Heartbeats are frequent and last-writer-wins, so they take no lock and leave lock_version alone (bumping
     * it would make every locked agent update race the next heartbeat). One older than the last one seen
     * (delivered late) changes nothing.
     */
    recordAgentHeartbeat: async (id: string, heartbeat: AgentHeartbeat = {}): Promise<Agent> => {
      const seenAt = timestamp(heartbeat.seenAt);
      const [row] = await db
        .update(agents)
        .set({
          lastSeenAt: seenAt,
          status: heartbeat.status ?? 'online',
          ...(heartbeat.version !== undefined && { version: heartbeat.version }),
          updatedAt: dbNow,
        })
        .where(and(eq(agents.id, id), or(isNull(agents.lastSeenAt), lte(agents.lastSeenAt, seenAt))))
        .returning();
      return row ?? existing(id);
    },

    /** For the operator's own view (e.g. offline after missed heartbeats); does not touch last_seen_at. */
    setAgentStatus: async (id: string, status: AgentStatus): Promise<Agent> => {
      const [row] = await db.update(agents).set({ status, updatedAt: dbNow }).where(eq(agents.id, id)).returning();
      return row ?? existing(id);
    },

    /** Idempotent: revoking a revoked agent keeps the first revocation time. */
    revokeAgent: async (id: string, at?: Date): Promise<Agent> => {
      const [row] = await db
        .update(agents)
        .set({ revokedAt: timestamp(at), ...bumpVersion(agents) })
        .where(and(eq(agents.id, id), isNull(agents.revokedAt)))
        .returning();
      return row ?? existing(id);
    },
  };
}

export type AgentRepository = ReturnType<typeof agentRepository>;
