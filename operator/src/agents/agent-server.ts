/**
 * The operator's end of the agent protocol on the wire: accepts QUIC connections, takes the agent's hello on
 * its control stream (the first stream it opens), checks the credential, and from then on answers heartbeats,
 * carries control commands and hands task streams to the agent hub. It knows nothing of releases: the hub
 * decides what to send and what a result means.
 *
 * Hostile input is expected. Every bad frame (not JSON, failing its schema, on the wrong stream, out of
 * order) is answered with a short `error` and counted against its connection; past the budget the connection
 * is closed. A frame whose length cannot be trusted ends its stream, and the end of the control stream ends
 * the session. Nothing a peer sends can throw out of here: the server keeps serving every other agent.
 */
import { randomUUID } from 'node:crypto';
import { advanceTaskStream, checkRoute, NEW_TASK_STREAM, type TaskStream } from '../protocol/channels.ts';
import { DEFAULT_MAX_FRAME_BYTES, FrameWriter, readFrames } from '../protocol/framing.ts';
import {
  isCompatibleProtocol,
  LIMITS,
  PROTOCOL_VERSION,
  redactMessage,
  type ControlAckMessage,
  type ControlMessage,
  type HeartbeatMessage,
  type HelloMessage,
  type ProtocolMessage,
  type ResultMessage,
  type StatusReportMessage,
} from '../protocol/messages.ts';
import { startQuicServer, type ByteStream, type QuicServerHandle, type QuicSession, type QuicSettings } from '../protocol/quic-transport.ts';

export const SERVER_VERSION = '0.1.0';

export type CredentialVerdict = { ok: true } | { ok: false; reason: string };

export interface AgentServerOptions {
  host: string;
  port: number;
  certPem: string;
  keyPem: string;
  verify(agentId: string, token: string): Promise<CredentialVerdict>;
  heartbeatSeconds: number;
  quic?: Partial<QuicSettings>;
  maxFrameBytes?: number;
  /** Bad messages a connection may send before it is closed. */
  badMessageBudget?: number;
  /** How long a connection may stay without a successful hello. */
  helloTimeoutMs?: number;
  log(line: string): void;
  /** Masks secrets in text that came from an agent before it is logged. */
  mask(text: string): string;
  onSessionOpen(session: AgentSession): void;
  onSessionClose(session: AgentSession): void;
  onHeartbeat(session: AgentSession, message: HeartbeatMessage): void;
  onStatusReport(session: AgentSession, message: StatusReportMessage): void;
  /** A result the agent re-delivers on a stream of its own (after a reconnect); resolves once it is taken. */
  onResult(session: AgentSession, message: ResultMessage): Promise<void>;
}

export const DEFAULT_BAD_MESSAGE_BUDGET = 100;
const DEFAULT_HELLO_TIMEOUT_MS = 10_000;
const CONTROL_ACK_TIMEOUT_MS = 15_000;
/** Error replies queued on one stream; beyond that they are dropped (a peer that does not read gets no more). */
const MAX_QUEUED_ERRORS = 8;
const REFUSAL_LINGER_MS = 2_000;
/** Missed heartbeats after which a silent session is closed (the QUIC idle timeout covers a dead network). */
const MISSED_HEARTBEATS = 3;

/** A stream's frames, written one at a time; `error` replies never block the reader behind a slow peer. */
class FramedStream {
  readonly writer: FrameWriter;
  private queuedErrors = 0;

  constructor(
    readonly stream: ByteStream,
    private readonly maxFrameBytes: number,
  ) {
    this.writer = new FrameWriter(stream.writable, { maxFrameBytes });
  }

  frames(signal?: AbortSignal) {
    return readFrames(this.stream.readable, { maxFrameBytes: this.maxFrameBytes, ...(signal ? { signal } : {}) });
  }

  send(message: ProtocolMessage): Promise<void> {
    return this.writer.write(message);
  }

  replyError(code: string, text: string, id?: string): void {
    if (this.queuedErrors >= MAX_QUEUED_ERRORS) return;
    this.queuedErrors++;
    const message = text.length > LIMITS.shortTextLength ? `${text.slice(0, LIMITS.shortTextLength - 1)}…` : text;
    this.writer
      .write({ v: 1, type: 'error', code, message, ...(id !== undefined && id.length <= LIMITS.idLength && /^[!-~]+$/.test(id) ? { id } : {}) })
      .catch(() => undefined)
      .finally(() => this.queuedErrors--);
  }

