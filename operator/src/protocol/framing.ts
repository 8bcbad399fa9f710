/**
 * Frames on a byte stream: a 4-byte big-endian payload length, then that many bytes of UTF-8 JSON holding one
 * message. QUIC streams are byte streams (chunks of 4 KiB or so, cut anywhere), so the decoder is incremental.
 *
 * A frame whose payload is bad (not UTF-8, not JSON, failing its schema) is reported and skipped: the length
 * prefix says where the next frame starts, so one bad message never costs the stream. A length prefix above
 * the limit cannot be trusted to say that (it may be garbage), so it ends the stream: there is no way to resync.
 *
 * The adapters speak WHATWG streams, which is what @matrixai/quic's streams are; nothing here does I/O itself.
 */
import { LIMITS, validateMessage, type ProtocolMessage } from './messages.ts';

export const FRAME_HEADER_BYTES = 4;
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

export type FrameErrorCode = 'frame_too_large' | 'invalid_json' | 'invalid_message' | 'truncated_frame' | 'stream_error';

export interface FrameError {
  code: FrameErrorCode;
  message: string;
  /** Whether the stream is unusable afterwards (nothing more will be decoded from it). */
  fatal: boolean;
  /** What the bad frame said it was, when it parsed that far: lets the receiver answer (e.g. refuse a task). */
  about?: { type?: string; id?: string; taskId?: string };
  /** The transport's error, for `stream_error`. */
  cause?: unknown;
}

export type FrameEvent = { message: ProtocolMessage } | { error: FrameError };

export interface FrameOptions {
  /** Largest payload accepted or sent, in bytes (without the 4-byte header). */
  maxFrameBytes?: number;
}

