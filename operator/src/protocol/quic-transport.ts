/**
 * QUIC (TLS 1.3) for the agent protocol, over @matrixai/quic: a server for the operator, a client for the
 * agent, and a connection's bidirectional streams as `{ readable, writable }` pairs for the framing module.
 * Nothing here knows about messages; the agent hub and the agent put frames on these streams.
 *
 * The library's defaults never time a connection out (`maxIdleTimeout: 0`, no keep-alive); QUIC_SETTINGS says
 * what was chosen instead and what the measurements showed.
 */
import { webcrypto } from 'node:crypto';
import { Socket as UdpSocket } from 'node:dgram';
import { isIP } from 'node:net';
import Logger, { Handler, LogLevel } from '@matrixai/logger';
import { events as quicEvents, QUICClient, QUICServer, type QUICConnection, type QUICStream } from '@matrixai/quic';

/**
 * The knobs that matter for the agent connection. Time in milliseconds, sizes in bytes.
 *
 * Measured on loopback between two processes (2 vCPUs; 1000 sequential 200-byte round trips on one stream,
 * then 5 MiB on one stream; three runs each): handshake 45-50 ms; 1000 round trips 2.2-2.6 s (p50 1.8 ms,
 * p99 16 ms); bulk 1.6-2.6 MiB/s. Neither the readable chunk (4, 16, 64 KiB), nor the stream window
 * (256 KiB, 1 MiB, 4 MiB), nor the UDP payload (1350, 8192) moved those numbers beyond run-to-run noise: a CPU
 * profile puts the time in the library's per-packet work (event objects, an Error built for every quiche
 * `Done`, abort signals, one dgram send per packet) and GC, not in waiting for credit. So the values are chosen
 * for memory and liveness, and the protocol is shaped to need little bandwidth (batched log lines, no
 * artifacts over the connection):
 * - `readableChunkBytes` 4 KiB: each open stream holds one such buffer on top of quiche's; bigger bought nothing.
 * - `streamWindowBytes` 1 MiB: one largest frame (DEFAULT_MAX_FRAME_BYTES) fits the window, so a big frame
 *   never waits for a window update mid-way.
 * - `connectionWindowBytes` 4 MiB: several task streams can each have a large frame in flight, while what one
 *   connection can make the other side buffer stays bounded (the library's default is 10 MiB).
 * - `maxUdpPayloadBytes` 1350, the library's default: fits a 1500-byte path; larger only helps on loopback.
 * - `maxIdleTimeoutMs` 30 s with `keepAliveIntervalMs` 5 s: a dead peer (network cut, host gone) is noticed
 *   within 30 s without any traffic of ours, and up to five lost keep-alives in a row are tolerated.
 *   Only the client (the agent) sends keep-alives: its PINGs and the ACKs they draw restart the idle timer
 *   at both ends and keep NAT mappings open, so the server's own PINGs to every agent only doubled the
 *   packets. Measured with bench/agent-scale.ts (250 idle agents, heartbeat 10 s, history in PostgreSQL): the
 *   operator's CPU went from 18 % to 12.5 % of a core without them; a dead agent is still dropped by the same
 *   idle timeout.
 */
export interface QuicSettings {
  maxIdleTimeoutMs: number;
  keepAliveIntervalMs: number;
  /** Receive window of one bidirectional stream. */
  streamWindowBytes: number;
  /** Receive window of a whole connection (all its streams). */
  connectionWindowBytes: number;
  /** Streams the peer may have open at once: one control stream plus running tasks and result re-deliveries. */
  maxStreams: number;
  readableChunkBytes: number;
  maxUdpPayloadBytes: number;
  /** How long a handshake may take before the attempt is given up. */
  handshakeTimeoutMs: number;
}

