/**
 * The operator's agents, as the release engine sees them: which are connected, and `dispatch` / `control` to
 * have one run a task. Sessions come from the agent server (wire, hello, budgets); this keeps one session per
 * agent id, records heartbeats and status reports in the database, and carries tasks across reconnects.
 *
 * A task is identified by its id on both sides. `dispatch` sends it and waits for its result; when the
 * connection drops it waits for the agent to come back and sends the same task again, which the agent answers
 * with `duplicate` (still running: progress continues on the new stream; finished: its journaled result).
 * A result the agent re-delivers on its own after a reconnect is matched by task id, so a result is returned
 * once whichever way it arrives. Aborting `signal` only stops waiting: it does not cancel the task on the agent
 * (an operator restart must not cancel work; `control(..., 'cancel')` does that).
 *
 * Installed apps an agent reports in its hello are stored as target installations of the pseudo-target
 * `agent:<agentId>/<targetType>` (`agentInstallationsTarget`): a Target names its agent and type, so the
 * engine reads that for an app the Target's own rows (`namespace/name`) do not know yet — a new database, or
 * an app installed before the Target existed.
 */
import { createHash } from 'node:crypto';
import { type ControlAckMessage, type ControlMessage, type InstalledApp, type LogMessage, type ProgressMessage, type ResultMessage, type StatusReportMessage, type TaskAssignMessage } from '../protocol/messages.ts';
import type { QuicSettings } from '../protocol/quic-transport.ts';
import { agentInstallationsTarget } from '../api/target.ts';
import { installedAfter } from '../protocol/installed-app.ts';
import type { Repository } from '../storage/index.ts';
import { AgentServer, type AgentSession, type CredentialVerdict } from './agent-server.ts';

export interface AgentHubOptions {
  host: string;
  port: number;
  certPem: string;
  keyPem: string;
  verify(agentId: string, token: string): Promise<CredentialVerdict>;
  repo: Repository;
  /** Asked of agents in the welcome; default 10. */
  heartbeatSeconds?: number;
  onAgentChange?(agentId: string): void;
  log?(line: string): void;
  /** Masks secret values in text from agents (logs, errors, output) before it is logged, stored or handed on. */
  mask?(text: string): string;
  /** QUIC tuning (tests shorten the idle timeout); defaults in QUIC_SETTINGS. */
  quic?: Partial<QuicSettings>;
  /** Bad messages a connection may send before it is closed (default 100). */
  badMessageBudget?: number;
}

export interface DispatchHandlers {
  onProgress?(m: ProgressMessage): void;
  onLog?(m: LogMessage): void;
  onStatus?(m: StatusReportMessage): void;
}

export type TaskSpec = Omit<TaskAssignMessage, 'v' | 'type'>;

/** What a connected agent said about itself. */
export interface ConnectedAgent {
  agentId: string;
  sessionId: string;
  agentVersion: string;
  hostname: string;
  capabilities: string[];
  installed: InstalledApp[];
  connectedAt: Date;
  remote: string;
}


interface PendingDispatch {
  agentId: string;
  handlers: DispatchHandlers;
  /** Set when the result arrived on a stream the agent opened itself. */
  result?: ResultMessage;
  delivered: Promise<ResultMessage>;
  deliver(result: ResultMessage): void;
  waiters: Set<() => void>;
}

/** Results that arrived with nobody waiting for them (kept for a later dispatch of the same task id). */
const MAX_UNCLAIMED_RESULTS = 1000;
const UNCLAIMED_RESULT_TTL_MS = 60 * 60 * 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Attempt = { result: ResultMessage } | { retry: 'lost' | 'refused' };

export class AgentHub {
  private readonly sessions = new Map<string, AgentSession>();
  private readonly sessionWaiters = new Set<() => void>();
  private readonly pending = new Map<string, PendingDispatch>();
  private readonly unclaimed = new Map<string, { result: ResultMessage; at: number }>();
  private readonly mask: (text: string) => string;
  private readonly log: (line: string) => void;
  private server: AgentServer | undefined;
  private stopped = false;

  private constructor(private readonly o: AgentHubOptions) {
    this.mask = o.mask ?? ((text) => text);
    this.log = o.log ?? (() => undefined);
  }