  /** Our side is done: flush and close the write side, and stop reading. */
  async finish(): Promise<void> {
    await this.writer.close().catch(() => undefined);
    await this.stream.readable.cancel().catch(() => undefined);
  }

  abort(reason?: unknown): void {
    this.stream.abort(reason);
  }
}

/** One connection's state: its control stream, its bad-message count, and the session once hello passed. */
class Connection {
  strikes = 0;
  session: AgentSession | undefined;
  control: FramedStream | undefined;
  closing = false;

  constructor(
    readonly quic: QuicSession,
    private readonly server: AgentServer,
  ) {}

  /** Counts a bad message; past the budget the connection is closed. */
  strike(reason: string): void {
    this.strikes++;
    if (this.strikes === this.server.budget + 1) {
      this.server.log(`agent connection ${this.quic.remote}${this.session ? ` (${this.session.agentId})` : ''}: closed after ${this.server.budget} bad messages; last: ${reason}`);
      void this.close('too many malformed messages');
    }
  }

  async close(reason: string): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.quic.close({ force: true, reason });
  }
}

/** An authenticated agent's session: one connection, one control stream. */
export class AgentSession {
  readonly sessionId = randomUUID();
  readonly connectedAt = new Date();
  private readonly acks = new Map<string, { resolve(ack: ControlAckMessage): void; reject(error: Error): void }>();
  private ended = false;

  constructor(
    private readonly connection: Connection,
    private readonly server: AgentServer,
    /** The hello, credential redacted. */
    readonly hello: HelloMessage,
  ) {}

  get agentId(): string {
    return this.hello.agentId;
  }

  get remote(): string {
    return this.connection.quic.remote;
  }

  get closed(): boolean {
    return this.ended || this.connection.closing || this.connection.quic.isClosed;
  }

  /** Resolves when the connection is gone. */
  get done(): Promise<void> {
    return this.connection.quic.closed;
  }

  strike(reason: string): void {
    this.connection.strike(reason);
  }

  /** A new task stream; `messages()` yields only valid, routed, in-order messages from the agent. */
  openTaskStream(): TaskChannel {
    if (this.closed) throw new Error(`the session of agent ${this.agentId} is closed`);
    return new TaskChannel(new FramedStream(this.connection.quic.openStream(), this.server.maxFrameBytes), this);
  }

  /** Sends a control command on the control stream and waits for its acknowledgement. */
  async control(command: ControlMessage['command'], taskId?: string, reason?: string): Promise<ControlAckMessage> {
    const control = this.connection.control;
    if (this.closed || !control) throw new Error(`agent ${this.agentId} is not connected`);
    const id = `c-${randomUUID()}`;
    const acked = new Promise<ControlAckMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.acks.delete(id);
        reject(new Error(`agent ${this.agentId} did not acknowledge ${command} within ${CONTROL_ACK_TIMEOUT_MS / 1000} s`));
      }, CONTROL_ACK_TIMEOUT_MS);
      this.acks.set(id, {
        resolve: (ack) => {
          clearTimeout(timer);
          resolve(ack);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
    await control.send({ v: 1, type: 'control', id, command, ...(taskId !== undefined ? { taskId } : {}), ...(reason !== undefined ? { reason: reason.slice(0, LIMITS.shortTextLength) } : {}) });
    return acked;
  }

  /** @internal */
  acknowledge(ack: ControlAckMessage): boolean {
    const waiter = ack.id === undefined ? undefined : this.acks.get(ack.id);
    if (!waiter) return false;
    this.acks.delete(ack.id!);
    waiter.resolve(ack);
    return true;
  }

  /** @internal */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const waiter of this.acks.values()) waiter.reject(new Error(`agent ${this.agentId} disconnected`));
    this.acks.clear();
  }

  close(reason: string): Promise<void> {
    return this.connection.close(reason);
  }
}

/** One task stream of a session, with the task-stream state machine applied to what the agent sends. */
export class TaskChannel {
  private state: TaskStream = NEW_TASK_STREAM;

  constructor(
    private readonly framed: FramedStream,
    private readonly session: AgentSession,
    /** Set for a stream the agent opened (it speaks first); the operator's own streams start with task_assign. */
    state?: TaskStream,
  ) {
    if (state) this.state = state;
  }

