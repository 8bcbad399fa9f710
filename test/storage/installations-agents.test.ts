import { describe, expect, it } from 'vitest';
import { NotFoundError, OptimisticLockError } from '../../operator/src/storage/errors.ts';
import { unique } from '../support/storage-fixtures.ts';
import { describeOnEachDriver } from '../support/test-databases.ts';

describeOnEachDriver('targets and agents', (database) => {
  describe('target installations', () => {
    it('inserts an installation when the caller saw none and refuses a second insert for the same target and app', async () => {
      const [target, app] = [unique('shop/web'), unique('app')];
      const installed = await database.repository.upsertTargetInstallation({
        target,
        app,
        version: 'v1',
        state: 'installed',
        installedAt: new Date('2026-03-01T10:00:00.000Z'),
      });

      expect(installed).toMatchObject({ target, app, version: 'v1', state: 'installed', backupCount: 0, lockVersion: 1 });
      const duplicate = database.repository.upsertTargetInstallation({ target, app, version: 'v9', state: 'failed' });
      await expect(duplicate).rejects.toBeInstanceOf(OptimisticLockError);
      await expect(duplicate).rejects.toMatchObject({ expectedLockVersion: null, actualLockVersion: 1 });
      expect(await database.repository.getTargetInstallation(target, app)).toEqual(installed);
    });

    it('updates an installation under optimistic locking', async () => {
      const [target, app] = [unique('shop/web'), unique('app')];
      const v1 = await database.repository.upsertTargetInstallation({ target, app, version: 'v1', state: 'installed' });
      const v2 = await database.repository.upsertTargetInstallation(
        { target, app, version: 'v2', previousVersion: 'v1', backupPath: '/var/backups/app/v1', backupCount: 1 },
        v1.lockVersion,
      );

      expect(v2).toMatchObject({ id: v1.id, version: 'v2', previousVersion: 'v1', state: 'installed', lockVersion: 2 });
      expect(v2).toMatchObject({ backupPath: '/var/backups/app/v1', backupCount: 1 });
      await expect(
        database.repository.upsertTargetInstallation({ target, app, state: 'uninstalled' }, v1.lockVersion),
      ).rejects.toBeInstanceOf(OptimisticLockError);
      await expect(
        database.repository.upsertTargetInstallation({ target, app: unique('never-installed'), state: 'installed' }, 1),
      ).rejects.toBeInstanceOf(NotFoundError);
    });

    it('lists the installations of a target by app', async () => {
      const target = unique('shop/host');
      const b = await database.repository.upsertTargetInstallation({ target, app: 'b-app', version: '2', state: 'installed' });
      const a = await database.repository.upsertTargetInstallation({ target, app: 'a-app', version: '1', state: 'failed' });
      await database.repository.upsertTargetInstallation({ target: unique('shop/other'), app: 'a-app', state: 'installed' });

      expect(await database.repository.listInstallationsOfTarget(target)).toEqual([a, b]);
    });

    it('gives every instance of an app and a summary of the versions running on them', async () => {
      const app = unique('app');
      const install = (target: string, version: string | null, state: 'installed' | 'failed' | 'uninstalled' | 'unknown') =>
        database.repository.upsertTargetInstallation({ target, app, version, state });
      const rows = [
        await install('shop/host-3', 'v2', 'installed'),
        await install('shop/host-1', 'v1', 'installed'),
        await install('shop/host-2', 'v2', 'installed'),
        await install('shop/host-4', 'v3', 'failed'),
        await install('shop/host-5', 'v1', 'uninstalled'),
        await install('shop/host-6', null, 'unknown'),
        await install('shop/host-7', '__proto__', 'installed'),
      ];

      const { instances, versions } = await database.repository.getInstancesOfApp(app);
      expect(instances.map((row) => row.target)).toEqual(rows.map((row) => row.target).sort());
      expect(versions).toEqual({ v1: 1, v2: 2, ['__proto__']: 1 });
      expect(Object.getPrototypeOf(versions)).toBe(Object.prototype);
      expect(await database.repository.getInstancesOfApp(unique('unknown-app'))).toEqual({ instances: [], versions: {} });
    });
  });

  describe('agents', () => {
    const register = (id = unique('agent'), credentialHash = 'sha256:first') =>
      database.repository.registerAgent({ id, namespace: 'shop', credentialHash, version: '0.1.0', capabilities: ['docker'] });

    it('registers an agent with its credential hash', async () => {
      const agent = await register();

      expect(agent).toMatchObject({
        namespace: 'shop',
        credentialHash: 'sha256:first',
        revokedAt: null,
        version: '0.1.0',
        capabilities: ['docker'],
        status: 'unknown',
        lastSeenAt: null,
        lockVersion: 1,
      });
      expect(agent.credentialIssuedAt).toBeInstanceOf(Date);
      expect(await database.repository.getAgent(agent.id)).toEqual(agent);
      expect(await database.repository.getAgent('no-such-agent')).toBeUndefined();
    });

    it('revokes an agent once, and registering it again issues a credential that is not revoked', async () => {
      const agent = await register();
      const revokedAt = new Date('2026-03-01T12:00:00.000Z');
      const revoked = await database.repository.revokeAgent(agent.id, revokedAt);
      expect(revoked).toMatchObject({ revokedAt, lockVersion: 2 });
      expect(await database.repository.revokeAgent(agent.id, new Date('2026-03-02T00:00:00.000Z'))).toEqual(revoked);

      const reissued = await register(agent.id, 'sha256:second');
      expect(reissued).toMatchObject({ id: agent.id, credentialHash: 'sha256:second', revokedAt: null, lockVersion: 3 });
      expect(reissued.credentialIssuedAt.getTime()).toBeGreaterThanOrEqual(agent.credentialIssuedAt.getTime());
      await expect(database.repository.revokeAgent('no-such-agent')).rejects.toBeInstanceOf(NotFoundError);
    });

    it('records heartbeats without touching the lock version and ignores one delivered late', async () => {
      const agent = await register();
      const seen = new Date('2026-03-01T10:00:00.000Z');
      const beat = await database.repository.recordAgentHeartbeat(agent.id, { seenAt: seen, version: '0.2.0' });
      expect(beat).toMatchObject({ status: 'online', lastSeenAt: seen, version: '0.2.0', lockVersion: agent.lockVersion });

      const late = await database.repository.recordAgentHeartbeat(agent.id, {
        seenAt: new Date('2026-03-01T09:59:00.000Z'),
        version: '0.0.1',
      });
      expect(late).toEqual(beat);

      const now = await database.repository.recordAgentHeartbeat(agent.id);
      expect(now.lastSeenAt!.getTime()).toBeGreaterThan(seen.getTime());
      await expect(database.repository.recordAgentHeartbeat('no-such-agent')).rejects.toBeInstanceOf(NotFoundError);
    });

    it('marks an agent offline without changing when it was last seen', async () => {
      const agent = await register();
      const beat = await database.repository.recordAgentHeartbeat(agent.id, { seenAt: new Date('2026-03-01T10:00:00.000Z') });
      const offline = await database.repository.setAgentStatus(agent.id, 'offline');

      expect(offline).toMatchObject({ status: 'offline', lastSeenAt: beat.lastSeenAt });
      await expect(database.repository.setAgentStatus('no-such-agent', 'offline')).rejects.toBeInstanceOf(NotFoundError);
    });

    it('lists agents, optionally of one namespace', async () => {
      const namespace = unique('ns');
      const b = await database.repository.registerAgent({ id: unique('b-agent'), namespace, credentialHash: 'h' });
      const a = await database.repository.registerAgent({ id: unique('a-agent'), namespace, credentialHash: 'h' });

      expect(await database.repository.listAgents({ namespace })).toEqual([a, b].sort((x, y) => x.id.localeCompare(y.id)));
      expect((await database.repository.listAgents()).map((agent) => agent.id)).toEqual(expect.arrayContaining([a.id, b.id]));
    });
  });
});