  static async start(o: AgentHubOptions): Promise<AgentHub> {
    const hub = new AgentHub(o);
    hub.server = await AgentServer.start({
      host: o.host,
      port: o.port,
      certPem: o.certPem,
      keyPem: o.keyPem,
      verify: o.verify,
      heartbeatSeconds: o.heartbeatSeconds ?? 10,
      ...(o.quic ? { quic: o.quic } : {}),
      ...(o.badMessageBudget !== undefined ? { badMessageBudget: o.badMessageBudget } : {}),
      log: hub.log,
      mask: hub.mask,
      onSessionOpen: (session) => hub.opened(session),
      onSessionClose: (session) => hub.closed(session),
      onHeartbeat: (session) => hub.heartbeat(session),
      onStatusReport: (session, message) => hub.statusReport(session, message),
      onResult: async (session, message) => hub.resultArrived(session.agentId, message),
    });
    return hub;
  }

  get port(): number {
    return this.server!.port;
  }

  isConnected(agentId: string): boolean {
    const session = this.sessions.get(agentId);
    return session !== undefined && !session.closed;
  }

  connectedAgent(agentId: string): ConnectedAgent | undefined {
    const session = this.sessions.get(agentId);
    if (!session || session.closed) return undefined;
    const { hello } = session;
    return {
      agentId,
      sessionId: session.sessionId,
      agentVersion: hello.agentVersion,
      hostname: hello.hostname,
      capabilities: [...hello.capabilities],
      installed: hello.installed.map((app) => ({ ...app })),
      connectedAt: session.connectedAt,
      remote: session.remote,
    };
  }

  connectedAgents(): string[] {
    return [...this.sessions.keys()].filter((id) => this.isConnected(id)).sort();
  }

  /**
   * Sends the task to the agent and resolves with its result; waits (until signal) while the agent is offline;
   * survives reconnects: a result journaled by the agent while disconnected is matched by taskId; the agent
   * answers `duplicate` with the journaled result if it already ran the task.
   */
  async dispatch(agentId: string, task: TaskSpec, handlers: DispatchHandlers, signal: AbortSignal): Promise<ResultMessage> {
    if (this.pending.has(task.taskId)) throw new Error(`task ${task.taskId} is already being dispatched`);
    let resolve!: (result: ResultMessage) => void;
    const entry: PendingDispatch = {
      agentId,
      handlers,
      delivered: new Promise<ResultMessage>((r) => (resolve = r)),
      waiters: new Set(),
      deliver(result) {
        if (entry.result) return;
        entry.result = result;
        resolve(result);
        for (const wake of [...entry.waiters]) wake();
      },
    };
    this.pending.set(task.taskId, entry);
    let result: ResultMessage;
    try {
      result = await this.follow(agentId, task, handlers, signal, entry);
    } finally {
      this.pending.delete(task.taskId);
    }
    // Kept current between hellos, so a Target that is new to an app the host has learns it right away.
    if (task.kind === 'deploy') await this.record(`recording what task ${task.taskId} left installed`, () => this.recordInstalled(agentId, [installedAfter(task, result)]));
    return result;
  }

  private async follow(agentId: string, task: TaskSpec, handlers: DispatchHandlers, signal: AbortSignal, entry: PendingDispatch): Promise<ResultMessage> {
    const early = this.claim(agentId, task.taskId);
    if (early) return early;
    let previous: AgentSession | undefined;
    for (;;) {
      if (this.stopped) throw new Error('the agent hub is stopped');
      signal.throwIfAborted();
      const session = await this.nextSession(agentId, previous, signal, entry);
      if (session === 'delivered') return entry.result!;
      const attempt = await this.attempt(session, task, handlers, signal, entry.delivered);
      if ('result' in attempt) return attempt.result;
      previous = session;
    }
  }

