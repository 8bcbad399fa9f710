/**
 * Agent credentials: the operator issues one bearer token per agent id, hands it over as a Kubernetes
 * Secret (`shipway-agent-<id>`, which also carries the CA of the operator's QUIC endpoint, so the Secret is
 * all an agent host needs), and keeps only its SHA-256 in the database. A token is 32 random bytes, so a
 * plain hash is enough (no password stretching: nothing to guess). Revoked agents are refused at hello
 * and not given a new token until one is issued on purpose.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { isNotFound } from '../kubernetes/api-errors.ts';
import type { Repository } from '../storage/index.ts';

export const credentialSecretName = (agentId: string) => `shipway-agent-${agentId}`;
const TOKEN_PREFIX = 'swa_';

export function newToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time comparison of a presented token with a stored hash. */
export function tokenMatches(token: string, hash: string): boolean {
  const presented = Buffer.from(tokenHash(token), 'hex');
  const stored = Buffer.from(hash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

export type CredentialCheck = { ok: true } | { ok: false; reason: string };

export interface AgentCredentialsOptions {
  core: CoreV1Api;
  repo: Repository;
  /** Where the credential Secrets live (the operator's namespace). */
  namespace: string;
  /** PEM of the CA that signed the operator's QUIC certificate, written into each credential Secret. */
  caPem: () => string;
  log?: (message: string) => void;
}

export class AgentCredentials {
  /**
   * The last ensure/issue/revoke of each agent id. They run one at a time per agent: several Targets name the
   * same agent and are reconciled concurrently, and two issues interleaving (hash A, hash B, Secret B,
   * Secret A) would leave a Secret whose token the database does not know, refusing the agent.
   */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly o: AgentCredentialsOptions) {}

  private serialized<T>(agentId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(agentId) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.then(() => undefined, () => undefined);
    this.queues.set(agentId, settled);
    void settled.then(() => {
      if (this.queues.get(agentId) === settled) this.queues.delete(agentId);
    });
    return next;
  }

  /**
   * Makes sure an agent named by a Target has a credential: issues one when the agent is unknown or its
   * Secret is gone (deleting the Secret rotates the token). A revoked agent gets none until `issue`.
   */
  ensure(agentId: string): Promise<'issued' | 'exists' | 'revoked'> {
    return this.serialized(agentId, () => this.ensureNow(agentId));
  }

  private async ensureNow(agentId: string): Promise<'issued' | 'exists' | 'revoked'> {
    const row = await this.o.repo.getAgent(agentId);
    if (row?.revokedAt) return 'revoked';
    const secret = await this.readSecret(agentId);
    if (row && secret?.data?.token && tokenMatches(Buffer.from(secret.data.token, 'base64').toString('utf8'), row.credentialHash)) {
      if (Buffer.from(secret.data['ca.crt'] ?? '', 'base64').toString('utf8') !== this.o.caPem()) await this.writeSecret(agentId, Buffer.from(secret.data.token, 'base64').toString('utf8'));
      return 'exists';
    }
    await this.issueNow(agentId);
    return 'issued';
  }

  /** A new token for the agent (replacing any old one and clearing a revocation); returns it. */
  issue(agentId: string): Promise<string> {
    return this.serialized(agentId, () => this.issueNow(agentId));
  }

  private async issueNow(agentId: string): Promise<string> {
    const token = newToken();
    // The database first: a Secret with a token the database does not know would let nobody in; the
    // reverse (a hash without its Secret yet) is repaired by the next ensure.
    await this.o.repo.registerAgent({ id: agentId, namespace: this.o.namespace, credentialHash: tokenHash(token) });
    await this.writeSecret(agentId, token);
    this.o.log?.(`agent ${agentId}: credential issued (Secret ${this.o.namespace}/${credentialSecretName(agentId)})`);
    return token;
  }

  /** Refuses the agent from now on; its Secret is deleted so the token is gone from the cluster too. */
  revoke(agentId: string): Promise<void> {
    return this.serialized(agentId, () => this.revokeNow(agentId));
  }

  private async revokeNow(agentId: string): Promise<void> {
    if (!(await this.o.repo.getAgent(agentId))) throw new Error(`agent ${agentId} is not known`);
    await this.o.repo.revokeAgent(agentId);
    try {
      await this.o.core.deleteNamespacedSecret({ name: credentialSecretName(agentId), namespace: this.o.namespace });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    this.o.log?.(`agent ${agentId}: credential revoked`);
  }

  async verify(agentId: string, token: string): Promise<CredentialCheck> {
    const row = await this.o.repo.getAgent(agentId);
    // One answer for "unknown" and "wrong": a caller must not learn which agent ids exist.
    if (!row || !tokenMatches(token, row.credentialHash)) return { ok: false, reason: 'unknown agent or wrong credential' };
    if (row.revokedAt) return { ok: false, reason: 'the credential of this agent has been revoked' };
    return { ok: true };
  }

  private async readSecret(agentId: string): Promise<V1Secret | undefined> {
    try {
      return await this.o.core.readNamespacedSecret({ name: credentialSecretName(agentId), namespace: this.o.namespace });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async writeSecret(agentId: string, token: string): Promise<void> {
    const name = credentialSecretName(agentId);
    const body: V1Secret = {
      metadata: { name, namespace: this.o.namespace, labels: { 'app.kubernetes.io/managed-by': 'shipway', 'shipway.dev/agent': agentId } },
      type: 'Opaque',
      stringData: { 'agent-id': agentId, token, 'ca.crt': this.o.caPem() },
    };
    try {
      await this.o.core.replaceNamespacedSecret({ name, namespace: this.o.namespace, body });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await this.o.core.createNamespacedSecret({ namespace: this.o.namespace, body });
    }
  }
}