  async send(message: ProtocolMessage): Promise<void> {
    const next = advanceTaskStream(this.state, message);
    if ('error' in next) throw new Error(`refusing to send: ${next.error}`);
    this.state = next.stream;
    await this.framed.send(message);
  }

  /** The agent's messages on this stream; bad ones are answered, counted and skipped. Ends with the stream. */
  async *messages(signal?: AbortSignal): AsyncGenerator<ProtocolMessage, void, undefined> {
    for await (const event of this.framed.frames(signal)) {
      if ('error' in event) {
        if (event.error.code === 'stream_error') return;
        this.session.strike(event.error.message);
        this.framed.replyError(event.error.code, event.error.message, event.error.about?.id);
        if (event.error.fatal) return;
        continue;
      }
      const message = event.message;
      const misrouted = checkRoute(message, 'task', 'agent');
      if (misrouted) {
        this.session.strike(misrouted);
        this.framed.replyError('wrong_stream', misrouted, message.id);
        continue;
      }
      const next = advanceTaskStream(this.state, message);
      if ('error' in next) {
        this.session.strike(next.error);
        this.framed.replyError('out_of_order', next.error, message.id);
        continue;
      }
      this.state = next.stream;
      if (message.type === 'error') continue;
      yield message;
    }
  }

  finish(): Promise<void> {
    return this.framed.finish();
  }

  abort(reason?: unknown): void {
    this.framed.abort(reason);
  }
}

export class AgentServer {
  readonly budget: number;
  readonly maxFrameBytes: number;
  private readonly connections = new Set<Connection>();
  private quic: QuicServerHandle | undefined;

