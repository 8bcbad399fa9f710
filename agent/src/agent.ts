/**
 * The agent: dials the operator over QUIC (verifying its certificate against the CA it was given), says
 * hello with what it has installed and what it still owes, and runs the tasks the operator sends.
 *
 * Exactly once, as far as a host can promise it: a task is journaled (fsync) before it starts, so a task id
 * is never run twice, whatever happens to the connection or the process; its outcome is journaled before it
 * is sent, and sent again after every reconnect until the operator acknowledges it. A task that was running
 * when the process died is not run again either: it is reported as failed ("interrupted").
 *
 * The connection comes and goes (network cuts, operator restarts): the agent reconnects with exponential
 * backoff and jitter, and running tasks carry on meanwhile; when the operator sends the same task again on the
 * new connection, the task's progress, logs and result continue on that stream.
 */
import { createHash } from 'node:crypto';
import { cpus, freemem, hostname, loadavg, totalmem } from 'node:os';
import { advanceTaskStream, checkRoute, NEW_TASK_STREAM, type TaskStream } from '../../operator/src/protocol/channels.ts';
import { DEFAULT_MAX_FRAME_BYTES, FrameWriter, readFrames, type FrameEvent } from '../../operator/src/protocol/framing.ts';
import {
  LIMITS,
  PROTOCOL_VERSION,
  type ControlAckMessage,
  type ControlMessage,
  type ProtocolMessage,
  type StatusReportMessage,
  type TaskAssignMessage,
  type TaskOutcome,
} from '../../operator/src/protocol/messages.ts';
import { connectQuic, type ByteStream, type QuicSession, type QuicSettings } from '../../operator/src/protocol/quic-transport.ts';
import { InstalledApps } from './installed-apps.ts';
import { journaledTask, TaskJournal, type JournalEntry } from './journal.ts';
import { TaskExecution, type ExecutorLookup, type TaskSink } from './task-execution.ts';

export const AGENT_VERSION = '0.1.0';

export interface AgentOptions {
  host: string;
  port: number;
  /** The name the operator's certificate must carry. */
  serverName: string;
  agentId: string;
  /** Read before every connection attempt, so a rotated credential is picked up without a restart. */
  credential(): Promise<string>;
  caPem(): Promise<string>;
  stateDir: string;
  executors: ExecutorLookup;
  quic?: Partial<QuicSettings>;
  reconnect?: { initialMs?: number; maxMs?: number };
  /** How long a shutdown waits for running tasks before cancelling them (default 30 s). */
  shutdownGraceMs?: number;
  /** After a cancel, how long an executor gets to stop (default 15 s). */
  abortGraceMs?: number;
  log?(line: string): void;
}

const DEFAULT_RECONNECT = { initialMs: 500, maxMs: 30_000 };
const DEFAULT_SHUTDOWN_GRACE_MS = 30_000;
const WELCOME_TIMEOUT_MS = 15_000;
const RESULT_ACK_TIMEOUT_MS = 30_000;
/** After a shutdown cancelled or finished its tasks, how long it waits for the operator to acknowledge them. */
const SHUTDOWN_ACK_WAIT_MS = 3_000;
const MISSED_HEARTBEAT_ACKS = 3;
const INTERRUPTED = 'interrupted: the agent stopped while this task was running (process killed or host restarted); it was not run again';

/** Exponential backoff with "equal jitter": half the delay fixed, half random, so reconnecting agents spread out. */
export function backoffDelay(failures: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(failures, 30));
  return Math.round(base / 2 + random() * (base / 2));
}

interface Running {
  execution: TaskExecution;
  assign: TaskAssignMessage;
  done: Promise<void>;
}

/** The live connection: its control stream and heartbeats. */
interface ActiveSession {
  quic: QuicSession;
  control: FrameWriter;
  heartbeatSeconds: number;
  lastAckAt: number;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

const shortId = (taskId: string) => createHash('sha256').update(taskId, 'utf8').digest('hex').slice(0, 24);

/** A task stream on the agent's side: the state machine applied to both directions, bad frames answered. */
class AgentTaskStream implements TaskSink {
  private state: TaskStream = NEW_TASK_STREAM;
  private readonly writer: FrameWriter;
  private queuedErrors = 0;

