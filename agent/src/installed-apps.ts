/**
 * What this host has installed, by app, kept in the state directory and reported in every hello: the operator
 * learns it even when its own records are gone (a new database, an agent moved to another operator).
 * Updated from each finished deployment task's outcome; host tasks (health checks, backups, ...) change nothing.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LIMITS, type InstalledApp, type TaskOutcome } from '../../operator/src/protocol/messages.ts';
import { installedAfter } from '../../operator/src/protocol/installed-app.ts';
import { writeDurably, type JournaledTask } from './journal.ts';

/**
 * Keyed `<targetType>/<app>`: one host may be served as a docker and a script Target, each with an app of the
 * same name. Keys without a type come from agents before the type was kept, and are reported without it.
 */
interface Stored {
  apps: Record<string, { app?: string; targetType?: InstalledApp['targetType']; version?: string; state: InstalledApp['state']; updatedAt: string }>;
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
      .map(([key, { app, targetType, version, state }]) => ({ app: app ?? key, ...(targetType ? { targetType } : {}), state, ...(version !== undefined ? { version } : {}) }));
  }

  /** Follows a finished deployment task (`installedAfter`); host tasks change nothing. */
  record(task: JournaledTask, outcome: TaskOutcome): Promise<void> {
    if (task.kind !== 'deploy') return this.writing;
    const { targetType } = task;
    const { state, version } = installedAfter(task, outcome);
    // One write at a time: they share the temporary file, and the last outcome must win.
    this.writing = this.writing.catch(() => undefined).then(async () => {
      // A key without the type, left by an older agent, is replaced by the typed one.
      const { [task.app]: _untyped, ...apps } = this.stored.apps;
      const next = { apps: { ...apps, [`${targetType}/${task.app}`]: { app: task.app, targetType, state, ...(version !== undefined ? { version } : {}), updatedAt: new Date().toISOString() } } };
      await writeDurably(this.path, `${JSON.stringify(next, null, 2)}\n`);
      this.stored = next;
    });
    return this.writing;
  }
}
