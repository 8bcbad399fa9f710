/**
 * One task on the agent: runs it through its executor with a timeout and an abort (cancel, shutdown), and
 * streams what it does to whichever task stream is attached at the moment. Output is batched (a log message
 * per 200 ms or 500 lines) and bounded (lines past the queue's bound are dropped and counted), so a chatty
 * script can neither flood the operator nor grow the agent's memory while the connection is down.
 */
import type { AgentExecutor, AgentTaskContext, AgentTaskResult } from './executors/agent-executor.ts';
import { LIMITS, validateMessage, type ProtocolMessage, type TaskAssignMessage, type TaskOutcome } from '../../operator/src/protocol/messages.ts';
import { createMasker, type Masker } from '../../operator/src/planning/masking.ts';

/** The registry as the agent uses it; `run` (when there) validates the config and fills in its defaults. */
export interface ExecutorLookup {
  get(type: string): AgentExecutor | undefined;
  run?(type: string, config: unknown, context: AgentTaskContext): Promise<AgentTaskResult>;
  types?(): string[];
}

/** Where a task's messages go: the task stream currently attached, if any. */
export interface TaskSink {
  send(message: ProtocolMessage): Promise<void>;
}

export type AbortCause = 'cancel' | 'timeout' | 'shutdown';

/** Executor types by task: host tasks are registered as `task:<type>`, apart from deployments of the same name. */
export function executorType(task: Pick<TaskAssignMessage, 'kind' | 'targetType'>): string {
  return task.kind === 'task' ? `task:${task.targetType}` : task.targetType;
}

export interface TaskExecutionOptions {
  assign: TaskAssignMessage;
  executors: ExecutorLookup;
  stateDir: string;
  /** After an abort, how long the executor gets to stop before the task is reported without waiting for it. */
  abortGraceMs?: number;
  logFlushMs?: number;
  maxQueuedLines?: number;
}

const DEFAULT_ABORT_GRACE_MS = 15_000;
const DEFAULT_LOG_FLUSH_MS = 200;
const DEFAULT_MAX_QUEUED_LINES = 5_000;
/** A log batch stays well inside one frame (1 MiB) even when every line is at its length limit. */
const MAX_BATCH_BYTES = 256 * 1024;
const PROGRESS_INTERVAL_MS = 250;

export class TaskExecution {
  readonly taskId: string;
  readonly startedAt = Date.now();
  private readonly controller = new AbortController();
  private cause: AbortCause | undefined;
  private sink: TaskSink | undefined;
  private readonly queue: string[] = [];
  private dropped = 0;
  private seq = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private progressTimer: NodeJS.Timeout | undefined;
  private lastProgressAt = 0;
  private progressPending: { percent: number; message?: string } | undefined;
  private finished = false;
  private readonly phase: string;
  /** The values of the env entries the operator named secret: masked in what leaves the executor. */
  private readonly mask: Masker;

  constructor(private readonly o: TaskExecutionOptions) {
    this.taskId = o.assign.taskId;
    this.phase = o.assign.kind === 'deploy' ? o.assign.operation : o.assign.targetType;
    this.mask = createMasker((o.assign.secretEnv ?? []).map((name) => o.assign.env[name] ?? ''));
  }

  get aborted(): AbortCause | undefined {
    return this.cause;
  }

  get type(): string {
    return executorType(this.o.assign);
  }

  /** Future messages go to this stream (the previous one, if any, is dropped); queued log lines follow. */
  attach(sink: TaskSink | undefined): void {
    this.sink = sink;
    if (sink && this.queue.length > 0) this.scheduleFlush(0);
  }

  /** The stream the result goes to, if one is attached. */
  get currentSink(): TaskSink | undefined {
    return this.sink;
  }

  detach(sink: TaskSink): void {
    if (this.sink === sink) this.sink = undefined;
  }

  abort(cause: AbortCause): void {
    if (this.cause || this.finished) return;
    this.cause = cause;
    this.controller.abort(new Error(`task ${cause === 'timeout' ? 'timed out' : cause === 'cancel' ? 'cancelled' : 'stopped: the agent is shutting down'}`));
  }

