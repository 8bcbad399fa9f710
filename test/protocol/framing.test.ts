import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_FRAME_BYTES,
  encodeFrame,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameWriter,
  ProtocolError,
  readFrames,
  type FrameEvent,
} from '../../operator/src/protocol/framing.ts';
import type { ProtocolMessage } from '../../operator/src/protocol/messages.ts';
import { ALL_SAMPLES, SAMPLES } from './sample-messages.ts';

const encoder = new TextEncoder();

function rawFrame(payload: Uint8Array | string, length?: number): Uint8Array {
  const body = typeof payload === 'string' ? encoder.encode(payload) : payload;
  const frame = new Uint8Array(FRAME_HEADER_BYTES + body.byteLength);
  new DataView(frame.buffer).setUint32(0, length ?? body.byteLength, false);
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function chunksOf(bytes: Uint8Array, sizes: () => number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.byteLength;) {
    const size = Math.max(1, sizes());
    chunks.push(bytes.slice(at, at + size));
    at += size;
  }
  return chunks;
}

const messagesOf = (events: FrameEvent[]) => events.flatMap((e) => ('message' in e ? [e.message] : []));
const errorsOf = (events: FrameEvent[]) => events.flatMap((e) => ('error' in e ? [e.error] : []));

function streamOf(chunks: Uint8Array[], onCancel?: (reason: unknown) => void): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[i++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
    cancel: onCancel,
  });
}