/** Thrown on the sending side: a message that is too large or fails its own schema is never sent. */
export class ProtocolError extends Error {
  constructor(
    readonly code: 'frame_too_large' | 'invalid_message',
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

const encoder = new TextEncoder();

function maxBytes(options: FrameOptions | undefined): number {
  const max = options?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  if (!Number.isInteger(max) || max < 1 || max > 0xffffffff) throw new RangeError(`maxFrameBytes must be an integer from 1 to ${0xffffffff}, got ${max}`);
  return max;
}

/** One frame for one message. Does not validate the message (FrameWriter does); throws when it is too large. */
export function encodeFrame(message: ProtocolMessage, options?: FrameOptions): Uint8Array {
  const max = maxBytes(options);
  const payload = encoder.encode(JSON.stringify(message));
  if (payload.byteLength > max) {
    throw new ProtocolError('frame_too_large', `${message.type} message is ${payload.byteLength} bytes, above the ${max}-byte frame limit`);
  }
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.byteLength);
  new DataView(frame.buffer).setUint32(0, payload.byteLength, false);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Incremental decoder: feed it chunks as they arrive, get back the messages and errors they complete. It never
 * throws on input and never keeps a reference to a chunk after `push` returns (transports may reuse buffers).
 */
export class FrameDecoder {
  private readonly max: number;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFilled = 0;
  private body: Uint8Array | undefined;
  private bodyFilled = 0;
  private dead = false;

  constructor(options?: FrameOptions) {
    this.max = maxBytes(options);
  }

  /** True after a fatal error: the rest of the stream is ignored. */
  get failed(): boolean {
    return this.dead;
  }

  /** Bytes of an incomplete frame held, waiting for the rest. */
  get buffered(): number {
    return this.headerFilled + this.bodyFilled;
  }

  push(chunk: Uint8Array): FrameEvent[] {
    const events: FrameEvent[] = [];
    let at = 0;
    while (at < chunk.byteLength && !this.dead) {
      if (this.body === undefined) {
        // The common case, a whole header inside the chunk, skips the copy.
        let length: number;
        if (this.headerFilled === 0 && chunk.byteLength - at >= FRAME_HEADER_BYTES) {
          length = new DataView(chunk.buffer, chunk.byteOffset + at, FRAME_HEADER_BYTES).getUint32(0, false);
          at += FRAME_HEADER_BYTES;
        } else {
          const take = Math.min(FRAME_HEADER_BYTES - this.headerFilled, chunk.byteLength - at);
          this.header.set(chunk.subarray(at, at + take), this.headerFilled);
          this.headerFilled += take;
          at += take;
          if (this.headerFilled < FRAME_HEADER_BYTES) break;
          length = new DataView(this.header.buffer).getUint32(0, false);
          this.headerFilled = 0;
        }
        if (length > this.max) {
          this.dead = true;
          events.push({ error: { code: 'frame_too_large', message: `frame length ${length} is above the ${this.max}-byte limit; the stream cannot be resynchronised`, fatal: true } });
          break;
        }
        if (length === 0) {
          events.push({ error: { code: 'invalid_json', message: 'empty frame', fatal: false } });
          continue;
        }
        if (chunk.byteLength - at >= length) {
          events.push(this.decode(chunk.subarray(at, at + length)));
          at += length;
          continue;
        }
        this.body = new Uint8Array(length);
        this.bodyFilled = 0;
      }
      const take = Math.min(this.body.byteLength - this.bodyFilled, chunk.byteLength - at);
      this.body.set(chunk.subarray(at, at + take), this.bodyFilled);
      this.bodyFilled += take;
      at += take;
      if (this.bodyFilled === this.body.byteLength) {
        events.push(this.decode(this.body));
        this.body = undefined;
        this.bodyFilled = 0;
      }
    }
    return events;
  }

  /** The stream ended: a frame cut short is reported. */
  end(): FrameEvent[] {
    if (this.dead || this.buffered === 0) return [];
    const held = this.buffered;
    const expected = this.body ? this.body.byteLength + FRAME_HEADER_BYTES : undefined;
    this.dead = true;
    this.body = undefined;
    this.headerFilled = 0;
    this.bodyFilled = 0;
    return [{
      error: {
        code: 'truncated_frame',
        message: expected === undefined ? `stream ended inside a frame header (${held} of ${FRAME_HEADER_BYTES} bytes)` : `stream ended inside a frame (${held + FRAME_HEADER_BYTES} of ${expected} bytes)`,
        fatal: true,
      },
    }];
  }

  private decode(payload: Uint8Array): FrameEvent {
    let value: unknown;
    try {
      value = JSON.parse(this.decoder.decode(payload));
    } catch (error) {
      // The parser's message quotes the input: bounded, so it fits an `error` reply.
      const message = `frame is not UTF-8 JSON: ${(error as Error).message}`;
      return { error: { code: 'invalid_json', message: message.length > LIMITS.shortTextLength ? `${message.slice(0, LIMITS.shortTextLength - 1)}…` : message, fatal: false } };
    }
    const verdict = validateMessage(value);
    if (verdict.ok) return { message: verdict.message };
    const about = describeClaim(value);
    return { error: { code: 'invalid_message', message: verdict.error, fatal: false, ...(about ? { about } : {}) } };
  }
}

function describeClaim(value: unknown): FrameError['about'] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const about: NonNullable<FrameError['about']> = {};
  const record = value as Record<string, unknown>;
  // Bounded: these strings are echoed into replies and logs.
  for (const key of ['type', 'id', 'taskId'] as const) {
    const field = record[key];
    if (typeof field === 'string' && field.length <= 253) about[key] = field;
  }
  return Object.keys(about).length > 0 ? about : undefined;
}

export interface ReadFramesOptions extends FrameOptions {
  /** Aborting ends the iteration and cancels the stream. */
  signal?: AbortSignal;
}

/**
 * The messages and errors on a readable byte stream, in order. Never throws: a transport failure is yielded as
 * a fatal `stream_error`. The iteration ends with the stream, at a fatal error, on abort, or when the caller
 * stops; in all but the first the stream is cancelled, since bytes already read into the decoder would be lost
 * to any later reader anyway.
 */
export async function* readFrames(readable: ReadableStream<Uint8Array>, options: ReadFramesOptions = {}): AsyncGenerator<FrameEvent, void, undefined> {
  const decoder = new FrameDecoder(options);
  const { signal } = options;
  if (signal?.aborted) {
    await readable.cancel(signal.reason).catch(() => undefined);
    return;
  }
  const reader = readable.getReader();
  let cancelling: Promise<void> | undefined;
  let ended = false;
  const cancel = (reason: unknown): Promise<void> => (cancelling ??= reader.cancel(reason).catch(() => undefined));
  // A pending read resolves as done once the reader is cancelled, so an abort also interrupts a wait.
  const onAbort = (): void => void cancel(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (cause) {
        ended = true;
        if (!signal?.aborted) yield { error: { code: 'stream_error', message: `stream failed: ${describe(cause)}`, fatal: true, cause } };
        return;
      }
      if (signal?.aborted) return;
      if (chunk.done) {
        ended = true;
        yield* decoder.end();
        return;
      }
      for (const event of decoder.push(chunk.value)) {
        yield event;
        if (signal?.aborted) return;
      }
      if (decoder.failed) {
        await cancel(new Error('unrecoverable framing error'));
        return;
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (ended) reader.releaseLock();
    else await cancel(new Error('stopped reading frames'));
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export interface FrameWriterOptions extends FrameOptions {
  /** Check each message against its schema before sending (default true): a bug shows up at its source. */
  validate?: boolean;
}

/**
 * Writes messages as frames, one at a time and in call order. `write` resolves once the stream has room for the
 * frame (the writer's `ready`), not when the peer has it; a stream error rejects that write or the next one.
 */
export class FrameWriter {
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly options: FrameWriterOptions;
  private tail: Promise<void> = Promise.resolve();
  private failure: unknown;
  private closing = false;
  private closed: Promise<void> | undefined;

  constructor(writable: WritableStream<Uint8Array>, options: FrameWriterOptions = {}) {
    maxBytes(options);
    this.writer = writable.getWriter();
    this.options = options;
  }

  /** How much more the stream takes before it pushes back, in its queuing strategy's units (null when errored). */
  get desiredSize(): number | null {
    return this.writer.desiredSize;
  }

  write(message: ProtocolMessage): Promise<void> {
    if (this.closing) return Promise.reject(new Error('FrameWriter is closed'));
    // Encoding up front: a bad message rejects at once and never holds up the messages queued behind it.
    let frame: Uint8Array;
    try {
      if (this.options.validate !== false) {
        const verdict = validateMessage(message);
        if (!verdict.ok) throw new ProtocolError('invalid_message', `refusing to send an invalid message: ${verdict.error}`);
      }
      frame = encodeFrame(message, this.options);
    } catch (error) {
      return Promise.reject(error);
    }
    const next = this.tail.then(async () => {
      if (this.failure !== undefined) throw this.failure;
      await this.writer.ready;
      this.writer.write(frame).catch((error: unknown) => {
        this.failure ??= error;
      });
    });
    // The chain survives a failed write: later writes see `failure` and reject with it.
    this.tail = next.catch((error: unknown) => {
      this.failure ??= error;
    });
    return next;
  }

  /** Flushes what was written, then closes the stream (the peer sees its end). */
  close(): Promise<void> {
    this.closing = true;
    this.closed ??= (async () => {
      await this.tail;
      if (this.failure !== undefined) throw this.failure;
      await this.writer.close();
    })();
    return this.closed;
  }

  /** Drops what is queued and errors the stream. */
  async abort(reason?: unknown): Promise<void> {
    this.closing = true;
    await this.writer.abort(reason);
  }
}