  constructor(readonly stream: ByteStream) {
    this.writer = new FrameWriter(stream.writable, { maxFrameBytes: DEFAULT_MAX_FRAME_BYTES });
  }

  async send(message: ProtocolMessage): Promise<void> {
    const next = advanceTaskStream(this.state, message);
    if ('error' in next) throw new Error(next.error);
    this.state = next.stream;
    await this.writer.write(message);
  }

  /** Valid operator messages in order; bad ones get an `error` reply and are skipped. */
  async *messages(signal?: AbortSignal): AsyncGenerator<ProtocolMessage> {
    for await (const event of readFrames(this.stream.readable, { maxFrameBytes: DEFAULT_MAX_FRAME_BYTES, ...(signal ? { signal } : {}) }) as AsyncGenerator<FrameEvent>) {
      if ('error' in event) {
        if (event.error.code === 'stream_error') return;
        this.replyError(event.error.code, event.error.message);
        if (event.error.fatal) return;
        continue;
      }
      const message = event.message;
      const problem = checkRoute(message, 'task', 'operator') ?? (() => {
        const next = advanceTaskStream(this.state, message);
        if ('error' in next) return next.error;
        this.state = next.stream;
        return undefined;
      })();
      if (problem) {
        this.replyError('out_of_order', problem);
        continue;
      }
      if (message.type !== 'error') yield message;
    }
  }

  replyError(code: string, text: string): void {
    if (this.queuedErrors >= 8) return;
    this.queuedErrors++;
    this.writer
      .write({ v: 1, type: 'error', code, message: text.length > LIMITS.shortTextLength ? `${text.slice(0, LIMITS.shortTextLength - 1)}…` : text })
      .catch(() => undefined)
      .finally(() => this.queuedErrors--);
  }

  async finish(): Promise<void> {
    await this.writer.close().catch(() => undefined);
    await this.stream.readable.cancel().catch(() => undefined);
  }
}

export class Agent {
  private readonly running = new Map<string, Running>();
  /** Task ids between "seen" and "journaled": a second assignment meanwhile is a duplicate too. */
  private readonly starting = new Map<string, Promise<void>>();
  private readonly redelivering = new Set<string>();
  private readonly stopController = new AbortController();
  private readonly log: (line: string) => void;
  private session: ActiveSession | undefined;
  private loop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private acceptingTasks = true;

  private constructor(
    private readonly o: AgentOptions,
    private readonly journal: TaskJournal,
    private readonly installed: InstalledApps,
  ) {
    this.log = o.log ?? (() => undefined);
  }

  /** Opens the state directory; a task left running by a dead process is journaled as interrupted. */
  static async create(o: AgentOptions): Promise<Agent> {
    const journal = await TaskJournal.open(o.stateDir);
    const installed = await InstalledApps.open(o.stateDir);
    const agent = new Agent(o, journal, installed);
    for (const entry of journal.interrupted()) {
      const { task } = entry;
      const outcome: TaskOutcome = {
        status: 'failed',
        error: INTERRUPTED,
        installed: task.currentVersion !== undefined,
        ...(task.currentVersion !== undefined ? { version: task.currentVersion } : {}),
        durationMs: Math.max(0, Date.now() - Date.parse(entry.startedAt)),
      };
      await journal.finish(task.taskId, outcome);
      await installed.record(task, outcome);
      agent.log(`task ${task.taskId}: was running when the agent stopped; reported as interrupted, not run again`);
    }
    return agent;
  }

  get connected(): boolean {
    return this.session !== undefined && !this.session.quic.isClosed;
  }

  runningTasks(): string[] {
    return [...this.running.keys()];
  }

  /** Starts connecting (and reconnecting) in the background. */
  start(): void {
    this.loop ??= this.connectLoop();
  }

