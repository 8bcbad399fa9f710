/**
 * Bounded output of host work: a script may print without end (a build log, a loop gone wrong), and what
 * travels back in a result must stay small. Only the tail is kept — the end of the output is where a failure
 * explains itself — and what was dropped is counted, so the tail says it is one.
 */
import { StringDecoder } from 'node:string_decoder';

export interface OutputLimits {
  /** Lines kept (the newest). */
  maxLines: number;
  /** UTF-8 bytes kept over those lines; the oldest go first when either limit is passed. */
  maxBytes: number;
}

export const DEFAULT_OUTPUT_LIMITS: OutputLimits = { maxLines: 200, maxBytes: 64 * 1024 };

/** The newest lines within the limits, with a count of the older ones dropped. */
export class OutputBuffer {
  private readonly limits: OutputLimits;
  private kept: { line: string; bytes: number }[] = [];
  private start = 0;
  private bytes = 0;
  private droppedLines = 0;

  constructor(limits: Partial<OutputLimits> = {}) {
    this.limits = { ...DEFAULT_OUTPUT_LIMITS, ...limits };
  }

  push(line: string): void {
    const bytes = Buffer.byteLength(line, 'utf8') + 1;
    this.kept.push({ line, bytes });
    this.bytes += bytes;
    while (this.size > this.limits.maxLines || (this.bytes > this.limits.maxBytes && this.size > 0)) {
      const oldest = this.kept[this.start]!;
      this.start++;
      this.bytes -= oldest.bytes;
      this.droppedLines++;
    }
    // Shifting one by one would make a long output quadratic; the consumed head is cut off in one go.
    if (this.start > 1024 && this.start * 2 > this.kept.length) {
      this.kept = this.kept.slice(this.start);
      this.start = 0;
    }
  }

  /** Lines dropped from the front so far. */
  get dropped(): number {
    return this.droppedLines;
  }

  /** Lines pushed so far, kept or dropped. */
  get total(): number {
    return this.droppedLines + this.size;
  }

  lines(): string[] {
    return this.kept.slice(this.start).map((entry) => entry.line);
  }

  /** The kept lines, led by a note of how many came before them when some were dropped. */
  tail(): string {
    const lines = this.lines();
    if (this.droppedLines > 0) lines.unshift(`[${this.droppedLines} earlier line${this.droppedLines === 1 ? '' : 's'} dropped]`);
    return lines.join('\n');
  }

  private get size(): number {
    return this.kept.length - this.start;
  }
}

export const DEFAULT_MAX_LINE_LENGTH = 16 * 1024;

/**
 * Splits a byte stream into lines (UTF-8 decoded across chunk boundaries, `\r\n` and `\n`). A line longer
 * than `maxLineLength` is cut and the rest of it skipped up to the next newline, so output without newlines
 * cannot grow memory without bound.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private cutting = false;
  private cutChars = 0;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLineLength = DEFAULT_MAX_LINE_LENGTH,
  ) {}

  write(chunk: Buffer | string): void {
    this.feed(typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
  }

  /** Emits what is left without a final newline. */
  end(): void {
    this.feed(this.decoder.end());
    if (this.cutting) this.emitCut();
    else if (this.partial !== '') this.emit(this.partial);
    this.partial = '';
  }

  private feed(text: string): void {
    let from = 0;
    for (;;) {
      const newline = text.indexOf('\n', from);
      const piece = newline === -1 ? text.slice(from) : text.slice(from, newline);
      if (this.cutting) this.cutChars += piece.length;
      else {
        this.partial += piece;
        if (this.partial.length > this.maxLineLength) {
          this.cutChars = this.partial.length - this.maxLineLength;
          this.partial = this.partial.slice(0, this.maxLineLength);
          this.cutting = true;
        }
      }
      if (newline === -1) return;
      if (this.cutting) this.emitCut();
      else this.emit(this.partial);
      this.partial = '';
      from = newline + 1;
    }
  }

  private emitCut(): void {
    this.emit(`${this.partial} [line cut: ${this.cutChars} more characters]`);
    this.cutting = false;
    this.cutChars = 0;
  }

  private emit(line: string): void {
    this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}
