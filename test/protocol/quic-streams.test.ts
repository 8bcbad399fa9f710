/**
 * The framing adapters over a real @matrixai/quic connection on loopback: the stream types, chunking (4 KiB
 * readable chunks) and back-pressure are the library's, not a stand-in's. Server and client share this process.
 */
import { webcrypto } from 'node:crypto';
import Logger, { LogLevel } from '@matrixai/logger';
import { events as quicEvents, QUICClient, QUICServer, type QUICStream } from '@matrixai/quic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame, FrameWriter, readFrames, type FrameEvent } from '../../operator/src/protocol/framing.ts';
import type { ProtocolMessage } from '../../operator/src/protocol/messages.ts';
import { generateServingCertificates } from '../kube-api/tls.ts';
import { ALL_SAMPLES, SAMPLES } from './sample-messages.ts';

const FRAMES_EACH_WAY = 300;
const logger = new Logger('quic', LogLevel.WARN);

const serverCrypto = {
  key: webcrypto.getRandomValues(new Uint8Array(32)).buffer,
  ops: {
    async sign(key: ArrayBuffer, data: ArrayBuffer): Promise<ArrayBuffer> {
      const hmac = await webcrypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      return webcrypto.subtle.sign('HMAC', hmac, data);
    },
    async verify(key: ArrayBuffer, data: ArrayBuffer, signature: ArrayBuffer): Promise<boolean> {
      const hmac = await webcrypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
      return webcrypto.subtle.verify('HMAC', hmac, signature, data);
    },
  },
};

const clientCrypto = {
  ops: {
    async randomBytes(data: ArrayBuffer): Promise<void> {
      webcrypto.getRandomValues(new Uint8Array(data));
    },
  },
};

/** Frames the agent would send: every sample, plus a result whose output tail spans many QUIC chunks. */
function outgoing(count: number, from: string): ProtocolMessage[] {
  const big: ProtocolMessage = { ...(SAMPLES.result[0] as ProtocolMessage & { type: 'result' }), outputTail: `${from} `.repeat(6_000) };
  return Array.from({ length: count }, (_, i) => {
    if (i % 100 === 50) return big;
    const sample = ALL_SAMPLES[i % ALL_SAMPLES.length]!;
    return { ...sample, id: `${from}-${i}` } as ProtocolMessage;
  });
}

/** Everything until the peer closes its side (or 20 s pass). */
async function readAll(stream: QUICStream): Promise<FrameEvent[]> {
  const events: FrameEvent[] = [];
  for await (const event of readFrames(stream.readable, { signal: AbortSignal.timeout(20_000) })) events.push(event);
  return events;
}

describe('framing over a real QUIC connection', () => {
  let server: QUICServer;
  let client: QUICClient;
  /** One per stream the server saw: resolves when the server's side of it has finished, cleanly or not. */
  const serverSides: Promise<void>[] = [];

  beforeAll(async () => {
    const certs = await generateServingCertificates({ hosts: ['localhost', '127.0.0.1'] });
    server = new QUICServer({
      crypto: serverCrypto,
      config: { key: certs.keyPem, cert: certs.certPem, verifyPeer: false, maxIdleTimeout: 10_000 },
      logger: logger.getChild('server'),
    });
    // The server's side of a stream: read every frame and answer each with a frame of its own.
    server.addEventListener(quicEvents.EventQUICServerConnection.name, (event: Event) => {
      const connection = (event as quicEvents.EventQUICServerConnection).detail;
      connection.addEventListener(quicEvents.EventQUICConnectionStream.name, (streamEvent: Event) => {
        const stream = (streamEvent as quicEvents.EventQUICConnectionStream).detail;
        const answer = async () => {
          const writer = new FrameWriter(stream.writable);
          const replies = outgoing(FRAMES_EACH_WAY, 'operator');
          let i = 0;
          for await (const frame of readFrames(stream.readable)) {
            if ('message' in frame) await writer.write(replies[i++ % FRAMES_EACH_WAY]!);
          }
          await writer.close();
        };
        serverSides.push(answer());
      });
    });
    await server.start({ host: '127.0.0.1', port: 0 });
    client = await QUICClient.createQUICClient({
      host: '127.0.0.1',
      port: server.port,
      serverName: 'localhost',
      crypto: clientCrypto,
      config: { verifyPeer: true, ca: certs.caCertPem, maxIdleTimeout: 10_000 },
      logger: logger.getChild('client'),
    });
  }, 30_000);

  afterAll(async () => {
    await Promise.allSettled(serverSides);
    await client?.destroy({ force: true });
    await server?.stop({ force: true });
  }, 30_000);

  it(`carries ${FRAMES_EACH_WAY} frames each way on one bidirectional stream, intact and in order`, async () => {
    const stream = client.connection.newStream('bidi');
    const writer = new FrameWriter(stream.writable);
    const sent = outgoing(FRAMES_EACH_WAY, 'agent');
    const started = performance.now();
    // Writing and reading at once: the operator answers frame by frame while the agent is still sending.
    const reading = readAll(stream);
    for (const message of sent) await writer.write(message);
    // The agent's close reaches the server as the end of its frames; the server then closes its side.
    await writer.close();
    const received = await reading;
    const elapsed = performance.now() - started;
    expect(received).toEqual(outgoing(FRAMES_EACH_WAY, 'operator').map((message) => ({ message })));
    await expect(serverSides[0]).resolves.toBeUndefined();
    const bytes = sent.reduce((n, m) => n + JSON.stringify(m).length + 4, 0);
    console.log(`quic framing: ${FRAMES_EACH_WAY} frames each way (${(bytes / 1024).toFixed(0)} KiB each way) in ${elapsed.toFixed(0)} ms`);
  }, 30_000);

  it('skips a malformed frame on a QUIC stream and answers the valid message behind it', async () => {
    const stream = client.connection.newStream('bidi');
    const garbage = new TextEncoder().encode('{"v":1,"type":"hello"');
    const bad = new Uint8Array(4 + garbage.byteLength);
    new DataView(bad.buffer).setUint32(0, garbage.byteLength, false);
    bad.set(garbage, 4);
    const good = encodeFrame(SAMPLES.heartbeat[0]!);
    const raw = stream.writable.getWriter();
    await raw.write(bad);
    await raw.write(good);
    await raw.close();
    expect(await readAll(stream)).toEqual([{ message: outgoing(1, 'operator')[0] }]);
  }, 30_000);

  it('answers sequential request/response round trips on one stream', async () => {
    const stream = client.connection.newStream('bidi');
    const writer = new FrameWriter(stream.writable);
    const frames = readFrames(stream.readable, { signal: AbortSignal.timeout(20_000) })[Symbol.asyncIterator]();
    const started = performance.now();
    for (let i = 0; i < 100; i++) {
      await writer.write({ v: 1, type: 'heartbeat', id: `hb-${i}`, runningTasks: [], load: { loadAverage1m: 0, cpus: 1, memoryUsedPercent: 1 } });
      const next = await frames.next();
      expect(next.done).toBe(false);
      expect(next.value).toHaveProperty('message');
    }
    const elapsed = performance.now() - started;
    await writer.close();
    expect(await frames.next()).toEqual({ done: true, value: undefined });
    await expect(serverSides.at(-1)).resolves.toBeUndefined();
    console.log(`quic framing: 100 sequential round trips in ${elapsed.toFixed(0)} ms (${(elapsed / 100).toFixed(2)} ms each)`);
  }, 30_000);
});