  /**
   * Graceful shutdown: takes no new task, lets running tasks finish within the grace period, cancels the rest
   * (journaled as cancelled), gives the operator a moment to acknowledge results, then disconnects.
   */
  stop(graceMs: number = this.o.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS): Promise<void> {
    this.stopping ??= (async () => {
      this.acceptingTasks = false;
      const running = [...this.running.values()];
      if (running.length > 0) {
        this.log(`shutting down: waiting up to ${Math.round(graceMs / 1000)} s for ${running.length} running task(s)`);
        const all = Promise.all(running.map((r) => r.done));
        const finished = await Promise.race([all.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), graceMs).unref())]);
        if (!finished) {
          for (const r of this.running.values()) {
            this.log(`shutting down: cancelling task ${r.assign.taskId}`);
            r.execution.abort('shutdown');
          }
          await all;
        }
      }
      // Results just sent (or acknowledgements being journaled) get a moment, so they are not re-sent next time.
      const deadline = Date.now() + SHUTDOWN_ACK_WAIT_MS;
      while (this.connected && this.journal.unacknowledged().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      this.stopController.abort();
      await this.session?.quic.close({ force: true, reason: 'agent shutting down' });
      await this.loop;
      this.log('stopped');
    })();
    return this.stopping;
  }

  private async connectLoop(): Promise<void> {
    const { initialMs, maxMs } = { ...DEFAULT_RECONNECT, ...this.o.reconnect };
    let failures = 0;
    while (!this.stopController.signal.aborted) {
      let welcomed = false;
      try {
        welcomed = await this.connectOnce();
      } catch (error) {
        if (this.stopController.signal.aborted) break;
        this.log(`connection to ${this.o.host}:${this.o.port} failed: ${describe(error)}`);
      }
      if (this.stopController.signal.aborted) break;
      failures = welcomed ? 0 : failures + 1;
      const delay = backoffDelay(failures, initialMs, maxMs);
      this.log(`reconnecting in ${(delay / 1000).toFixed(1)} s`);
      await sleep(delay, this.stopController.signal);
    }
  }

  /** One connection, from hello to its end; true if the operator welcomed us. */
  private async connectOnce(): Promise<boolean> {
    const [credential, caPem] = await Promise.all([this.o.credential(), this.o.caPem()]);
    const quic = await connectQuic({
      host: this.o.host,
      port: this.o.port,
      serverName: this.o.serverName,
      caPem,
      ...(this.o.quic ? { settings: this.o.quic } : {}),
      signal: this.stopController.signal,
      log: this.log,
    });
    let heartbeat: NodeJS.Timeout | undefined;
    // A stop may come at any point of the conversation below: it ends the connection, which ends each wait.
    const onStop = () => void quic.close({ force: true, reason: 'agent shutting down' });
    this.stopController.signal.addEventListener('abort', onStop, { once: true });
    try {
      if (this.stopController.signal.aborted) return false;
      const stream = quic.openStream();
      const control = new FrameWriter(stream.writable, { maxFrameBytes: DEFAULT_MAX_FRAME_BYTES });
      const frames = readFrames(stream.readable, { maxFrameBytes: DEFAULT_MAX_FRAME_BYTES });
      await control.write({
        v: 1,
        type: 'hello',
        id: 'hello',
        agentId: this.o.agentId,
        credential,
        agentVersion: AGENT_VERSION,
        protocolVersion: PROTOCOL_VERSION,
        hostname: hostname().slice(0, 253) || 'unknown',
        capabilities: this.capabilities(),
        installed: this.installed.list(),
        runningTasks: this.runningTasks().slice(0, LIMITS.taskIds),
        unacknowledgedResults: this.journal.unacknowledged().filter((e) => !this.running.has(e.task.taskId)).map((e) => e.task.taskId).slice(0, LIMITS.taskIds),
      });
      const welcome = await Promise.race([
        frames.next(),
        new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), WELCOME_TIMEOUT_MS).unref()),
      ]);
      if (welcome === 'timeout') throw new Error(`no welcome within ${WELCOME_TIMEOUT_MS / 1000} s`);
      if (welcome.done) throw new Error('the operator closed the connection before welcoming us');
      const first = welcome.value;
      if ('error' in first) throw new Error(`bad welcome: ${first.error.message}`);
      const message = first.message;
      if (message.type !== 'welcome') throw new Error(`expected a welcome, got ${message.type}${message.type === 'error' ? `: ${message.message}` : ''}`);
      if (!message.accepted) {
        this.log(`the operator refused this agent: ${message.reason ?? 'no reason given'}`);
        return false;
      }
      const session: ActiveSession = { quic, control, heartbeatSeconds: message.heartbeatSeconds ?? 10, lastAckAt: Date.now() };
      this.session = session;
      this.log(`connected to ${this.o.host}:${this.o.port} as ${this.o.agentId} (session ${message.sessionId}, heartbeat ${session.heartbeatSeconds} s)`);
      quic.onStream((taskStream) => void this.serveTaskStream(taskStream).catch((error: unknown) => this.log(`task stream failed: ${describe(error)}`)));
      heartbeat = setInterval(() => this.heartbeat(session), session.heartbeatSeconds * 1000);
      this.heartbeat(session);
      void this.redeliver(session);
      for await (const event of frames) {
        if ('error' in event) {
          // A stream error is the connection ending (closed, timed out): the finally below says so.
          if (event.error.code !== 'stream_error') this.log(`bad message from the operator: ${event.error.message}`);
          if (event.error.fatal) break;
          continue;
        }
        await this.onControlMessage(session, event.message);
      }
      return true;
    } finally {
      this.stopController.signal.removeEventListener('abort', onStop);
      clearInterval(heartbeat);
      if (this.session?.quic === quic) this.session = undefined;
      await quic.close({ force: true });
      if (!this.stopController.signal.aborted) this.log('disconnected from the operator');
    }
  }

  private capabilities(): string[] {
    const types = this.o.executors.types?.() ?? [];
    return [...new Set(types.map((type) => type.replace(/^task:/, '')).filter((type) => /^[a-z][a-z0-9_]*$/.test(type) && type.length <= 63))].slice(0, LIMITS.capabilities);
  }

  private heartbeat(session: ActiveSession): void {
    if (Date.now() - session.lastAckAt > MISSED_HEARTBEAT_ACKS * session.heartbeatSeconds * 1000) {
      this.log(`no heartbeat acknowledgement for ${MISSED_HEARTBEAT_ACKS * session.heartbeatSeconds} s; reconnecting`);
      void session.quic.close({ force: true });
      return;
    }
    const total = totalmem();
    session.control
      .write({
        v: 1,
        type: 'heartbeat',
        id: `hb-${Date.now()}`,
        runningTasks: this.runningTasks().slice(0, LIMITS.taskIds),
        load: { loadAverage1m: loadavg()[0] ?? 0, cpus: Math.max(1, cpus().length), memoryUsedPercent: total > 0 ? Math.min(100, Math.max(0, ((total - freemem()) / total) * 100)) : 0 },
      })
      .catch(() => undefined);
  }

  private async onControlMessage(session: ActiveSession, message: ProtocolMessage): Promise<void> {
    switch (message.type) {
      case 'heartbeat_ack':
        session.lastAckAt = Date.now();
        return;
      case 'control': {
        const ack = this.control(message);
        session.lastAckAt = Date.now();
        await session.control.write(ack).catch(() => undefined);
        return;
      }
      case 'error':
        this.log(`the operator reports an error: ${message.code}: ${message.message}`);
        return;
      default:
        this.log(`ignoring ${message.type} from the operator on the control stream`);
    }
  }

  private control(message: ControlMessage): ControlAckMessage {
    const base = { v: 1 as const, type: 'control_ack' as const, ...(message.id !== undefined ? { id: message.id } : {}), command: message.command, ...(message.taskId !== undefined ? { taskId: message.taskId } : {}) };
    const refuse = (reason: string): ControlAckMessage => ({ ...base, accepted: false, reason: reason.slice(0, LIMITS.shortTextLength) });
    const targets = message.taskId === undefined ? [...this.running.values()] : [this.running.get(message.taskId)].filter((r): r is Running => r !== undefined);
    if (message.taskId !== undefined && targets.length === 0) {
      const entry = this.journal.get(message.taskId);
      return refuse(entry ? `task ${message.taskId} has already finished (${entry.outcome?.status ?? 'interrupted'})` : `no task ${message.taskId} on this agent`);
    }
    switch (message.command) {
      case 'cancel':
        for (const r of targets) {
          this.log(`task ${r.assign.taskId}: cancel requested${message.reason ? ` (${message.reason})` : ''}`);
          r.execution.abort('cancel');
        }
        return { ...base, accepted: true };
      case 'pause':
      case 'resume': {
        const types = [...new Set(targets.map((r) => r.execution.type))];
        return refuse(`a running task cannot be ${message.command === 'pause' ? 'paused' : 'resumed'}: ${types.length > 0 ? `the ${types.join(', ')} executor(s) cannot` : 'no task is running'}; the operator pauses between tasks`);
      }
      case 'rollback':
        return refuse('a rollback runs as a task of its own (operation rollback): cancel this task, then dispatch the rollback');
    }
  }

  /** A stream the operator opened: one task assignment, its progress, logs and result, and the result_ack. */
  private async serveTaskStream(stream: ByteStream): Promise<void> {
    const channel = new AgentTaskStream(stream);
    let execution: TaskExecution | undefined;
    let taskId: string | undefined;
    try {
      for await (const message of channel.messages()) {
        if (message.type === 'task_assign') {
          taskId = message.taskId;
          execution = await this.assign(message, channel);
          if (!execution && !this.journal.get(taskId)?.outcome) break;
        } else if (message.type === 'result_ack') {
          await this.acknowledged(message.taskId);
          break;
        }
      }
    } finally {
      execution?.detach(channel);
      await channel.finish();
    }
  }

  /** Answers an assignment; returns the execution now streaming to this channel, if any. */
  private async assign(assign: TaskAssignMessage, channel: AgentTaskStream): Promise<TaskExecution | undefined> {
    const { taskId } = assign;
    const entry = this.journal.get(taskId);
    if (entry?.state === 'finished' && entry.outcome) {
      this.log(`task ${taskId}: sent again by the operator; it already ran (${entry.outcome.status}): answering with its result`);
      await channel.send({ v: 1, type: 'task_ack', taskId, status: 'duplicate', result: entry.outcome });
      return undefined;
    }
    await this.starting.get(taskId);
    const running = this.running.get(taskId);
    if (running) {
      this.log(`task ${taskId}: sent again by the operator while running; continuing on the new stream`);
      // Attached before anything awaits: the task may end any moment, and its result must go to this stream.
      // The acknowledgement still goes first, since a stream writes in call order.
      const acknowledged = channel.send({ v: 1, type: 'task_ack', taskId, status: 'duplicate' });
      running.execution.attach(channel);
      await acknowledged;
      return running.execution;
    }
    const finished = this.journal.get(taskId);
    if (finished?.outcome) {
      await channel.send({ v: 1, type: 'task_ack', taskId, status: 'duplicate', result: finished.outcome });
      return undefined;
    }
    if (!this.acceptingTasks) {
      await channel.send({ v: 1, type: 'task_ack', taskId, status: 'refused', reason: 'the agent is shutting down' });
      return undefined;
    }
    let journaled: () => void = () => undefined;
    this.starting.set(taskId, new Promise<void>((resolve) => (journaled = resolve)));
    try {
      await this.journal.start(journaledTask(assign));
    } catch (error) {
      this.log(`task ${taskId}: cannot be journaled, refused: ${describe(error)}`);
      await channel.send({ v: 1, type: 'task_ack', taskId, status: 'refused', reason: `the agent cannot write its journal: ${describe(error)}` });
      return undefined;
    } finally {
      this.starting.delete(taskId);
      journaled();
    }
    const execution = new TaskExecution({ assign, executors: this.o.executors, stateDir: this.o.stateDir, ...(this.o.abortGraceMs !== undefined ? { abortGraceMs: this.o.abortGraceMs } : {}) });
    const record: Running = { execution, assign, done: Promise.resolve() };
    this.running.set(taskId, record);
    const acknowledged = channel.send({ v: 1, type: 'task_ack', taskId, status: 'accepted' }).catch(() => undefined);
    execution.attach(channel);
    this.log(`task ${taskId}: ${assign.kind} ${assign.operation} of ${assign.app} ${assign.version} (${execution.type}) started`);
    this.report(assign, 'running', 0);
    record.done = this.complete(record).catch((error: unknown) => this.log(`task ${taskId}: ${describe(error)}`));
    await acknowledged;
    return execution;
  }

  /** Runs the task, journals its outcome (fsync), then sends it on whichever stream is attached. */
  private async complete({ execution, assign }: Running): Promise<void> {
    const outcome = await execution.run();
    let entry: JournalEntry;
    try {
      entry = await this.journal.finish(assign.taskId, outcome);
      await this.installed.record(journaledTask(assign), outcome);
    } finally {
      this.running.delete(assign.taskId);
    }
    this.log(`task ${assign.taskId}: ${outcome.status} in ${(outcome.durationMs / 1000).toFixed(1)} s`);
    this.report(assign, outcome.status === 'succeeded' ? 'success' : 'failed', outcome.status === 'succeeded' ? 100 : 0, outcome);
    const sink = execution.currentSink;
    if (!sink) return;
    // Without a stream, or if this send is lost, the result goes out again after the next hello.
    await sink.send({ v: 1, type: 'result', taskId: assign.taskId, ...entry.outcome! }).catch(() => undefined);
  }

  private async acknowledged(taskId: string): Promise<void> {
    await this.journal.acknowledge(taskId).catch((error: unknown) => this.log(`task ${taskId}: acknowledgement not journaled: ${describe(error)}`));
  }

  /** Sends every journaled, unacknowledged result again, each on a stream of its own. */
  private async redeliver(session: ActiveSession): Promise<void> {
    for (const entry of this.journal.unacknowledged()) {
      const { taskId } = entry.task;
      if (this.session !== session || session.quic.isClosed) return;
      if (this.running.has(taskId) || this.redelivering.has(taskId) || !entry.outcome) continue;
      this.redelivering.add(taskId);
      let channel: AgentTaskStream | undefined;
      try {
        channel = new AgentTaskStream(session.quic.openStream());
        await channel.send({ v: 1, type: 'result', taskId, ...entry.outcome });
        for await (const message of channel.messages(AbortSignal.timeout(RESULT_ACK_TIMEOUT_MS))) {
          if (message.type === 'result_ack') {
            await this.acknowledged(taskId);
            this.log(`task ${taskId}: result delivered after a reconnect`);
            break;
          }
        }
      } catch (error) {
        this.log(`task ${taskId}: re-sending the result failed: ${describe(error)}`);
      } finally {
        this.redelivering.delete(taskId);
        await channel?.finish();
      }
    }
  }

  /** Status reports (the requirements' StatusReportRequest) at a task's start and end, for the history. */
  private report(assign: TaskAssignMessage, status: StatusReportMessage['status'], progress: number, outcome?: TaskOutcome): void {
    const control = this.session?.control;
    if (!control) return;
    const message: StatusReportMessage = {
      v: 1,
      type: 'status_report',
      id: `sr-${shortId(assign.taskId)}-${outcome ? 'end' : 'start'}`,
      releaseId: assign.releaseRef.uid,
      targetId: assign.target,
      phase: (assign.kind === 'deploy' ? assign.operation : assign.targetType).slice(0, 63),
      taskId: assign.taskId,
      taskName: `${assign.operation} ${assign.app} ${assign.version}`.slice(0, 253),
      status,
      progress,
      ...(outcome?.error !== undefined ? { message: outcome.error.slice(0, LIMITS.errorTextLength) } : {}),
      ...(outcome ? { metrics: { durationMs: outcome.durationMs } } : {}),
      timestamp: new Date().toISOString(),
    };
    control.write(message).catch(() => undefined);
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}