export const QUIC_SETTINGS: Readonly<QuicSettings> = {
  maxIdleTimeoutMs: 30_000,
  keepAliveIntervalMs: 5_000,
  streamWindowBytes: 1024 * 1024,
  connectionWindowBytes: 4 * 1024 * 1024,
  maxStreams: 256,
  readableChunkBytes: 4 * 1024,
  maxUdpPayloadBytes: 1350,
  handshakeTimeoutMs: 10_000,
};

/**
 * The receive buffer asked for the server's UDP socket. Every agent's packets land in that one socket, and the
 * default (net.core.rmem_default, 208 KiB on Linux: a hundred or two datagrams) overflowed whenever the
 * operator's event loop paused for a few hundred milliseconds with hundreds of agents connected. Each drop is a
 * retransmission later, a lost handshake packet can cost the handshake, and the extra work makes the next pause
 * longer: bench/agent-scale.ts connecting 1,000 agents at 20/s on 2 vCPUs saw 60,000 drops, 84 ms of operator
 * CPU per agent and only 896 online after 3 minutes with the default; with this, no drop, 25 ms per agent and
 * all online as fast as they dialed. The kernel caps it at net.core.rmem_max (a warning says so).
 */
export const SERVER_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

/** ALPN: both sides must name it, so a stray QUIC client of another protocol is turned away at the handshake. */
export const AGENT_ALPN = 'shipway-agent/1';

/** One bidirectional stream, as the framing module wants it. */
export interface ByteStream {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  /** Ends both directions at once (the peer sees a reset); for a stream that misbehaves. */
  abort(reason?: unknown): void;
}

/** One QUIC connection, on either side. */
export interface QuicSession {
  /** `host:port` of the peer. */
  readonly remote: string;
  readonly closed: Promise<void>;
  readonly isClosed: boolean;
  openStream(): ByteStream;
  /** Streams the peer opens; those that arrived before a listener was set are handed to it at once. */
  onStream(listener: (stream: ByteStream) => void): void;
  /** Closes the connection: `force` resets open streams instead of waiting for them to finish. */
  close(options?: { force?: boolean; reason?: string }): Promise<void>;
}

export interface QuicServerHandle {
  readonly host: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface QuicServerOptions {
  host: string;
  port: number;
  certPem: string;
  keyPem: string;
  settings?: Partial<QuicSettings>;
  onSession(session: QuicSession): void;
  /** Library diagnostics at WARN and above. */
  log?(line: string): void;
}

export interface QuicClientOptions {
  host: string;
  port: number;
  /** The name the operator's certificate must carry (checked against its SANs). */
  serverName: string;
  /** PEM of the CA that signed the operator's certificate; the only CA trusted. */
  caPem: string;
  settings?: Partial<QuicSettings>;
  signal?: AbortSignal;
  log?(line: string): void;
}

function libraryConfig(settings: QuicSettings) {
  return {
    maxIdleTimeout: settings.maxIdleTimeoutMs,
    keepAliveIntervalTime: settings.keepAliveIntervalMs,
    initialMaxData: settings.connectionWindowBytes,
    initialMaxStreamDataBidiLocal: settings.streamWindowBytes,
    initialMaxStreamDataBidiRemote: settings.streamWindowBytes,
    // No unidirectional streams in this protocol: a peer opening one gets no credit.
    initialMaxStreamDataUni: 0,
    initialMaxStreamsUni: 0,
    initialMaxStreamsBidi: settings.maxStreams,
    readableChunkSize: settings.readableChunkBytes,
    maxSendUdpPayloadSize: settings.maxUdpPayloadBytes,
    applicationProtos: [AGENT_ALPN],
  };
}

/** Hands the library's log lines to our sink; the library's own default prints to stderr. */
class LineHandler extends Handler {
  constructor(private readonly sink: (line: string) => void) {
    super();
  }