  private constructor(private readonly o: AgentServerOptions) {
    this.budget = o.badMessageBudget ?? DEFAULT_BAD_MESSAGE_BUDGET;
    this.maxFrameBytes = o.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  static async start(o: AgentServerOptions): Promise<AgentServer> {
    const server = new AgentServer(o);
    server.quic = await startQuicServer({
      host: o.host,
      port: o.port,
      certPem: o.certPem,
      keyPem: o.keyPem,
      ...(o.quic ? { settings: o.quic } : {}),
      log: (line) => o.log(line),
      onSession: (quic) => server.accept(quic),
    });
    return server;
  }

  get port(): number {
    return this.quic!.port;
  }

  log(line: string): void {
    this.o.log(line);
  }

  async stop(): Promise<void> {
    for (const connection of this.connections) connection.session?.end();
    await this.quic?.stop().catch((error: unknown) => this.o.log(`agent server: stopping: ${(error as Error).message}`));
  }

  private accept(quic: QuicSession): void {
    const connection = new Connection(quic, this);
    this.connections.add(connection);
    const helloTimer = setTimeout(() => {
      if (!connection.session) void connection.close('no hello in time');
    }, this.o.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS);
    quic.onStream((stream) => {
      if (connection.closing) return stream.abort();
      if (!connection.control) {
        connection.control = new FramedStream(stream, this.maxFrameBytes);
        void this.serveControl(connection, connection.control).catch((error: unknown) => {
          this.o.log(`agent connection ${quic.remote}: control stream failed: ${(error as Error).message}`);
          void connection.close('internal error');
        });
        return;
      }
      const session = connection.session;
      if (!session) {
        connection.strike('stream opened before hello');
        return stream.abort();
      }
      void this.serveResultStream(session, new TaskChannel(new FramedStream(stream, this.maxFrameBytes), session)).catch(() => stream.abort());
    });
    void quic.closed.then(() => {
      clearTimeout(helloTimer);
      this.connections.delete(connection);
      const session = connection.session;
      if (session) {
        session.end();
        this.o.onSessionClose(session);
      }
    });
  }

  private async serveControl(connection: Connection, control: FramedStream): Promise<void> {
    let silence: NodeJS.Timeout | undefined;
    let refused = false;
    const watch = () => {
      clearTimeout(silence);
      silence = setTimeout(() => {
        this.o.log(`agent ${connection.session?.agentId}: no heartbeat for ${MISSED_HEARTBEATS * this.o.heartbeatSeconds} s; closing its session`);
        void connection.close('heartbeats missed');
      }, MISSED_HEARTBEATS * this.o.heartbeatSeconds * 1000);
    };
    try {
      for await (const event of control.frames()) {
        if (connection.closing) break;
        if ('error' in event) {
          if (event.error.code === 'stream_error') break;
          connection.strike(event.error.message);
          control.replyError(event.error.code, event.error.message, event.error.about?.id);
          if (event.error.fatal) break;
          continue;
        }
        const message = event.message;
        const misrouted = checkRoute(message, 'control', 'agent');
        if (misrouted) {
          connection.strike(misrouted);
          control.replyError('wrong_stream', misrouted, message.id);
          continue;
        }
        const session = connection.session;
        if (!session) {
          if (message.type !== 'hello') {
            connection.strike(`${message.type} before hello`);
            control.replyError('hello_required', `say hello first (got ${message.type})`, message.id);
            continue;
          }
          const accepted = await this.hello(connection, control, message);
          if (!accepted) {
            refused = true;
            return;
          }
          watch();
          continue;
        }
        watch();
        switch (message.type) {
          case 'hello':
            connection.strike('second hello');
            control.replyError('already_welcomed', 'this session has already said hello', message.id);
            break;
          case 'heartbeat':
            control.send({ v: 1, type: 'heartbeat_ack', ...(message.id !== undefined ? { id: message.id } : {}) }).catch(() => undefined);
            this.o.onHeartbeat(session, message);
            break;
          case 'status_report':
            this.o.onStatusReport(session, message);
            break;
          case 'control_ack':
            if (!session.acknowledge(message)) this.o.log(`agent ${session.agentId}: control_ack for an unknown command ${message.id ?? '(no id)'}`);
            break;
          case 'error':
            this.o.log(`agent ${session.agentId} reports an error: ${message.code}: ${this.o.mask(message.message)}`);
            break;
        }
      }
    } finally {
      clearTimeout(silence);
      // Without its control stream a session cannot be driven: the connection goes with it. A refused agent
      // closes by itself once it has read why; the refusal closes it later otherwise.
      if (!refused) void connection.close('control stream ended');
    }
  }

  private async hello(connection: Connection, control: FramedStream, hello: HelloMessage): Promise<boolean> {
    const refuse = async (reason: string) => {
      this.o.log(`agent ${hello.agentId} from ${connection.quic.remote} refused: ${reason}`);
      await control
        .send({ v: 1, type: 'welcome', ...(hello.id !== undefined ? { id: hello.id } : {}), accepted: false, reason, serverVersion: SERVER_VERSION, protocolVersion: PROTOCOL_VERSION })
        .catch(() => undefined);
      // The refusal must reach the agent before the connection goes, and closing the connection now would
      // drop what is still unsent: the agent hangs up once it has read it, or this does a little later.
      await control.writer.close().catch(() => undefined);
      setTimeout(() => void connection.close(reason), REFUSAL_LINGER_MS).unref();
      return false;
    };
    if (!isCompatibleProtocol(hello.protocolVersion)) return refuse(`protocol ${hello.protocolVersion} is not supported (this operator speaks ${PROTOCOL_VERSION})`);
    let verdict: CredentialVerdict;
    try {
      verdict = await this.o.verify(hello.agentId, hello.credential);
    } catch (error) {
      this.o.log(`agent ${hello.agentId}: credential check failed: ${(error as Error).message}`);
      verdict = { ok: false, reason: 'the operator could not check the credential; try again later' };
    }
    if (!verdict.ok) return refuse(verdict.reason);
    if (connection.closing) return false;
    const session = new AgentSession(connection, this, redactMessage(hello) as HelloMessage);
    connection.session = session;
    await control.send({
      v: 1,
      type: 'welcome',
      ...(hello.id !== undefined ? { id: hello.id } : {}),
      accepted: true,
      sessionId: session.sessionId,
      heartbeatSeconds: this.o.heartbeatSeconds,
      serverVersion: SERVER_VERSION,
      protocolVersion: PROTOCOL_VERSION,
    });
    this.o.onSessionOpen(session);
    return true;
  }

  /** A stream the agent opened after hello: it re-delivers one journaled result and waits for result_ack. */
  private async serveResultStream(session: AgentSession, channel: TaskChannel): Promise<void> {
    const done = AbortSignal.timeout(60_000);
    try {
      for await (const message of channel.messages(done)) {
        if (message.type !== 'result') continue;
        await this.o.onResult(session, message);
        await channel.send({ v: 1, type: 'result_ack', taskId: message.taskId });
        break;
      }
    } finally {
      await channel.finish();
    }
  }
}