async function collect(iterable: AsyncIterable<FrameEvent>): Promise<FrameEvent[]> {
  const events: FrameEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

const allFrames = concat(ALL_SAMPLES.map((m) => encodeFrame(m)));

/** 10,000 frames that are each wrong in their own way, but with an honest length prefix. */
function malformedFrames(count: number, seed: number): Uint8Array[] {
  const next = random(seed);
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const valid = ALL_SAMPLES.map((m) => JSON.stringify(m));
  const makers: (() => Uint8Array | string)[] = [
    // random bytes: mostly not UTF-8, never JSON of the right shape
    () => Uint8Array.from({ length: 1 + Math.floor(next() * 300) }, () => Math.floor(next() * 256)),
    // a valid message cut short
    () => { const text = pick(valid); return text.slice(0, Math.floor(next() * (text.length - 1))); },
    // JSON that is not an object
    () => pick(['1', '"hello"', 'null', 'true', '[]', '[{"v":1,"type":"hello"}]', '-0.5e300']),
    // the envelope wrong
    () => JSON.stringify({ ...JSON.parse(pick(valid)), v: pick([0, 2, '1', null, 1.5]) }),
    () => JSON.stringify({ ...JSON.parse(pick(valid)), type: pick(['HELLO', 'bye', '', 7, null]) }),
    // a field too many
    () => JSON.stringify({ ...JSON.parse(pick(valid)), [`x${Math.floor(next() * 1e6)}`]: next() }),
    // a required field of the wrong type
    () => {
      const message = JSON.parse(pick(valid)) as Record<string, unknown>;
      const keys = Object.keys(message).filter((k) => k !== 'v' && k !== 'type' && k !== 'id');
      if (keys.length === 0) return JSON.stringify({ ...message, v: 9 });
      const key = pick(keys);
      const original = message[key];
      // a value of another JSON type than the schema wants
      message[key] = typeof original === 'string'
        ? pick([-1.25, { nested: [1, 2] }, [], true])
        : typeof original === 'number' || typeof original === 'boolean'
          ? pick(['\u0000', [], null])
          : Array.isArray(original) ? pick([{}, 'x', 1e308]) : pick([[], 'x', 0]);
      return JSON.stringify(message);
    },
    // an oversized string that still fits the frame
    () => JSON.stringify({ v: 1, type: 'progress', taskId: 't', percent: 1, phase: 'x'.repeat(64 + Math.floor(next() * 5000)) }),
    // an empty frame
    () => '',
    // bytes that are UTF-8 but not JSON
    () => pick(['{', '}', '{"v":1,', '\u00ff\u{1F600}', 'undefined', 'NaN', "{'v':1}"]),
  ];
  return Array.from({ length: count }, () => rawFrame(pick(makers)()));
}

describe('framing', () => {
  it.each(ALL_SAMPLES.map((m) => [m.type, m] as const))('round-trips a %s through one frame', (_type, message) => {
    const frame = encodeFrame(message);
    expect(new DataView(frame.buffer).getUint32(0, false)).toBe(frame.byteLength - FRAME_HEADER_BYTES);
    expect(new FrameDecoder().push(frame)).toEqual([{ message }]);
  });

  it('decodes the same messages wherever the byte stream is cut in two', () => {
    for (let cut = 0; cut <= allFrames.byteLength; cut++) {
      const decoder = new FrameDecoder();
      const events = [...decoder.push(allFrames.subarray(0, cut)), ...decoder.push(allFrames.subarray(cut))];
      expect(events, `cut at byte ${cut}`).toEqual(ALL_SAMPLES.map((message) => ({ message })));
      expect(decoder.buffered).toBe(0);
    }
  });

  it('decodes the same messages fed one byte at a time', () => {
    const decoder = new FrameDecoder();
    const events: FrameEvent[] = [];
    for (let i = 0; i < allFrames.byteLength; i++) events.push(...decoder.push(allFrames.subarray(i, i + 1)));
    expect(messagesOf(events)).toEqual(ALL_SAMPLES);
    expect(errorsOf(events)).toEqual([]);
  });

  it('decodes many frames from one chunk, and frames spanning 4 KiB chunks as QUIC delivers them', () => {
    const many = concat(Array.from({ length: 200 }, () => allFrames));
    expect(messagesOf(new FrameDecoder().push(many))).toHaveLength(200 * ALL_SAMPLES.length);
    const decoder = new FrameDecoder();
    const events = chunksOf(many, () => 4096).flatMap((chunk) => decoder.push(chunk));
    expect(messagesOf(events)).toHaveLength(200 * ALL_SAMPLES.length);
    expect(errorsOf(events)).toEqual([]);
  });

  it('does not keep a reference to a pushed chunk (transports reuse their buffers)', () => {
    const frame = encodeFrame(SAMPLES.heartbeat_ack[0]!);
    const buffer = new Uint8Array(frame.byteLength);
    const decoder = new FrameDecoder();
    const events: FrameEvent[] = [];
    for (const [from, to] of [[0, 2], [2, 9], [9, frame.byteLength]] as const) {
      buffer.set(frame.subarray(from, to));
      events.push(...decoder.push(buffer.subarray(0, to - from)));
      buffer.fill(0xff);
    }
    expect(events).toEqual([{ message: SAMPLES.heartbeat_ack[0] }]);
  });

  it.each<[string, Uint8Array, string]>([
    ['an empty frame', rawFrame(''), 'invalid_json'],
    ['bytes that are not UTF-8', rawFrame(Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d)), 'invalid_json'],
    ['text that is not JSON', rawFrame('{"v":1,'), 'invalid_json'],
    ['JSON that is not a valid message', rawFrame('{"v":1,"type":"result_ack"}'), 'invalid_message'],
  ])('reports %s and carries on with the next frame', (_name, bad, code) => {
    const good = encodeFrame(SAMPLES.result_ack[0]!);
    const events = new FrameDecoder().push(concat([bad, good]));
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ error: { code, fatal: false } });
    expect(events[1]).toEqual({ message: SAMPLES.result_ack[0] });
  });

  it('says what an invalid message claimed to be, so the receiver can answer it', () => {
    const [event] = new FrameDecoder().push(rawFrame(JSON.stringify({ v: 1, type: 'task_ack', id: 'm-4', taskId: 'task-7', status: 'maybe' })));
    expect(event).toMatchObject({
      error: { code: 'invalid_message', about: { type: 'task_ack', id: 'm-4', taskId: 'task-7' }, message: expect.stringContaining('task_ack: status: Unsupported value: "maybe"') as unknown },
    });
  });

  it('stops for good at a length prefix above the limit, since it cannot find the next frame', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 1024 });
    const good = encodeFrame(SAMPLES.result_ack[0]!);
    const events = decoder.push(concat([good, rawFrame('x'.repeat(10), 1025), good]));
    expect(events).toHaveLength(2);
    expect(events[0]).toEqual({ message: SAMPLES.result_ack[0] });
    expect(events[1]).toMatchObject({ error: { code: 'frame_too_large', fatal: true, message: expect.stringContaining('1025') as unknown } });
    expect(decoder.failed).toBe(true);
    expect(decoder.push(good)).toEqual([]);
    expect(decoder.end()).toEqual([]);
  });

  it('accepts a frame of exactly the limit and refuses one byte more, on both sides', () => {
    const message: ProtocolMessage = { v: 1, type: 'error', code: 'x', message: '' };
    const base = JSON.stringify(message).length;
    const exact = { ...message, message: 'y'.repeat(1000 - base) };
    expect(encodeFrame(exact, { maxFrameBytes: 1000 }).byteLength).toBe(1000 + FRAME_HEADER_BYTES);
    expect(new FrameDecoder({ maxFrameBytes: 1000 }).push(encodeFrame(exact, { maxFrameBytes: 1000 }))).toEqual([{ message: exact }]);
    const over = { ...message, message: 'y'.repeat(1001 - base) };
    expect(() => encodeFrame(over, { maxFrameBytes: 1000 })).toThrow(ProtocolError);
    expect(() => encodeFrame(over, { maxFrameBytes: 1000 })).toThrow('error message is 1001 bytes, above the 1000-byte frame limit');
    expect(new FrameDecoder({ maxFrameBytes: 999 }).push(encodeFrame(exact, { maxFrameBytes: 1000 }))).toMatchObject([{ error: { code: 'frame_too_large' } }]);
  });

  it('holds a frame of the default 1 MiB limit across many chunks', () => {
    const message: ProtocolMessage = { ...(SAMPLES.result[0] as ProtocolMessage & { type: 'result' }), outputTail: 'z'.repeat(65536) };
    const frame = encodeFrame(message);
    expect(DEFAULT_MAX_FRAME_BYTES).toBe(1024 * 1024);
    const decoder = new FrameDecoder();
    const events = chunksOf(frame, () => 1000).flatMap((c) => decoder.push(c));
    expect(events).toEqual([{ message }]);
  });

  it.each<[string, Uint8Array, RegExp]>([
    ['inside a header', encodeFrame(SAMPLES.result_ack[0]!).subarray(0, 3), /inside a frame header \(3 of 4 bytes\)/],
    ['inside a payload', encodeFrame(SAMPLES.result_ack[0]!).subarray(0, 10), /inside a frame \(10 of \d+ bytes\)/],
  ])('reports a stream that ends %s', (_name, partial, message) => {
    const decoder = new FrameDecoder();
    expect(decoder.push(partial)).toEqual([]);
    expect(decoder.end()).toMatchObject([{ error: { code: 'truncated_frame', fatal: true, message: expect.stringMatching(message) as unknown } }]);
  });

  it('reports a value nested far too deep without throwing, in an error short enough to send back', () => {
    const deep = `${'['.repeat(300_000)}${']'.repeat(300_000)}`;
    const events = new FrameDecoder().push(concat([rawFrame(`{"v":1,"type":"result_ack","taskId":${deep}}`), encodeFrame(SAMPLES.result_ack[0]!)]));
    expect(events).toEqual([
      { error: { code: 'invalid_message', fatal: false, about: { type: 'result_ack' }, message: 'result_ack: taskId: Invalid value: an array of 1 item(s): must be of type string' } },
      { message: SAMPLES.result_ack[0] },
    ]);
  });

  it.each<[string, string]>([
    ['a huge unknown field name', JSON.stringify({ v: 1, type: 'result_ack', taskId: 't', ['k'.repeat(500_000)]: 1 })],
    ['a huge wrong value', JSON.stringify({ v: 1, type: 'result_ack', taskId: 't'.repeat(500_000) })],
    ['huge invalid JSON', `{"v":1,"type":"result_ack","taskId":"${'t'.repeat(500_000)}`],
    ['many wrong entries', JSON.stringify({ v: 1, type: 'log', taskId: 't', seq: 0, lines: Array.from({ length: 400 }, () => ['x'.repeat(2000)]) })],
  ])('keeps the error for %s short enough to send back', (_name, payload) => {
    const [event] = new FrameDecoder().push(rawFrame(payload));
    expect(event).toHaveProperty('error');
    if (!event || !('error' in event)) return;
    expect(event.error.message.length).toBeLessThanOrEqual(1024);
    expect(event.error.fatal).toBe(false);
  });

  it.each([0, -1, 1.5, 2 ** 32])('refuses a frame limit of %s', (max) => {
    expect(() => new FrameDecoder({ maxFrameBytes: max })).toThrow(RangeError);
  });

  it('survives 10,000 malformed frames without throwing and then decodes the next valid message', () => {
    const next = random(7);
    const bad = malformedFrames(10_000, 42);
    const good = SAMPLES.task_assign[0]!;
    const stream = concat([...bad, encodeFrame(good)]);
    const decoder = new FrameDecoder();
    const events: FrameEvent[] = [];
    for (const chunk of chunksOf(stream, () => Math.floor(next() * 8192))) events.push(...decoder.push(chunk));
    const errors = errorsOf(events);
    expect(errors).toHaveLength(10_000);
    expect(errors.every((e) => !e.fatal)).toBe(true);
    expect(new Set(errors.map((e) => e.code))).toEqual(new Set(['invalid_json', 'invalid_message']));
    expect(messagesOf(events)).toEqual([good]);
    expect(decoder.buffered).toBe(0);
  });

  it('survives 10,000 random byte strings as a whole stream without throwing', () => {
    const next = random(99);
    for (let i = 0; i < 10_000; i++) {
      const decoder = new FrameDecoder({ maxFrameBytes: 4096 });
      const bytes = Uint8Array.from({ length: Math.floor(next() * 64) }, () => Math.floor(next() * 256));
      expect(() => [...decoder.push(bytes), ...decoder.end()]).not.toThrow();
    }
  });
});