  /** pause | resume | cancel | rollback for a running task; resolves with the agent's control_ack. */
  async control(agentId: string, command: ControlMessage['command'], taskId?: string): Promise<ControlAckMessage> {
    const session = this.sessions.get(agentId);
    if (!session || session.closed) throw new Error(`agent ${agentId} is not connected`);
    const ack = await session.control(command, taskId);
    this.log(`agent ${agentId}: ${command}${taskId ? ` ${taskId}` : ''} ${ack.accepted ? 'accepted' : `refused: ${this.mask(ack.reason ?? '')}`}`);
    return ack.reason === undefined ? ack : { ...ack, reason: this.mask(ack.reason) };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of this.sessionWaiters) wake();
    await this.server?.stop();
    this.sessions.clear();
  }

  /** The agent's current session, once it is another than `previous`; or 'delivered' if the result came first. */
  private async nextSession(agentId: string, previous: AgentSession | undefined, signal: AbortSignal, entry: PendingDispatch): Promise<AgentSession | 'delivered'> {
    for (;;) {
      if (entry.result) return 'delivered';
      const session = this.sessions.get(agentId);
      if (session && !session.closed && session !== previous) return session;
      if (this.stopped) throw new Error('the agent hub is stopped');
      signal.throwIfAborted();
      // Woken by any session opening or closing, by the result arriving on a stream of the agent's, or by abort.
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.sessionWaiters.delete(wake);
          entry.waiters.delete(wake);
          signal.removeEventListener('abort', wake);
          resolve();
        };
        this.sessionWaiters.add(wake);
        entry.waiters.add(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
  }

  /** One try on one session: send the task, follow its stream to a result, or give up when the stream ends. */
  private async attempt(session: AgentSession, task: TaskSpec, handlers: DispatchHandlers, signal: AbortSignal, delivered: Promise<ResultMessage>): Promise<Attempt> {
    const stop = new AbortController();
    const onAbort = () => stop.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    let otherPath: ResultMessage | undefined;
    void delivered.then((result) => {
      otherPath = result;
      stop.abort(new Error('result delivered on another stream'));
    });
    let channel;
    try {
      channel = session.openTaskStream();
    } catch {
      signal.removeEventListener('abort', onAbort);
      return { retry: 'lost' };
    }
    try {
      await channel.send({ v: 1, type: 'task_assign', ...task });
      for await (const message of channel.messages(stop.signal)) {
        switch (message.type) {
          case 'task_ack':
            if (message.status === 'refused') {
              this.log(`agent ${session.agentId} refused task ${task.taskId}: ${this.mask(message.reason ?? '')}`);
              return { retry: 'refused' };
            }
            if (message.status === 'duplicate' && message.result) {
              const result = this.masked({ v: 1, type: 'result', taskId: message.taskId, ...message.result });
              await channel.send({ v: 1, type: 'result_ack', taskId: task.taskId });
              return { result };
            }
            break;
          case 'progress':
            this.call(() => handlers.onProgress?.(message.message === undefined ? message : { ...message, message: this.mask(message.message) }));
            break;
          case 'log':
            this.call(() => handlers.onLog?.({ ...message, lines: message.lines.map((line) => this.mask(line)) }));
            break;
          case 'result': {
            const result = this.masked(message);
            await channel.send({ v: 1, type: 'result_ack', taskId: task.taskId });
            return { result };
          }
        }
      }
      if (otherPath) return { result: otherPath };
      signal.throwIfAborted();
      return { retry: 'lost' };
    } catch (error) {
      if (otherPath) return { result: otherPath };
      signal.throwIfAborted();
      if (this.stopped) throw new Error('the agent hub is stopped');
      this.log(`agent ${session.agentId}: task ${task.taskId}: stream lost (${(error as Error).message}); waiting for the agent`);
      return { retry: 'lost' };
    } finally {
      signal.removeEventListener('abort', onAbort);
      void channel.finish();
    }
  }

  private masked(result: ResultMessage): ResultMessage {
    return {
      ...result,
      ...(result.error !== undefined ? { error: this.mask(result.error) } : {}),
      ...(result.outputTail !== undefined ? { outputTail: this.mask(result.outputTail) } : {}),
    };
  }

  private call(handler: () => void): void {
    try {
      handler();
    } catch (error) {
      this.log(`agent hub: a dispatch handler threw: ${(error as Error).message}`);
    }
  }

  private claim(agentId: string, taskId: string): ResultMessage | undefined {
    const key = `${agentId}\n${taskId}`;
    const entry = this.unclaimed.get(key);
    if (!entry) return undefined;
    this.unclaimed.delete(key);
    return Date.now() - entry.at <= UNCLAIMED_RESULT_TTL_MS ? entry.result : undefined;
  }

  private resultArrived(agentId: string, message: ResultMessage): void {
    const result = this.masked(message);
    const pending = this.pending.get(message.taskId);
    if (pending && pending.agentId === agentId) {
      pending.deliver(result);
      return;
    }
    // Nobody waits (e.g. the operator restarted and the engine has not asked again yet). The agent keeps the
    // result in its journal and answers a later dispatch with it; this copy only saves that round trip.
    this.unclaimed.set(`${agentId}\n${message.taskId}`, { result, at: Date.now() });
    for (const key of this.unclaimed.keys()) {
      if (this.unclaimed.size <= MAX_UNCLAIMED_RESULTS) break;
      this.unclaimed.delete(key);
    }
  }

  private opened(session: AgentSession): void {
    const { agentId } = session;
    const previous = this.sessions.get(agentId);
    this.sessions.set(agentId, session);
    if (previous && previous !== session) {
      this.log(`agent ${agentId}: a new session from ${session.remote} replaces the one from ${previous.remote}`);
      void previous.close('replaced by a new session of the same agent');
    }
    const { hello } = session;
    this.log(
      `agent ${agentId} connected from ${session.remote}: version ${hello.agentVersion} on ${hello.hostname}, runs ${hello.capabilities.join(', ') || 'nothing'}; ` +
        `${hello.installed.length} installed app(s), ${hello.runningTasks.length} running task(s), ${hello.unacknowledgedResults.length} result(s) to re-send`,
    );
    for (const wake of [...this.sessionWaiters]) wake();
    void this.record(`agent ${agentId}: recording the connection`, async () => {
      await this.o.repo.recordAgentHeartbeat(agentId, { version: hello.agentVersion });
      await this.recordInstalled(agentId, hello.installed);
    }).finally(() => this.changed(agentId));
  }

  private closed(session: AgentSession): void {
    const { agentId } = session;
    if (this.sessions.get(agentId) !== session) return;
    this.sessions.delete(agentId);
    this.log(`agent ${agentId} disconnected`);
    for (const wake of [...this.sessionWaiters]) wake();
    if (this.stopped) return;
    void this.record(`agent ${agentId}: recording the disconnection`, async () => {
      // A new session may have arrived while this was queued: it wins.
      if (!this.isConnected(agentId)) await this.o.repo.setAgentStatus(agentId, 'offline');
    }).finally(() => this.changed(agentId));
  }

  private heartbeat(session: AgentSession): void {
    void this.record(`agent ${session.agentId}: recording a heartbeat`, () => this.o.repo.recordAgentHeartbeat(session.agentId, { version: session.hello.agentVersion }));
  }

  private statusReport(session: AgentSession, message: StatusReportMessage): void {
    const report = message.message === undefined ? message : { ...message, message: this.mask(message.message) };
    const pending = this.pending.get(message.taskId);
    if (pending && pending.agentId === session.agentId) this.call(() => pending.handlers.onStatus?.(report));
    const dedup = message.id ?? createHash('sha256').update(JSON.stringify(message)).digest('hex').slice(0, 32);
    void this.record(`agent ${session.agentId}: storing a status report`, () =>
      this.o.repo.recordStatusReport({
        dedupKey: `${session.agentId}/${dedup}`,
        releaseId: UUID.test(message.releaseId) ? message.releaseId : null,
        target: message.targetId,
        agentId: session.agentId,
        phase: message.phase,
        taskId: message.taskId,
        taskName: message.taskName ?? null,
        status: message.status,
        progress: message.progress,
        message: report.message ?? null,
        metrics: message.metrics ?? null,
        ...(message.timestamp ? { reportedAt: new Date(message.timestamp) } : {}),
      }),
    );
  }

  /** What the agent says it has installed, under `agent:<id>/<type>`; rows it no longer mentions are left alone. */
  private async recordInstalled(agentId: string, installed: InstalledApp[]): Promise<void> {
    for (const app of installed) {
      const target = agentInstallationsTarget(agentId, app.targetType);
      for (let tries = 0; ; tries++) {
        const current = await this.o.repo.getTargetInstallation(target, app.app);
        if (current && current.state === app.state && current.version === (app.version ?? null)) break;
        try {
          await this.o.repo.upsertTargetInstallation(
            { target, app: app.app, version: app.version ?? null, previousVersion: current?.version ?? null, state: app.state },
            current?.lockVersion,
          );
          break;
        } catch (error) {
          if (tries >= 2) throw error;
        }
      }
    }
  }

  private changed(agentId: string): void {
    this.call(() => this.o.onAgentChange?.(agentId));
  }

  private async record(what: string, work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.log(`${what} failed: ${this.mask((error as Error).message)}`);
    }
  }
}