  emit(output: string): void {
    this.sink(output);
  }
}

function libraryLogger(name: string, log: ((line: string) => void) | undefined): Logger {
  // Closed connections are logged at INFO; WARN and above is what an operator wants to see.
  return new Logger(name, LogLevel.WARN, log ? [new LineHandler((line) => log(`${name}: ${line}`))] : []);
}

async function hmac(key: ArrayBuffer, usage: 'sign' | 'verify') {
  return webcrypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, [usage]);
}

/** Stateless retry tokens (address validation) are HMAC-SHA256 under a key that lives as long as the server. */
const serverCrypto = () => ({
  key: webcrypto.getRandomValues(new Uint8Array(32)).buffer,
  ops: {
    sign: async (key: ArrayBuffer, data: ArrayBuffer) => webcrypto.subtle.sign('HMAC', await hmac(key, 'sign'), data),
    verify: async (key: ArrayBuffer, data: ArrayBuffer, signature: ArrayBuffer) => webcrypto.subtle.verify('HMAC', await hmac(key, 'verify'), signature, data),
  },
});

const clientCrypto = {
  ops: {
    randomBytes: async (data: ArrayBuffer): Promise<void> => {
      webcrypto.getRandomValues(new Uint8Array(data));
    },
  },
};

function byteStream(stream: QUICStream): ByteStream {
  return {
    readable: stream.readable as ReadableStream<Uint8Array>,
    writable: stream.writable as WritableStream<Uint8Array>,
    abort(reason?: unknown) {
      // Both may already be closed or errored; either way the stream is done with.
      stream.readable.cancel(reason).catch(() => undefined);
      stream.writable.abort(reason).catch(() => undefined);
    },
  };
}

class Session implements QuicSession {
  private listener: ((stream: ByteStream) => void) | undefined;
  private readonly early: ByteStream[] = [];
  private done = false;
  readonly closed: Promise<void>;

  constructor(
    private readonly connection: QUICConnection,
    readonly remote: string,
    private readonly shutdown: (options: { force: boolean; reason?: string }) => Promise<void>,
  ) {
    connection.addEventListener(quicEvents.EventQUICConnectionStream.name, (event: Event) => {
      const stream = byteStream((event as quicEvents.EventQUICConnectionStream).detail);
      if (this.listener) this.listener(stream);
      else this.early.push(stream);
    });
    // Errors end up as a close; the library rethrows only internal errors, which are its bugs.
    connection.addEventListener(quicEvents.EventQUICConnectionError.name, () => undefined);
    this.closed = connection.closedP.then(() => {
      this.done = true;
    });
  }

  get isClosed(): boolean {
    return this.done || this.connection.closed;
  }

  openStream(): ByteStream {
    return byteStream(this.connection.newStream('bidi'));
  }

  onStream(listener: (stream: ByteStream) => void): void {
    this.listener = listener;
    for (const stream of this.early.splice(0)) listener(stream);
  }

  async close(options: { force?: boolean; reason?: string } = {}): Promise<void> {
    if (this.isClosed) return;
    await this.shutdown({ force: options.force ?? false, ...(options.reason !== undefined ? { reason: options.reason } : {}) }).catch(() => undefined);
  }
}

const reasonBytes = (reason: string | undefined) => (reason === undefined ? undefined : new TextEncoder().encode(reason.slice(0, 200)));

