/**
 * `history --database-url`: the full history from the operator's PostgreSQL database, through the
 * repository — every deployment with its operation and superseded flag, and the audit log's actions. With
 * `--uid` the cluster is not asked, as for a Release retention has deleted. Needs PostgreSQL (DATABASE_URL;
 * `make test` starts a throwaway server), like the storage tests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../operator/src/cli/main.ts';
import { createRepository } from '../../operator/src/storage/index.ts';
import { deploymentInput, releaseAppInput, releaseInput } from '../support/storage-fixtures.ts';
import { openScratchDatabase, postgresRequired, postgresUrl, type ScratchDatabase } from '../support/test-databases.ts';

describe.skipIf(!postgresUrl() && !postgresRequired())('history from the database', () => {
  let database: ScratchDatabase;
  beforeAll(async () => {
    database = await openScratchDatabase('pg');
  }, 60_000);
  afterAll(async () => {
    await database?.dispose();
  });

  it('lists every deployment, superseded ones too, and every action, without asking the cluster', async () => {
    const repo = createRepository(database.db);
    const release = await repo.upsertRelease(releaseInput({ name: 'r', namespace: 'shop', version: '1.1.0' }));
    const app = await repo.recordReleaseApp(releaseAppInput(release, { name: 'r-web', app: 'web', version: '1.1.0' }));
    const first = await repo.recordDeployment(deploymentInput(release, app, { target: 'shop/web-pre', version: '1.1.0', previousVersion: '1.0.0', status: 'succeeded', superseded: true, startedAt: new Date('2026-01-01T10:00:00Z'), finishedAt: new Date('2026-01-01T10:00:30Z') }));
    await repo.recordDeployment(deploymentInput(release, app, { target: 'shop/web-pre', version: '1.2.0', previousVersion: '1.0.0', status: 'succeeded', startedAt: new Date('2026-01-01T10:05:00Z'), finishedAt: new Date('2026-01-01T10:05:12Z') }));
    await repo.recordAuditEvent({ dedupKey: `${first.id}/switch`, kind: 'ReleaseApp', namespace: 'shop', name: 'r-web', releaseId: release.id, action: 'switch-version', actor: 'dev', comment: null, target: null, details: { result: 'Applied', message: 'switched to 1.2.0' } });

    const out: string[] = [];
    const err: string[] = [];
    const run = (...args: string[]) => main(['history', 'r', '-n', 'shop', '--database-url', database.url!, '--uid', release.uid, '--kubeconfig', '/nonexistent', ...args], { out: (l) => out.push(l), err: (l) => err.push(l) });
    expect(await run('-o', 'json')).toBe(0);
    const report = JSON.parse(out.join('\n')) as { source: string; deployments: { target: string; version: string; status: string; superseded: boolean; durationSeconds: number }[]; actions: { object: string; action: string; actor: string; result: string }[] };
    expect(report.source).toBe('database');
    expect(report.deployments.map((d) => `${d.target}:${d.version}:${d.status}:${d.superseded}:${d.durationSeconds}`)).toEqual(['web-pre:1.1.0:succeeded:true:30', 'web-pre:1.2.0:succeeded:false:12']);
    expect(report.actions).toEqual([expect.objectContaining({ object: 'releaseapp/r-web', action: 'switch-version', actor: 'dev', result: 'Applied' })]);

    out.length = 0;
    expect(await run()).toBe(0);
    expect(out.join('\n')).toMatch(/^pre\s+web-pre\s+web\s+deploy\s+1\.0\.0 → 1\.1\.0\s+succeeded\s+yes\s/m);
    expect(err).toEqual([]);

    expect(await main(['history', 'r', '-n', 'shop', '--database-url', database.url!, '--uid', 'no-such-uid'], { out: (l) => out.push(l), err: (l) => err.push(l) })).toBe(1);
    expect(err).toEqual(["release shop/r (uid no-such-uid) is not in the database (is it the operator's?)"]);
  }, 60_000);
});
