/**
 * The "marker" executor of the agent tests: it leaves `<taskhash>.<pid>.<time>.started` when a run starts and
 * `.finished` when it ends, so the number of `.started` files of a task is the number of times it ran, in any
 * process. Kept apart from the other fixtures so the agent child process loads only this.
 */
import { createHash } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentExecutor, AgentTaskContext, AgentTaskResult } from '../../agent/src/executors/agent-executor.ts';
import type { ExecutorLookup } from '../../agent/src/task-execution.ts';
import { Type } from '../../operator/src/api/schema-helpers.ts';

export const MarkerConfig = Type.Object({
  markerDir: Type.String(),
  sleepMs: Type.Integer({ minimum: 0 }),
  /** Output lines to log while running. */
  lines: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Names of environment variables whose values the task prints (to check masking). */
  echoEnv: Type.Optional(Type.Array(Type.String())),
  fail: Type.Optional(Type.Boolean()),
});
export interface MarkerConfig {
  markerDir: string;
  sleepMs: number;
  lines?: number;
  echoEnv?: string[];
  fail?: boolean;
}

const fileSafe = (taskId: string) => createHash('sha256').update(taskId).digest('hex').slice(0, 16);

export const markerExecutor: AgentExecutor<MarkerConfig> = {
  type: 'marker',
  configSchema: MarkerConfig,
  async run(config: MarkerConfig, context: AgentTaskContext): Promise<AgentTaskResult> {
    const base = join(config.markerDir, `${fileSafe(context.taskId)}.${process.pid}.${Date.now()}`);
    await writeFile(`${base}.started`, context.taskId);
    for (let i = 0; i < (config.lines ?? 3); i++) context.log(`line ${i} of ${context.app} ${context.version}`);
    const echoed = (config.echoEnv ?? []).map((name) => `${name}=${context.env[name] ?? ''}`);
    for (const line of echoed) context.log(line);
    context.progress(50, 'halfway');
    const stopped = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), config.sleepMs);
      context.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve(true);
      }, { once: true });
    });
    await writeFile(`${base}.finished`, context.taskId);
    if (stopped) return { status: 'failed', error: 'stopped on request', installed: context.currentVersion !== undefined };
    if (config.fail) return { status: 'failed', error: `failed on purpose; ${echoed.join(' ')}`, installed: false, outputTail: echoed.join('\n') };
    context.progress(100, 'done');
    return { status: 'succeeded', version: context.version, ...(context.currentVersion ? { previousVersion: context.currentVersion } : {}), installed: context.operation !== 'uninstall', outputTail: ['done', ...echoed].join('\n') };
  },
};

export const markerExecutors: ExecutorLookup = {
  get: (type) => (type === 'marker' ? (markerExecutor as AgentExecutor) : undefined),
  types: () => ['marker'],
};

/** How many times each task ran, from the marker files. */
export async function runsOf(markerDir: string, taskId: string): Promise<{ started: number; finished: number }> {
  const names = await readdir(markerDir);
  const prefix = `${fileSafe(taskId)}.`;
  return {
    started: names.filter((n) => n.startsWith(prefix) && n.endsWith('.started')).length,
    finished: names.filter((n) => n.startsWith(prefix) && n.endsWith('.finished')).length,
  };
}

