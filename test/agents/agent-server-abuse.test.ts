/**
 * Hostile input on the agent endpoint over real QUIC: a client that floods malformed, misrouted and oversized
 * frames (10,000 of them, over as many connections as the server lets it have), while a good agent keeps
 * heartbeating and running tasks; and a malformed message inside an authenticated session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentHub } from '../../operator/src/agents/agent-hub.ts';
import { DEFAULT_BAD_MESSAGE_BUDGET } from '../../operator/src/agents/agent-server.ts';
import { encodeFrame, FrameWriter, readFrames } from '../../operator/src/protocol/framing.ts';
import { PROTOCOL_VERSION, type ProtocolMessage } from '../../operator/src/protocol/messages.ts';
import { connectQuic, type ByteStream } from '../../operator/src/protocol/quic-transport.ts';
import { until } from '../support/until.ts';
import { makeCertificates, markerTask, Operatorside, removeTempDirs, startAgent, tempDir, type Certificates, type InProcessAgent } from './agent-fixtures.ts';

const MESSAGES = 10_000;
const FLOODERS = 2;
const FRAMES_PER_CONNECTION = 130;

const text = new TextEncoder();

/** A frame with this payload, whatever it is (the framing module only frames valid messages). */
function rawFrame(payload: string | Uint8Array): Uint8Array {
  const bytes = typeof payload === 'string' ? text.encode(payload) : payload;
  const frame = new Uint8Array(4 + bytes.byteLength);
  new DataView(frame.buffer).setUint32(0, bytes.byteLength, false);
  frame.set(bytes, 4);
  return frame;
}

const validHello = (agentId: string, credential: string): ProtocolMessage => ({
  v: 1,
  type: 'hello',
  agentId,
  credential,
  agentVersion: 'test',
  protocolVersion: PROTOCOL_VERSION,
  hostname: 'bad-host',
  capabilities: [],
  installed: [],
  runningTasks: [],
  unacknowledgedResults: [],
});

// Sizes are kept moderate: the library moves ~2 MiB/s, and the point is the count of bad messages, not bytes.
const deep = `${'['.repeat(5_000)}${']'.repeat(5_000)}`;
const big = rawFrame(JSON.stringify('x'.repeat(512 * 1024)));

/** The n-th bad frame: a rotation of what a broken or hostile client might send. */
function badFrame(n: number): Uint8Array {
  if (n % 5000 === 4999) return big;
  switch (n % 10) {
    case 0: return rawFrame('{"v":1,"type":');
    case 1: return rawFrame(new Uint8Array([0xff, 0xfe, 0x00, 0x7b]));
    case 2: return rawFrame('[1,2,3]');
    case 3: return rawFrame('{"v":99,"type":"hello"}');
    case 4: return rawFrame('{"v":1,"type":"launch_missiles"}');
    case 5: return encodeFrame({ ...validHello('x', 'y'), hostname: 'h'.repeat(2_000) } as ProtocolMessage);
    case 6: return encodeFrame({ v: 1, type: 'heartbeat', runningTasks: [], load: { loadAverage1m: 0, cpus: 1, memoryUsedPercent: 0 } });
    case 7: return encodeFrame({ v: 1, type: 'log', taskId: 't', seq: 0, lines: ['x'] });
    case 8: return rawFrame(deep);
    default: return rawFrame('');
  }
}

/** Error codes the server sent back on a stream, until it ends. */
async function collectErrors(stream: ByteStream, into: Set<string>): Promise<void> {
  for await (const event of readFrames(stream.readable, { signal: AbortSignal.timeout(20_000) })) {
    if ('message' in event && event.message.type === 'error') {
      into.add(event.message.code);
      expect(event.message.message.length).toBeLessThanOrEqual(1024);
    }
  }
}