  /** Runs the task to its outcome; never rejects. Remaining log lines are sent (or dropped) before it resolves. */
  async run(): Promise<TaskOutcome> {
    const { assign } = this.o;
    const timeout = setTimeout(() => this.abort('timeout'), assign.timeoutSeconds * 1000);
    this.progress(0, 'started');
    let result: AgentTaskResult;
    try {
      result = await this.execute();
    } finally {
      clearTimeout(timeout);
    }
    const outcome = this.outcome(result);
    this.finished = true;
    clearTimeout(this.progressTimer);
    await this.flushAll();
    return outcome;
  }

  private async execute(): Promise<AgentTaskResult> {
    const { assign, executors } = this.o;
    const type = this.type;
    const context: AgentTaskContext = {
      taskId: assign.taskId,
      operation: assign.operation,
      app: assign.app,
      version: assign.version,
      ...(assign.currentVersion !== undefined ? { currentVersion: assign.currentVersion } : {}),
      env: Object.freeze({ ...assign.env }),
      signal: this.controller.signal,
      log: (line) => this.log(line),
      progress: (percent, message) => this.progress(percent, message),
      stateDir: this.o.stateDir,
    };
    const installedBefore = assign.currentVersion !== undefined;
    const failed = (error: string): AgentTaskResult => ({ status: 'failed', error, installed: installedBefore, ...(assign.currentVersion !== undefined ? { version: assign.currentVersion } : {}) });
    let work: Promise<AgentTaskResult>;
    try {
      if (executors.run) work = executors.run(type, assign.config, context);
      else {
        const executor = executors.get(type);
        if (!executor) return failed(`this agent has no executor for ${JSON.stringify(type)}`);
        work = executor.run(assign.config, context);
      }
    } catch (error) {
      return failed(`${type} failed: ${(error as Error).message}`);
    }
    work = work.catch((error: unknown) => failed(`${type} failed: ${error instanceof Error ? error.message : String(error)}`));
    // An executor that ignores the abort must not hold the task (and the agent's shutdown) forever.
    const grace = this.o.abortGraceMs ?? DEFAULT_ABORT_GRACE_MS;
    let graceTimer: NodeJS.Timeout | undefined;
    const stuck = new Promise<AgentTaskResult>((resolve) => {
      const onAbort = () => {
        graceTimer = setTimeout(() => resolve(failed(`the ${type} executor did not stop within ${Math.round(grace / 1000)} s of being told to; it may still be running`)), grace);
      };
      if (this.controller.signal.aborted) onAbort();
      else this.controller.signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([work, stuck]);
    } finally {
      clearTimeout(graceTimer);
    }
  }

  /** The executor's result as the protocol's outcome: bounded, and valid (a bad field is dropped, not fatal). */
  private outcome(result: AgentTaskResult): TaskOutcome {
    const durationMs = Math.max(0, Date.now() - this.startedAt);
    let status: TaskOutcome['status'] = result.status;
    // Masked here, so neither the journal on disk nor the result sent holds a secret the script printed.
    let error = result.error !== undefined ? this.mask(result.error) : undefined;
    if (result.outputTail !== undefined) result = { ...result, outputTail: this.mask(result.outputTail) };
    if (result.status !== 'succeeded' && this.cause) {
      if (this.cause === 'timeout') {
        error = `timed out after ${this.o.assign.timeoutSeconds} s${error ? `: ${error}` : ''}`;
      } else {
        status = 'cancelled';
        error ??= this.cause === 'cancel' ? 'cancelled by the operator' : 'cancelled: the agent was shutting down';
      }
    }
    if (status === 'failed' && !error) error = `${this.type} failed`;
    const outcome: TaskOutcome = {
      status,
      installed: result.installed,
      durationMs,
      ...(result.version !== undefined ? { version: result.version } : {}),
      ...(result.previousVersion !== undefined ? { previousVersion: result.previousVersion } : {}),
      ...(error !== undefined ? { error: head(error, LIMITS.errorTextLength) } : {}),
      ...(result.outputTail !== undefined ? { outputTail: tail(result.outputTail, LIMITS.outputTailLength) } : {}),
    };
    const check = validateMessage({ v: 1, type: 'result', taskId: this.taskId, ...outcome });
    if (check.ok) return outcome;
    const { version: _version, previousVersion: _previous, ...rest } = outcome;
    const note = `(the executor's result was not valid and its versions were dropped: ${check.error})`;
    return { ...rest, ...(status === 'failed' || rest.error ? { error: head(`${rest.error ?? ''} ${note}`.trim(), LIMITS.errorTextLength) } : {}) };
  }

  private log(raw: string): void {
    if (this.finished) return;
    const line = this.mask(raw);
    const text = line.length > LIMITS.logLineLength ? `${line.slice(0, LIMITS.logLineLength - 1)}…` : line;
    if (this.queue.length >= (this.o.maxQueuedLines ?? DEFAULT_MAX_QUEUED_LINES)) {
      this.dropped++;
      return;
    }
    this.queue.push(text);
    this.scheduleFlush(this.queue.length >= LIMITS.logLinesPerBatch ? 0 : (this.o.logFlushMs ?? DEFAULT_LOG_FLUSH_MS));
  }

  private scheduleFlush(delayMs: number): void {
    if (this.flushTimer && delayMs > 0) return;
    clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flushing = this.flushing.then(() => this.flushBatch());
    }, delayMs);
  }

  private async flushBatch(): Promise<void> {
    const sink = this.sink;
    if (!sink || this.queue.length === 0) return;
    let bytes = 0;
    let count = 0;
    while (count < this.queue.length && count < LIMITS.logLinesPerBatch) {
      bytes += this.queue[count]!.length * 3 + 8;
      if (count > 0 && bytes > MAX_BATCH_BYTES) break;
      count++;
    }
    const lines = this.queue.splice(0, count);
    const dropped = this.dropped;
    this.dropped = 0;
    try {
      await sink.send({ v: 1, type: 'log', taskId: this.taskId, seq: this.seq++, lines, ...(dropped > 0 ? { dropped } : {}) });
    } catch {
      // The stream went away with this batch; the lines are lost and counted in the next batch.
      this.dropped += dropped + lines.length;
    }
    if (this.queue.length > 0 && this.sink) this.scheduleFlush(this.queue.length >= LIMITS.logLinesPerBatch ? 0 : (this.o.logFlushMs ?? DEFAULT_LOG_FLUSH_MS));
  }

  /** Sends every queued line (when a stream is attached) before the result goes out. */
  private async flushAll(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await this.flushing;
    while (this.queue.length > 0 && this.sink) {
      const before = this.queue.length;
      await this.flushBatch();
      if (this.queue.length >= before) break;
    }
  }

  private progress(percent: number, message?: string): void {
    if (this.finished) return;
    const clamped = Math.max(0, Math.min(100, Math.round(Number.isFinite(percent) ? percent : 0)));
    this.progressPending = { percent: clamped, ...(message !== undefined ? { message: head(this.mask(message), LIMITS.shortTextLength) } : {}) };
    const wait = this.lastProgressAt + PROGRESS_INTERVAL_MS - Date.now();
    if (wait <= 0) return this.sendProgress();
    this.progressTimer ??= setTimeout(() => {
      this.progressTimer = undefined;
      this.sendProgress();
    }, wait);
  }

  private sendProgress(): void {
    const pending = this.progressPending;
    if (!pending || !this.sink) return;
    this.progressPending = undefined;
    this.lastProgressAt = Date.now();
    this.sink.send({ v: 1, type: 'progress', taskId: this.taskId, phase: this.phase.slice(0, 63), ...pending }).catch(() => undefined);
  }
}

const head = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const tail = (text: string, max: number) => (text.length > max ? `…${text.slice(text.length - max + 1)}` : text);
