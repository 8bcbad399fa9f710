import { describe, expect, it } from 'vitest';
import { LineSplitter, OutputBuffer } from '../../agent/src/executors/output-buffer.ts';

const numbered = (count: number) => Array.from({ length: count }, (_, i) => `line ${i + 1}`);

describe('output buffer', () => {
  it.each([
    { name: 'everything when within the limits', limits: { maxLines: 10 }, lines: numbered(3), kept: numbered(3), dropped: 0 },
    { name: 'the newest lines when there are more than maxLines', limits: { maxLines: 2 }, lines: numbered(5), kept: ['line 4', 'line 5'], dropped: 3 },
    { name: 'fewer lines when they pass maxBytes', limits: { maxLines: 100, maxBytes: 20 }, lines: ['aaaaaaaaa', 'bbbbbbbbb', 'ccccccccc'], kept: ['bbbbbbbbb', 'ccccccccc'], dropped: 1 },
    { name: 'multi-byte characters by their UTF-8 size', limits: { maxLines: 100, maxBytes: 10 }, lines: ['äää', 'ööö'], kept: ['ööö'], dropped: 1 },
    { name: 'nothing when a single line passes maxBytes', limits: { maxLines: 100, maxBytes: 4 }, lines: ['too long'], kept: [], dropped: 1 },
  ])('keeps $name', ({ limits, lines, kept, dropped }) => {
    const buffer = new OutputBuffer(limits);
    for (const line of lines) buffer.push(line);
    expect(buffer.lines()).toEqual(kept);
    expect(buffer.dropped).toBe(dropped);
    expect(buffer.total).toBe(lines.length);
  });

  it('leads the tail with the count of dropped lines', () => {
    const buffer = new OutputBuffer({ maxLines: 2 });
    for (const line of numbered(100_000)) buffer.push(line);
    expect(buffer.tail()).toBe('[99998 earlier lines dropped]\nline 99999\nline 100000');
  });
});

describe('line splitter', () => {
  const split = (chunks: (string | Buffer)[], maxLineLength?: number) => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line), maxLineLength);
    for (const chunk of chunks) splitter.write(chunk);
    splitter.end();
    return lines;
  };

  it.each([
    { name: 'lines across chunks', chunks: ['one\ntw', 'o\nthr', 'ee'], lines: ['one', 'two', 'three'] },
    { name: 'CRLF line ends', chunks: ['a\r\nb\r\n'], lines: ['a', 'b'] },
    { name: 'empty lines', chunks: ['\n\nx\n'], lines: ['', '', 'x'] },
    { name: 'a UTF-8 character split between chunks', chunks: [Buffer.from([0xe4, 0xbd]), Buffer.from([0xa0, 0x0a])], lines: ['你'] },
    { name: 'a line longer than the limit, cut', chunks: ['abcdefghij', 'klm\nnext\n'], lines: ['abcde [line cut: 8 more characters]', 'next'], max: 5 },
  ])('splits $name', ({ chunks, lines, max }) => {
    expect(split(chunks, max)).toEqual(lines);
  });
});
