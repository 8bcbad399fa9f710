/**
 * The agent protocol on its transport against TLS over TCP on loopback, both carrying the same frames
 * (operator/src/protocol/framing.ts), server and client in this process:
 * - handshake time;
 * - sequential request/response round trips of a small message (heartbeat → heartbeat_ack);
 * - one-stream throughput of log batches (one direction).
 * QUIC runs with the tuned settings of quic-transport.ts and, for the record, the library's defaults.
 * Prints a table with the ratio QUIC / TLS; run with `make bench` (or `npx tsx bench/agent-protocol.ts`).
 */
import { once } from 'node:events';
import { createServer, connect, type TLSSocket } from 'node:tls';
import { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { createCertificateAuthority, issueCertificate } from '../operator/src/runtime/certificates.ts';
import { connectQuic, startQuicServer, QUIC_SETTINGS, type ByteStream, type QuicSettings } from '../operator/src/protocol/quic-transport.ts';
import { FrameWriter, readFrames } from '../operator/src/protocol/framing.ts';
import type { ProtocolMessage } from '../operator/src/protocol/messages.ts';

const ROUND_TRIPS = Number(process.env.BENCH_ROUND_TRIPS ?? 500);
const BULK_BATCHES = Number(process.env.BENCH_LOG_BATCHES ?? 200);
const LINES_PER_BATCH = 100;
const LINE = 'x'.repeat(120);

interface Transport {
  name: string;
  handshakeMs: number;
  client: ByteStream;
  server: Promise<ByteStream>;
  close(): Promise<void>;
}

const heartbeat = (i: number): ProtocolMessage => ({ v: 1, type: 'heartbeat', id: `h${i + 1}`, runningTasks: [], load: { loadAverage1m: 0.5, cpus: 2, memoryUsedPercent: 40 } });
const ack = (id: string): ProtocolMessage => ({ v: 1, type: 'heartbeat_ack', id });
const batch = (seq: number): ProtocolMessage => ({ v: 1, type: 'log', taskId: 'bench', seq: seq + 1, lines: Array.from({ length: LINES_PER_BATCH }, () => LINE) });
const batchBytes = JSON.stringify(batch(0)).length + 4;

async function quic(certs: { ca: string; cert: string; key: string }, settings: Partial<QuicSettings>, name: string): Promise<Transport> {
  let resolveStream!: (s: ByteStream) => void;
  const server = new Promise<ByteStream>((r) => (resolveStream = r));
  const handle = await startQuicServer({ host: '127.0.0.1', port: 0, certPem: certs.cert, keyPem: certs.key, settings, onSession: (session) => session.onStream(resolveStream) });
  const start = performance.now();
  const session = await connectQuic({ host: '127.0.0.1', port: handle.port, serverName: 'localhost', caPem: certs.ca, settings });
  const handshakeMs = performance.now() - start;
  return { name, handshakeMs, client: session.openStream(), server, close: async () => { await session.close({ force: true }); await handle.stop(); } };
}

async function tls(certs: { ca: string; cert: string; key: string }): Promise<Transport> {
  let resolveStream!: (s: ByteStream) => void;
  const server = new Promise<ByteStream>((r) => (resolveStream = r));
  const sockets: TLSSocket[] = [];
  const listener = createServer({ cert: certs.cert, key: certs.key, minVersion: 'TLSv1.3' }, (socket) => {
    sockets.push(socket);
    resolveStream(toByteStream(socket));
  });
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const port = (listener.address() as { port: number }).port;
  const start = performance.now();
  const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: certs.ca, minVersion: 'TLSv1.3' });
  await once(socket, 'secureConnect');
  socket.setNoDelay(true);
  const handshakeMs = performance.now() - start;
  return {
    name: 'TLS 1.3 over TCP',
    handshakeMs,
    client: toByteStream(socket),
    server,
    close: async () => {
      socket.destroy();
      for (const s of sockets) s.destroy();
      listener.close();
    },
  };
}

function toByteStream(socket: TLSSocket): ByteStream {
  socket.setNoDelay(true);
  const { readable, writable } = Duplex.toWeb(socket) as unknown as { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };
  return { readable, writable, abort: () => socket.destroy() };
}

