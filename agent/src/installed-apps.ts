/**
 * What this host has installed, by app, kept in the state directory and reported in every hello: the operator
 * learns it even when its own records are gone (a new database, an agent moved to another operator).
 * Updated from each finished deployment task's outcome; host tasks (health checks, backups, ...) change nothing.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LIMITS, type InstalledApp, type TaskOutcome } from '../../operator/src/protocol/messages.ts';
import { writeDurably, type JournaledTask } from './journal.ts';

interface Stored {
  apps: Record<string, { version?: string; state: InstalledApp['state']; updatedAt: string }>;
}

export class InstalledApps {
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly path: string,
    private stored: Stored,
  ) {}

  static async open(stateDir: string): Promise<InstalledApps> {
    const path = join(stateDir, 'installed-apps.json');
    let stored: Stored = { apps: {} };
    try {
      stored = JSON.parse(await readFile(path, 'utf8')) as Stored;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${path} cannot be read: ${(error as Error).message}`);
    }
    return new InstalledApps(path, stored);
  }

  /** For the hello: newest first, within the protocol's bound. */
  list(): InstalledApp[] {
    return Object.entries(this.stored.apps)
      .sort(([, a], [, b]) => b.updatedAt.localeCompare(a.updatedAt))
      .slice(0, LIMITS.installedApps)
      .map(([app, { version, state }]) => ({ app, state, ...(version !== undefined ? { version } : {}) }));
  }

  /** A cancelled task reports what it left behind like a successful one; a failed one marks the app failed. */
  record(task: JournaledTask, outcome: TaskOutcome): Promise<void> {
    if (task.kind !== 'deploy') return this.writing;
    const state: InstalledApp['state'] = outcome.status === 'failed' ? 'failed' : outcome.installed ? 'installed' : 'uninstalled';
    const version = outcome.installed ? (outcome.version ?? (outcome.status === 'succeeded' ? task.version : task.currentVersion)) : undefined;
    // One write at a time: they share the temporary file, and the last outcome must win.
    this.writing = this.writing.catch(() => undefined).then(async () => {
      const next = { apps: { ...this.stored.apps, [task.app]: { state, ...(version !== undefined ? { version } : {}), updatedAt: new Date().toISOString() } } };
      await writeDurably(this.path, `${JSON.stringify(next, null, 2)}\n`);
      this.stored = next;
    });
    return this.writing;
  }
}
