/**
 * The agent's task journal on disk: one file per task id, written before the task runs (so a task that was
 * started is never started again, even after `kill -9`) and again with its outcome before the outcome is sent
 * (so a result survives a restart and is re-sent until the operator acknowledges it).
 *
 * Every write is a new file fsynced and renamed over the old one, then the directory is fsynced: after a
 * crash a file holds either the old state or the new, never half of one. The journal never holds `env` or
 * `config` of a task (secret variables travel there): only what identifies it.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TaskAssignMessage, TaskOutcome } from '../../operator/src/protocol/messages.ts';

export type JournaledTask = Pick<TaskAssignMessage, 'taskId' | 'kind' | 'operation' | 'targetType' | 'app' | 'version' | 'currentVersion' | 'target' | 'environment' | 'releaseRef'>;

export interface JournalEntry {
  task: JournaledTask;
  state: 'running' | 'finished';
  startedAt: string;
  outcome?: TaskOutcome;
  finishedAt?: string;
  /** When the operator acknowledged the result; until then it is re-sent after every reconnect. */
  acknowledgedAt?: string;
}

/** Acknowledged entries are kept this long, so a late duplicate of the task is still recognised. */
export const DEFAULT_RETENTION_MS = 30 * 24 * 3600 * 1000;

const fileName = (taskId: string) => `${createHash('sha256').update(taskId, 'utf8').digest('hex')}.json`;

export function journaledTask(assign: TaskAssignMessage): JournaledTask {
  const { taskId, kind, operation, targetType, app, version, currentVersion, target, environment, releaseRef } = assign;
  return { taskId, kind, operation, targetType, app, version, ...(currentVersion !== undefined ? { currentVersion } : {}), target, environment, releaseRef };
}

/** Writes `data` to `path` so that a crash leaves either the old file or the new one. */
export async function writeDurably(path: string, data: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
  const directory = await open(join(path, '..'), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

export class TaskJournal {
  private readonly entries = new Map<string, JournalEntry>();
  /** Writes of one entry happen one after another (they share a temporary file name). */
  private readonly writes = new Map<string, Promise<unknown>>();

  private constructor(private readonly dir: string) {}

  /** Loads the journal under `stateDir`, dropping acknowledged entries older than the retention. */
  static async open(stateDir: string, options: { retentionMs?: number; now?: () => number } = {}): Promise<TaskJournal> {
    const dir = join(stateDir, 'journal');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const journal = new TaskJournal(dir);
    const now = options.now?.() ?? Date.now();
    const retention = options.retentionMs ?? DEFAULT_RETENTION_MS;
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      if (name.endsWith('.tmp')) {
        // Left by a crash between write and rename: the entry it was replacing is still whole.
        await rm(path, { force: true });
        continue;
      }
      if (!name.endsWith('.json')) continue;
      let entry: JournalEntry;
      try {
        entry = JSON.parse(await readFile(path, 'utf8')) as JournalEntry;
      } catch (error) {
        throw new Error(`journal entry ${path} cannot be read (${(error as Error).message}); move it away to start the agent`);
      }
      if (entry.acknowledgedAt && now - Date.parse(entry.acknowledgedAt) > retention) {
        await rm(path, { force: true });
        continue;
      }
      journal.entries.set(entry.task.taskId, entry);
    }
    return journal;
  }

  get(taskId: string): JournalEntry | undefined {
    return this.entries.get(taskId);
  }

  /** Entries of tasks that were running when the agent stopped (before anything else happened to them). */
  interrupted(): JournalEntry[] {
    return [...this.entries.values()].filter((entry) => entry.state === 'running');
  }

  /** Finished tasks whose result the operator has not acknowledged yet, oldest first. */
  unacknowledged(): JournalEntry[] {
    return [...this.entries.values()]
      .filter((entry) => entry.state === 'finished' && !entry.acknowledgedAt)
      .sort((a, b) => (a.finishedAt ?? '').localeCompare(b.finishedAt ?? ''));
  }

  /** Records that the task is starting; once this resolves the task id is never run again. */
  async start(task: JournaledTask): Promise<JournalEntry> {
    return this.serially(task.taskId, async () => {
      if (this.entries.has(task.taskId)) throw new Error(`task ${task.taskId} is already in the journal`);
      const entry: JournalEntry = { task, state: 'running', startedAt: new Date().toISOString() };
      await this.write(entry);
      return entry;
    });
  }

  async finish(taskId: string, outcome: TaskOutcome): Promise<JournalEntry> {
    return this.serially(taskId, async () => {
      const current = this.entries.get(taskId);
      if (!current) throw new Error(`task ${taskId} is not in the journal`);
      const entry: JournalEntry = { ...current, state: 'finished', outcome, finishedAt: new Date().toISOString() };
      await this.write(entry);
      return entry;
    });
  }

  async acknowledge(taskId: string): Promise<void> {
    await this.serially(taskId, async () => {
      const current = this.entries.get(taskId);
      if (!current || current.state !== 'finished' || current.acknowledgedAt) return;
      await this.write({ ...current, acknowledgedAt: new Date().toISOString() });
    });
  }

  private serially<T>(taskId: string, work: () => Promise<T>): Promise<T> {
    const run = (this.writes.get(taskId) ?? Promise.resolve()).catch(() => undefined).then(work);
    this.writes.set(taskId, run);
    void run.finally(() => {
      if (this.writes.get(taskId) === run) this.writes.delete(taskId);
    }).catch(() => undefined);
    return run;
  }

  private async write(entry: JournalEntry): Promise<void> {
    await writeDurably(join(this.dir, fileName(entry.task.taskId)), `${JSON.stringify(entry, null, 2)}\n`);
    this.entries.set(entry.task.taskId, entry);
  }
}
