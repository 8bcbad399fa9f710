import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentCredentials, credentialSecretName, newToken, tokenHash, tokenMatches } from '../../operator/src/agents/agent-credentials.ts';
import { createRepository, type Repository } from '../../operator/src/storage/index.ts';
import { startEmulator, type RunningEmulator } from '../kube-api/emulator.ts';
import { openScratchDatabase, postgresRequired, postgresUrl, type ScratchDatabase } from '../support/test-databases.ts';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('agent credentials', () => {
  let emulator: RunningEmulator;
  let database: ScratchDatabase;
  let repo: Repository;
  let core: CoreV1Api;
  let credentials: AgentCredentials;
  let ca = CA;
  const token = async (agentId: string) => {
    const secret = await core.readNamespacedSecret({ name: credentialSecretName(agentId), namespace: 'shipway-system' });
    return Buffer.from(secret.data!.token!, 'base64').toString('utf8');
  };

  beforeAll(async () => {
    [emulator, database] = await Promise.all([startEmulator(), openScratchDatabase(postgresUrl() || postgresRequired() ? 'pg' : 'pglite')]);
    const kc = new KubeConfig();
    kc.loadFromString(emulator.kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'shipway-system' } } });
    repo = createRepository(database.db);
    credentials = new AgentCredentials({ core, repo, namespace: 'shipway-system', caPem: () => ca });
  }, 60_000);
  afterAll(async () => {
    await emulator?.stop();
    await database?.dispose();
  });

  it('makes tokens that match only their own hash', () => {
    const a = newToken();
    const b = newToken();
    expect(a).toMatch(/^swa_[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(tokenMatches(a, tokenHash(a))).toBe(true);
    expect(tokenMatches(b, tokenHash(a))).toBe(false);
    expect(tokenMatches(a, 'not-hex')).toBe(false);
  });

  it('issues a token into a Secret with the CA, and keeps only its hash in the database', async () => {
    expect(await credentials.ensure('edge-1')).toBe('issued');
    const secret = await core.readNamespacedSecret({ name: 'shipway-agent-edge-1', namespace: 'shipway-system' });
    const data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    expect(data['agent-id']).toBe('edge-1');
    expect(data['ca.crt']).toBe(CA);
    const row = await repo.getAgent('edge-1');
    expect(row!.credentialHash).toBe(tokenHash(data.token!));
    expect(JSON.stringify(row)).not.toContain(data.token);
    expect(await credentials.verify('edge-1', data.token!)).toEqual({ ok: true });
    expect(await credentials.ensure('edge-1')).toBe('exists');
    expect(await token('edge-1')).toBe(data.token);
  });

  it.each([
    ['a wrong token', 'edge-2', () => newToken()],
    ['an unknown agent', 'nobody', () => newToken()],
  ])('refuses %s with the same answer', async (_what, agentId, presented) => {
    await credentials.ensure('edge-2');
    expect(await credentials.verify(agentId, presented())).toEqual({ ok: false, reason: 'unknown agent or wrong credential' });
  });

  it('rotates the token when its Secret is deleted, and the old one stops working', async () => {
    await credentials.ensure('edge-3');
    const old = await token('edge-3');
    await core.deleteNamespacedSecret({ name: 'shipway-agent-edge-3', namespace: 'shipway-system' });
    expect(await credentials.ensure('edge-3')).toBe('issued');
    const fresh = await token('edge-3');
    expect(fresh).not.toBe(old);
    expect((await credentials.verify('edge-3', old)).ok).toBe(false);
    expect((await credentials.verify('edge-3', fresh)).ok).toBe(true);
  });

  it('refuses a revoked agent, issues it nothing by itself, and lets it in again only with a new token', async () => {
    await credentials.ensure('edge-4');
    const old = await token('edge-4');
    await credentials.revoke('edge-4');
    expect(await credentials.verify('edge-4', old)).toEqual({ ok: false, reason: 'the credential of this agent has been revoked' });
    await expect(core.readNamespacedSecret({ name: 'shipway-agent-edge-4', namespace: 'shipway-system' })).rejects.toThrow();
    expect(await credentials.ensure('edge-4')).toBe('revoked');
    const fresh = await credentials.issue('edge-4');
    expect((await credentials.verify('edge-4', fresh)).ok).toBe(true);
    expect((await credentials.verify('edge-4', old)).ok).toBe(false);
  });

  it('issues one credential when several Targets naming the same agent are reconciled at once', async () => {
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => credentials.ensure('edge-6')));
    expect(outcomes.filter((o) => o === 'issued')).toHaveLength(1);
    expect((await credentials.verify('edge-6', await token('edge-6'))).ok).toBe(true);
  });

  it('rewrites the Secret when the CA changes, keeping the token', async () => {
    await credentials.ensure('edge-5');
    const before = await token('edge-5');
    ca = CA.replace('MIIB', 'MIIC');
    expect(await credentials.ensure('edge-5')).toBe('exists');
    const secret = await core.readNamespacedSecret({ name: 'shipway-agent-edge-5', namespace: 'shipway-system' });
    expect(Buffer.from(secret.data!['ca.crt']!, 'base64').toString('utf8')).toBe(ca);
    expect(await token('edge-5')).toBe(before);
    ca = CA;
  });
});