async function roundTrips(t: Transport): Promise<{ totalMs: number; p50: number; p99: number }> {
  const clientWriter = new FrameWriter(t.client.writable);
  const clientReader = readFrames(t.client.readable)[Symbol.asyncIterator]();
  // The server stream appears once the first frame arrives (QUIC announces a stream with its first data).
  await clientWriter.write(heartbeat(-1));
  const serverStream = await t.server;
  const serverWriter = new FrameWriter(serverStream.writable);
  const echo = (async () => {
    for await (const event of readFrames(serverStream.readable)) {
      if ('message' in event) await serverWriter.write(ack((event.message as { id: string }).id));
    }
  })();
  await clientReader.next();
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const t0 = performance.now();
    await clientWriter.write(heartbeat(i));
    await clientReader.next();
    times.push(performance.now() - t0);
  }
  const totalMs = performance.now() - start;
  times.sort((a, b) => a - b);
  void echo.catch(() => undefined);
  return { totalMs, p50: times[Math.floor(times.length / 2)]!, p99: times[Math.floor(times.length * 0.99)]! };
}

async function throughput(t: Transport): Promise<{ ms: number; mibPerSecond: number }> {
  const writer = new FrameWriter(t.client.writable);
  await writer.write(batch(-1));
  const server = await t.server;
  const reader = readFrames(server.readable)[Symbol.asyncIterator]();
  await reader.next();
  const start = performance.now();
  const sending = (async () => {
    for (let i = 0; i < BULK_BATCHES; i++) await writer.write(batch(i));
  })();
  for (let received = 0; received < BULK_BATCHES; received++) await reader.next();
  await sending;
  const ms = performance.now() - start;
  return { ms, mibPerSecond: (BULK_BATCHES * batchBytes) / 1024 / 1024 / (ms / 1000) };
}

async function main() {
  const ca = await createCertificateAuthority('bench-ca');
  const leaf = await issueCertificate(ca, { subject: 'CN=localhost', usage: 'server', hosts: ['localhost', '127.0.0.1'] });
  const certs = { ca: ca.certPem, cert: leaf.certPem, key: leaf.keyPem };
  const rows: string[][] = [];
  const results: Record<string, { handshake: number; rt: Awaited<ReturnType<typeof roundTrips>>; bulk: Awaited<ReturnType<typeof throughput>> }> = {};
  const defaults: Partial<QuicSettings> = { readableChunkBytes: 4096, connectionWindowBytes: 10 * 1024 * 1024, maxIdleTimeoutMs: 30_000 };
  for (const make of [() => tls(certs), () => quic(certs, QUIC_SETTINGS, 'QUIC (tuned)'), () => quic(certs, defaults, 'QUIC (library defaults)')]) {
    const a = await make();
    const rt = await roundTrips(a);
    await a.close();
    const b = await make();
    const bulk = await throughput(b);
    await b.close();
    results[a.name] = { handshake: a.handshakeMs, rt, bulk };
  }
  const base = results['TLS 1.3 over TCP']!;
  for (const [name, r] of Object.entries(results)) {
    rows.push([
      name,
      `${r.handshake.toFixed(1)} ms`,
      `${r.rt.totalMs.toFixed(0)} ms (p50 ${r.rt.p50.toFixed(2)}, p99 ${r.rt.p99.toFixed(2)})`,
      `${r.bulk.mibPerSecond.toFixed(1)} MiB/s`,
      name === 'TLS 1.3 over TCP' ? '1' : `${(r.rt.totalMs / base.rt.totalMs).toFixed(1)}x slower RT, ${(base.bulk.mibPerSecond / r.bulk.mibPerSecond).toFixed(1)}x slower bulk`,
    ]);
  }
  const head = ['transport', 'handshake', `${ROUND_TRIPS} round trips`, `one stream, ${BULK_BATCHES} log batches of ${(batchBytes / 1024).toFixed(1)} KiB`, 'vs TLS/TCP'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

await main();
process.exit(0);