describe('the agent endpoint under hostile input', () => {
  let certs: Certificates;
  let side: Operatorside;
  let hub: AgentHub;
  let good: InProcessAgent;
  let markers: string;

  beforeAll(async () => {
    certs = await makeCertificates();
    side = await Operatorside.open(certs.caPem);
    hub = await side.startHub(certs);
    markers = await tempDir('shipway-markers-');
    good = await startAgent({ port: hub.port, agentId: 'edge-good', caPem: certs.caPem, token: await side.register('edge-good') });
    await until(() => hub.isConnected('edge-good'), 10_000);
  });

  afterAll(async () => {
    await good?.agent.stop(0);
    await hub?.stop();
    await side?.dispose();
    await removeTempDirs();
  });

  it(`keeps serving a good agent while a client sends ${MESSAGES} malformed or oversized messages`, async () => {
    const session = hub.connectedAgent('edge-good')!.sessionId;
    const seenBefore = (await side.repo.getAgent('edge-good'))!.lastSeenAt!;
    const codes = new Set<string>();
    let sent = 0;
    let connections = 0;
    let flooding = true;
    const started = Date.now();

    const flood = async () => {
      while (sent < MESSAGES) {
        const bad = await connectQuic({ host: '127.0.0.1', port: hub.port, serverName: 'localhost', caPem: certs.caPem });
        connections++;
        const control = bad.openStream();
        const replies = collectErrors(control, codes).catch(() => undefined);
        // Streams opened before any hello count against the connection too.
        for (let i = 0; i < 3 && sent < MESSAGES; i++, sent++) bad.openStream().writable.getWriter().write(badFrame(i)).catch(() => undefined);
        const writer = control.writable.getWriter();
        // As a flood comes: many frames per write.
        const frames: Uint8Array[] = [];
        for (let i = 0; i < FRAMES_PER_CONNECTION && sent < MESSAGES; i++) frames.push(badFrame(sent++));
        // Then a length no frame may have: the stream cannot be resynchronised, so it (and the session) ends.
        frames.push(new Uint8Array([0x7f, 0xff, 0xff, 0xff]));
        try {
          await writer.write(Buffer.concat(frames));
        } catch {
          // The server closed this connection first: that is the point.
        }
        // The server hangs up (its replies end with the stream); the client's own draining is not waited for.
        await Promise.race([replies, bad.closed, new Promise((r) => setTimeout(r, 5000))]);
        void bad.close({ force: true });
      }
    };

    // Meanwhile the good agent runs tasks, one after another, each well within a couple of seconds.
    const work = (async () => {
      const durations: number[] = [];
      while (flooding) {
        const t = Date.now();
        const result = await hub.dispatch('edge-good', markerTask({ markerDir: markers, sleepMs: 20 }), {}, AbortSignal.timeout(10_000));
        expect(result.status).toBe('succeeded');
        durations.push(Date.now() - t);
      }
      return durations;
    })();

    await Promise.all(Array.from({ length: FLOODERS }, flood));
    flooding = false;
    const durations = await work;
    const elapsed = Date.now() - started;
    console.log(`agent endpoint: ${sent} bad messages over ${connections} connections in ${elapsed} ms; ${durations.length} tasks ran meanwhile (slowest ${Math.max(...durations)} ms)`);

    expect(sent).toBe(MESSAGES);
    expect(elapsed).toBeLessThan(90_000);
    // Served throughout: every task succeeded within its dispatch timeout (how fast depends on the machine's
    // load, which is for bench/ to measure, not for a test to assert).
    expect(durations.length).toBeGreaterThanOrEqual(3);
    expect(hub.connectedAgent('edge-good')!.sessionId).toBe(session);
    expect((await side.repo.getAgent('edge-good'))!.lastSeenAt!.getTime()).toBeGreaterThan(seenBefore.getTime());
    expect([...codes]).toEqual(expect.arrayContaining(['invalid_json', 'invalid_message', 'hello_required', 'wrong_stream']));
    expect(side.logs.some((line) => line.includes(`closed after ${DEFAULT_BAD_MESSAGE_BUDGET} bad messages`))).toBe(true);
    // Nothing the flood said was taken for an agent.
    expect(hub.connectedAgents()).toEqual(['edge-good']);
  }, 120_000);

  it('answers malformed messages in a session with a short error, and the session carries on', async () => {
    const token = await side.register('edge-sloppy');
    const quic = await connectQuic({ host: '127.0.0.1', port: hub.port, serverName: 'localhost', caPem: certs.caPem });
    try {
      const control = quic.openStream();
      // validate: false lets this client send what a buggy agent would.
      const writer = new FrameWriter(control.writable, { validate: false });
      const frames = readFrames(control.readable, { signal: AbortSignal.timeout(10_000) })[Symbol.asyncIterator]();
      const heartbeat = (id: string): ProtocolMessage => ({ v: 1, type: 'heartbeat', id, runningTasks: [], load: { loadAverage1m: 0, cpus: 1, memoryUsedPercent: 0 } });
      await writer.write(validHello('edge-sloppy', token));
      expect((await frames.next()).value).toMatchObject({ message: { type: 'welcome', accepted: true } });
      await writer.write({ v: 1, type: 'heartbeat', id: 'hb-bad', runningTasks: 'all' } as unknown as ProtocolMessage);
      const reply = (await frames.next()).value;
      expect(reply).toMatchObject({ message: { type: 'error', code: 'invalid_message', id: 'hb-bad' } });
      expect((reply as { message: { message: string } }).message.message).toContain('runningTasks');
      await writer.write(heartbeat('hb-1'));
      expect((await frames.next()).value).toMatchObject({ message: { type: 'heartbeat_ack', id: 'hb-1' } });
      // A result stream with a result the schema refuses: answered on that stream, the session unharmed.
      const stream = quic.openStream();
      const raw = stream.writable.getWriter();
      await raw.write(rawFrame('{"v":1,"type":"result","taskId":"nope"}'));
      await raw.close();
      const replies = new Set<string>();
      await collectErrors(stream, replies);
      expect([...replies]).toEqual(['invalid_message']);
      await writer.write(heartbeat('hb-2'));
      expect((await frames.next()).value).toMatchObject({ message: { type: 'heartbeat_ack', id: 'hb-2' } });
      expect(hub.isConnected('edge-sloppy')).toBe(true);
    } finally {
      await quic.close({ force: true });
    }
  }, 30_000);
});
