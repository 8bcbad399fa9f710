/** The agent's task journal and installed apps on a real file system, reopened as a restarted agent would. */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backoffDelay } from '../../agent/src/agent.ts';
import { InstalledApps } from '../../agent/src/installed-apps.ts';
import { journaledTask, TaskJournal, type JournaledTask } from '../../agent/src/journal.ts';
import { markerTask, removeTempDirs, tempDir } from './agent-fixtures.ts';

const task = (overrides: Partial<JournaledTask> = {}): JournaledTask =>
  journaledTask({ v: 1, type: 'task_assign', ...markerTask({ markerDir: '/nowhere', sleepMs: 0 }), env: { DB_PASSWORD: 'journal-secret' }, ...overrides });

afterAll(removeTempDirs);

describe('task journal', () => {
  it('keeps what it was told across a reopen: running, finished, acknowledged', async () => {
    const dir = await tempDir();
    const journal = await TaskJournal.open(dir);
    const [a, b, c] = [task(), task(), task()];
    await journal.start(a);
    await journal.start(b);
    await journal.finish(b.taskId, { status: 'succeeded', version: '1.4.3', installed: true, durationMs: 5 });
    await journal.start(c);
    await journal.finish(c.taskId, { status: 'failed', error: 'boom', installed: true, durationMs: 7 });
    await journal.acknowledge(c.taskId);

    const reopened = await TaskJournal.open(dir);
    expect(reopened.interrupted().map((e) => e.task.taskId)).toEqual([a.taskId]);
    expect(reopened.unacknowledged().map((e) => e.task.taskId)).toEqual([b.taskId]);
    expect(reopened.get(c.taskId)).toMatchObject({ state: 'finished', outcome: { status: 'failed', error: 'boom' }, acknowledgedAt: expect.any(String) });
    await expect(reopened.start(a)).rejects.toThrow('already in the journal');
  });

  it('never writes env or config, and writes files only the agent can read', async () => {
    const dir = await tempDir();
    const journal = await TaskJournal.open(dir);
    const t = task();
    await journal.start(t);
    const files = await readdir(join(dir, 'journal'));
    expect(files).toHaveLength(1);
    const text = await readFile(join(dir, 'journal', files[0]!), 'utf8');
    expect(text).not.toContain('journal-secret');
    expect(JSON.parse(text).task).not.toHaveProperty('env');
    expect(JSON.parse(text).task).not.toHaveProperty('config');
  });

  it('drops a temporary file left by a crash mid-write and keeps the entry it was replacing', async () => {
    const dir = await tempDir();
    const journal = await TaskJournal.open(dir);
    const t = task();
    await journal.start(t);
    const [file] = await readdir(join(dir, 'journal'));
    await writeFile(join(dir, 'journal', `${file}.4242.tmp`), '{"half": ');
    const reopened = await TaskJournal.open(dir);
    expect(reopened.interrupted().map((e) => e.task.taskId)).toEqual([t.taskId]);
    expect(await readdir(join(dir, 'journal'))).toEqual([file]);
  });

  it('forgets acknowledged entries after the retention, never unacknowledged ones', async () => {
    const dir = await tempDir();
    const journal = await TaskJournal.open(dir);
    const [old, owed] = [task(), task()];
    for (const t of [old, owed]) {
      await journal.start(t);
      await journal.finish(t.taskId, { status: 'succeeded', installed: true, durationMs: 1 });
    }
    await journal.acknowledge(old.taskId);
    const later = await TaskJournal.open(dir, { retentionMs: 1000, now: () => Date.now() + 60_000 });
    expect(later.get(old.taskId)).toBeUndefined();
    expect(later.get(owed.taskId)).toBeDefined();
  });

  it('serialises concurrent writes of one entry', async () => {
    const dir = await tempDir();
    const journal = await TaskJournal.open(dir);
    const t = task();
    await journal.start(t);
    await journal.finish(t.taskId, { status: 'succeeded', installed: true, durationMs: 1 });
    await Promise.all([journal.acknowledge(t.taskId), journal.acknowledge(t.taskId), journal.acknowledge(t.taskId)]);
    expect((await TaskJournal.open(dir)).get(t.taskId)?.acknowledgedAt).toEqual(expect.any(String));
  });
});

describe('installed apps', () => {
  it('follows deployment outcomes and ignores host tasks', async () => {
    const dir = await tempDir();
    const apps = await InstalledApps.open(dir);
    await apps.record(task({ app: 'web', version: '1.0.0', operation: 'install', currentVersion: undefined }), { status: 'succeeded', installed: true, version: '1.0.0', durationMs: 1 });
    await apps.record(task({ app: 'api', version: '2.0.0' }), { status: 'failed', error: 'x', installed: true, durationMs: 1 });
    await apps.record(task({ app: 'old', operation: 'uninstall' }), { status: 'succeeded', installed: false, durationMs: 1 });
    await apps.record(task({ app: 'web', kind: 'task', targetType: 'health_check' }), { status: 'failed', error: 'unhealthy', installed: false, durationMs: 1 });
    const reopened = await InstalledApps.open(dir);
    expect(reopened.list().sort((a, b) => a.app.localeCompare(b.app))).toEqual([
      { app: 'api', targetType: 'marker', state: 'failed', version: '1.4.2' },
      { app: 'old', targetType: 'marker', state: 'uninstalled' },
      { app: 'web', targetType: 'marker', state: 'installed', version: '1.0.0' },
    ]);
  });

  it('keeps an app per executor type, and replaces the untyped record an older agent left', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'installed-apps.json'), JSON.stringify({ apps: { web: { state: 'installed', version: '0.9.0', updatedAt: '2026-01-01T00:00:00.000Z' }, db: { state: 'installed', version: '5', updatedAt: '2026-01-01T00:00:00.000Z' } } }));
    const apps = await InstalledApps.open(dir);
    expect(apps.list().find((a) => a.app === 'web')).toEqual({ app: 'web', state: 'installed', version: '0.9.0' });
    await apps.record(task({ app: 'web', version: '1.0.0', targetType: 'docker' }), { status: 'succeeded', installed: true, version: '1.0.0', durationMs: 1 });
    await apps.record(task({ app: 'web', version: '2.0.0', targetType: 'script' }), { status: 'succeeded', installed: true, version: '2.0.0', durationMs: 1 });
    const reopened = await InstalledApps.open(dir);
    expect(reopened.list().sort((a, b) => `${a.app}${a.targetType}`.localeCompare(`${b.app}${b.targetType}`))).toEqual([
      { app: 'db', state: 'installed', version: '5' },
      { app: 'web', targetType: 'docker', state: 'installed', version: '1.0.0' },
      { app: 'web', targetType: 'script', state: 'installed', version: '2.0.0' },
    ]);
  });
});

describe('reconnect backoff', () => {
  it('doubles up to the maximum, with half of each delay random', () => {
    const low = (n: number) => backoffDelay(n, 500, 30_000, () => 0);
    const high = (n: number) => backoffDelay(n, 500, 30_000, () => 1);
    expect([0, 1, 2, 3].map(low)).toEqual([250, 500, 1000, 2000]);
    expect([0, 1, 2, 3].map(high)).toEqual([500, 1000, 2000, 4000]);
    expect(high(20)).toBe(30_000);
    expect(low(1000)).toBe(15_000);
  });
});