export async function startQuicServer(options: QuicServerOptions): Promise<QuicServerHandle> {
  const settings = { ...QUIC_SETTINGS, ...options.settings };
  const server = new QUICServer({
    crypto: serverCrypto(),
    // No keep-alives from this side: the agents send them (see QUIC_SETTINGS).
    config: { ...libraryConfig(settings), keepAliveIntervalTime: undefined, key: options.keyPem, cert: options.certPem, verifyPeer: false },
    // A client that starts a handshake and never finishes it is dropped after this, not after the idle timeout.
    minIdleTimeout: settings.handshakeTimeoutMs,
    logger: libraryLogger('quic-server', options.log),
  });
  server.addEventListener(quicEvents.EventQUICServerConnection.name, (event: Event) => {
    const connection = (event as quicEvents.EventQUICServerConnection).detail;
    const session = new Session(connection, `${connection.remoteHost}:${connection.remotePort}`, ({ force, reason }) => {
      const bytes = reasonBytes(reason);
      return connection.stop({ isApp: true, errorCode: 0, force, ...(bytes ? { reason: bytes } : {}) });
    });
    try {
      options.onSession(session);
    } catch (error) {
      options.log?.(`quic-server: session handler failed: ${(error as Error).message}`);
      void session.close({ force: true });
    }
  });
  // A failed handshake surfaces as an error event on the server; it must not take the process down.
  server.addEventListener(quicEvents.EventQUICServerError.name, (event: Event) => {
    options.log?.(`quic-server: ${String((event as quicEvents.EventQUICServerError).detail)}`);
  });
  await server.start({ host: options.host, port: options.port });
  enlargeReceiveBuffer(server, options.log);
  return {
    host: server.host,
    port: server.port,
    stop: () => server.stop({ force: true }),
  };
}

/** The library binds the server's socket itself and has no option for its buffers: set it on the bound socket. */
function enlargeReceiveBuffer(server: QUICServer, log: ((line: string) => void) | undefined): void {
  const udp = (server as unknown as { socket?: { socket?: unknown } }).socket?.socket;
  if (!(udp instanceof UdpSocket)) {
    log?.('quic-server: cannot reach the UDP socket to enlarge its receive buffer (library internals changed?)');
    return;
  }
  try {
    udp.setRecvBufferSize(SERVER_RECEIVE_BUFFER_BYTES);
    // Linux reports twice what it grants (the bookkeeping overhead); less than asked means rmem_max capped it.
    const granted = udp.getRecvBufferSize() / 2;
    if (process.platform === 'linux' && granted < SERVER_RECEIVE_BUFFER_BYTES) {
      log?.(`quic-server: UDP receive buffer capped at ${Math.round(granted / 1024)} KiB by net.core.rmem_max; with hundreds of agents raise it to ${SERVER_RECEIVE_BUFFER_BYTES} (sysctl net.core.rmem_max) or packets are dropped`);
    }
  } catch (error) {
    log?.(`quic-server: cannot enlarge the UDP receive buffer: ${(error as Error).message}`);
  }
}

/** Dials the operator; rejects when the handshake fails (unreachable, certificate refused, timeout). */
export async function connectQuic(options: QuicClientOptions): Promise<QuicSession> {
  // Measured: the library's verification matches the name against DNS SANs only, so an IP address never
  // verifies (even with an IP SAN); say so instead of failing the handshake with a bare TlsFail.
  if (isIP(options.serverName)) throw new Error(`server name ${options.serverName} is an IP address, which cannot be verified over QUIC here: use a DNS name the server certificate carries`);
  const settings = { ...QUIC_SETTINGS, ...options.settings };
  const timer = Math.min(settings.handshakeTimeoutMs, settings.maxIdleTimeoutMs || Infinity);
  const client = await QUICClient.createQUICClient(
    {
      host: options.host,
      port: options.port,
      serverName: options.serverName,
      crypto: clientCrypto,
      config: { ...libraryConfig(settings), verifyPeer: true, ca: options.caPem },
      logger: libraryLogger('quic-client', options.log),
    },
    { timer, ...(options.signal ? { signal: options.signal } : {}) },
  );
  client.addEventListener(quicEvents.EventQUICClientError.name, () => undefined);
  const session = new Session(client.connection, `${options.host}:${options.port}`, ({ force, reason }) => {
    const bytes = reasonBytes(reason);
    return client.destroy({ isApp: true, errorCode: 0, force, ...(bytes ? { reason: bytes } : {}) });
  });
  // The client owns its socket: once the connection is gone (idle timeout, peer closed), release it too.
  void session.closed.then(() => client.destroy({ force: true }).catch(() => undefined));
  return session;
}
