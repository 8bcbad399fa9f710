/** Contexts, scratch directories and process checks for the agent's host executor tests. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentTaskContext } from '../../agent/src/executors/agent-executor.ts';

const scratch: string[] = [];

export async function tempDir(prefix = 'shipway-agent-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(scratch.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

export interface RecordedContext {
  context: AgentTaskContext;
  logs: string[];
  progress: { percent: number; message?: string }[];
}

let taskCounter = 0;

export function hostContext(stateDir: string, overrides: Partial<AgentTaskContext> = {}): RecordedContext {
  const logs: string[] = [];
  const progress: { percent: number; message?: string }[] = [];
  const context: AgentTaskContext = {
    taskId: `task-${++taskCounter}`,
    operation: 'install',
    app: 'web',
    version: '1.0.0',
    env: {},
    signal: new AbortController().signal,
    log: (line) => logs.push(line),
    progress: (percent, message) => progress.push({ percent, ...(message !== undefined ? { message } : {}) }),
    stateDir,
    ...overrides,
  };
  return { context, logs, progress };
}

/** Alive and not a zombie: a killed orphan may stay a zombie when PID 1 does not reap. */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export async function readPids(file: string): Promise<number[]> {
  const text = await readFile(file, 'utf8');
  return text.split('\n').filter((line) => line.trim() !== '').map(Number);
}

/** Kills processes a test left behind on purpose (daemons started by a script). */
export function killQuietly(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