describe('readFrames and FrameWriter', () => {
  /** A pipe like a QUIC stream: what goes in one end comes out the other re-cut into odd-sized chunks. */
  function pipe(chunkSize: number): TransformStream<Uint8Array, Uint8Array> {
    return new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        for (let at = 0; at < chunk.byteLength; at += chunkSize) controller.enqueue(chunk.slice(at, at + chunkSize));
      },
    });
  }

  it('carries every message type through a stream pair, in order, and ends when the writer closes', async () => {
    const { readable, writable } = pipe(7);
    const writer = new FrameWriter(writable);
    const reading = collect(readFrames(readable));
    for (const message of ALL_SAMPLES) void writer.write(message);
    await writer.close();
    expect(await reading).toEqual(ALL_SAMPLES.map((message) => ({ message })));
  });

  it('keeps call order under back-pressure from a slow sink, with at most the queue in flight', async () => {
    const received: Uint8Array[] = [];
    let maxQueued = 0;
    const held: { writer?: FrameWriter } = {};
    const slow = new WritableStream<Uint8Array>(
      {
        async write(chunk) {
          maxQueued = Math.max(maxQueued, 2 - (held.writer?.desiredSize ?? 0));
          await new Promise((resolve) => setTimeout(resolve, 1));
          received.push(chunk);
        },
      },
      new CountQueuingStrategy({ highWaterMark: 2 }),
    );
    const writer = new FrameWriter(slow);
    held.writer = writer;
    const messages = Array.from({ length: 50 }, (_, seq) => ({ v: 1, type: 'log', taskId: 'task-7', seq, lines: [`line ${seq}`] }) as ProtocolMessage);
    const writes = messages.map((m) => writer.write(m));
    await Promise.all(writes);
    await writer.close();
    expect(messagesOf(new FrameDecoder().push(concat(received)))).toEqual(messages);
    expect(maxQueued).toBeLessThanOrEqual(2);
  });

  it('refuses to send an invalid message and still sends the ones after it', async () => {
    const { readable, writable } = pipe(4096);
    const writer = new FrameWriter(writable);
    const reading = collect(readFrames(readable));
    const bad = { v: 1, type: 'progress', taskId: 'task-7', percent: 140, phase: 'x' } as ProtocolMessage;
    await expect(writer.write(bad)).rejects.toThrow('refusing to send an invalid message: progress: percent: Invalid value: 140: must be <= 100');
    await writer.write(SAMPLES.progress[0]!);
    await writer.close();
    expect(await reading).toEqual([{ message: SAMPLES.progress[0] }]);
  });

  it('rejects writes once the stream has failed', async () => {
    const failing = new WritableStream<Uint8Array>({
      write() {
        throw new Error('stream reset by peer');
      },
    });
    const writer = new FrameWriter(failing);
    await writer.write(SAMPLES.result_ack[0]!);
    await expect(writer.write(SAMPLES.result_ack[0]!)).rejects.toThrow('stream reset by peer');
    await expect(writer.close()).rejects.toThrow('stream reset by peer');
  });

  it('reports malformed frames and keeps reading, then stops and cancels at an oversized length', async () => {
    let cancelled: unknown;
    const good = encodeFrame(SAMPLES.result_ack[0]!);
    const bytes = concat([rawFrame('nope'), good, rawFrame('', 2 ** 31), good]);
    const events = await collect(readFrames(streamOf(chunksOf(bytes, () => 3), (reason) => (cancelled = reason))));
    expect(events.map((e) => ('message' in e ? e.message.type : e.error.code))).toEqual(['invalid_json', 'result_ack', 'frame_too_large']);
    expect(cancelled).toBeInstanceOf(Error);
  });

  it('yields 10,000 malformed frames as errors and then the next valid message', async () => {
    const good = SAMPLES.hello[0]!;
    const next = random(3);
    const bytes = concat([...malformedFrames(10_000, 5), encodeFrame(good)]);
    const events = await collect(readFrames(streamOf(chunksOf(bytes, () => 1 + Math.floor(next() * 4096)))));
    expect(errorsOf(events)).toHaveLength(10_000);
    expect(messagesOf(events)).toEqual([good]);
  });

  it('reports a frame cut short by the end of the stream', async () => {
    const events = await collect(readFrames(streamOf([encodeFrame(SAMPLES.result_ack[0]!).subarray(0, 6)])));
    expect(events).toMatchObject([{ error: { code: 'truncated_frame', fatal: true } }]);
  });

  it('yields a transport failure as a fatal stream error instead of throwing', async () => {
    const failing = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encodeFrame(SAMPLES.result_ack[0]!));
        controller.error(new Error('connection lost'));
      },
    });
    const events = await collect(readFrames(failing));
    expect(events.at(-1)).toMatchObject({ error: { code: 'stream_error', fatal: true, message: 'stream failed: connection lost' } });
  });

  it('ends a read that is waiting for data when the signal aborts, cancelling the stream', async () => {
    let cancelled = false;
    const silent = new ReadableStream<Uint8Array>({ cancel: () => void (cancelled = true) });
    const controller = new AbortController();
    const reading = collect(readFrames(silent, { signal: controller.signal }));
    setTimeout(() => controller.abort(new Error('shutting down')), 10);
    expect(await reading).toEqual([]);
    expect(cancelled).toBe(true);
  });

  it('cancels the stream when the caller stops reading early, since what the decoder holds would be lost', async () => {
    let cancelled: unknown;
    const readable = new ReadableStream<Uint8Array>({ start: (controller) => controller.enqueue(allFrames), cancel: (reason) => void (cancelled = reason) });
    for await (const event of readFrames(readable)) {
      expect(event).toHaveProperty('message');
      break;
    }
    expect(cancelled).toBeInstanceOf(Error);
  });

  it('cancels the stream at once when the signal is already aborted', async () => {
    let cancelled: unknown;
    const readable = new ReadableStream<Uint8Array>({ cancel: (reason) => void (cancelled = reason) });
    expect(await collect(readFrames(readable, { signal: AbortSignal.abort(new Error('gone')) }))).toEqual([]);
    expect(cancelled).toEqual(new Error('gone'));
  });

  it('releases a stream it read to the end', async () => {
    const readable = streamOf([allFrames]);
    expect(messagesOf(await collect(readFrames(readable)))).toEqual(ALL_SAMPLES);
    expect(readable.locked).toBe(false);
  });
});
