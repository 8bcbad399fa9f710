/**
 * Release windows (issue 5): whether an environment may be released at an instant, decided on the wall
 * clock of the window's time zone. An allowed range is the set of instants whose local date-and-time lies
 * in [day start, day end) (the next day's end when the range crosses midnight). Working with that set,
 * rather than with "start instant plus duration", is what makes DST come out right: a wall time in a
 * spring-forward gap belongs to no instant, and one in a fall-back overlap belongs to two.
 */
import { IANAZone } from 'luxon';
import { WEEKDAYS, type ReleaseWindow } from '../api/release.ts';

export type WindowVerdict = { open: true; closesAt?: Date } | { open: false; reason: string; opensAt?: Date };

/** How far ahead opensAt and closesAt are looked for; past it they are reported as unknown (undefined). */
export const WINDOW_HORIZON_DAYS = 400;
/** Most windows open or close within two weeks, so that is tried before the whole horizon. */
const FIRST_HORIZON_DAYS = 14;

const MINUTE = 60_000;
const DAY = 86_400_000;
/** Offset sampling step; real zones never change offset twice within a day. */
const OFFSET_SAMPLE = DAY;

/** Half-open [start, end) in epoch milliseconds. */
interface Interval {
  start: number;
  end: number;
}

/** A stretch of time over which the zone keeps one UTC offset. */
interface OffsetSpan extends Interval {
  offset: number;
}

type Weekday = (typeof WEEKDAYS)[number];
/** Date.getUTCDay() numbering: Sunday first. */
const WEEKDAY_BY_UTC_DAY: readonly Weekday[] = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

export function isEmergencyUser(window: ReleaseWindow | undefined, actor?: string): boolean {
  return actor !== undefined && actor !== '' && (window?.emergencyUsers ?? []).includes(actor);
}

/** The allowed ranges and the zone, for people: `Mon-Fri 10:00-12:00, 14:00-17:00 (Asia/Shanghai)`. */
export function describeWindow(window: ReleaseWindow): string {
  return `${describeRanges(window.allowed)} (${zoneNameOf(window)})`;
}

export function windowVerdict(window: ReleaseWindow | undefined, now: Date): WindowVerdict {
  if (!window || (window.allowed === undefined && (window.blackoutDates ?? []).length === 0)) return { open: true };
  const zoneName = zoneNameOf(window);
  // Validation rejects unknown zones; should one get through anyway, holding the release is the safe side.
  if (!IANAZone.isValidZone(zoneName)) return { open: false, reason: `the release window's time zone "${zoneName}" is unknown` };
  const badTime = (window.allowed ?? []).flatMap((r) => [r.start, r.end]).find((time) => minutesOf(time) === undefined);
  if (badTime !== undefined) return { open: false, reason: `the release window's time "${badTime}" is not HH:MM (${zoneName})` };
  const zone = IANAZone.create(zoneName);
  const t = now.getTime();
  const today = Math.floor((t + zone.offset(t) * MINUTE) / DAY);
  const blackouts = blackoutDays(window.blackoutDates);

  const closed = (opensAt: number | undefined): WindowVerdict => {
    if (window.allowed?.length === 0) return { open: false, reason: `the release window allows no time (${zoneName})` };
    const reason = blackouts.has(today)
      ? `${dayString(today)} is a blackout date (${zoneName})`
      : `outside the release window ${describeWindow(window)}`;
    return opensAt === undefined
      ? { open: false, reason: `${reason}; it does not open within ${WINDOW_HORIZON_DAYS} days` }
      : { open: false, reason, opensAt: new Date(opensAt) };
  };

  /** The verdict when the first `days` days decide it; undefined when later days could still change it. */
  const within = (days: number, last: boolean): WindowVerdict | undefined => {
    // Ranges of a day cover less than a day of wall time, so yesterday's is the earliest that can hold now.
    const open = openIntervals(window, zone, today - 1, today + days, blackouts);
    // Ranges of later days start at wall time (today + days + 1) 00:00, which no zone (offsets within
    // ±14 h) puts before this instant: what lies before it is final.
    const settled = (today + days) * DAY;
    const current = open.find((i) => i.start <= t && t < i.end);
    if (current) {
      if (current.end < settled) return { open: true, closesAt: new Date(current.end) };
      return last ? { open: true } : undefined;
    }
    const next = open.find((i) => i.start > t);
    if (next && next.start < settled) return closed(next.start);
    return last ? closed(undefined) : undefined;
  };

  return within(FIRST_HORIZON_DAYS, false) ?? within(WINDOW_HORIZON_DAYS, true)!;
}

function zoneNameOf(window: ReleaseWindow): string {
  return window.timezone || 'UTC';
}

/** Sorted, merged open intervals of the ranges that start on local days first..lastDay, blackouts cut out. */
function openIntervals(window: ReleaseWindow, zone: IANAZone, firstDay: number, lastDay: number, blackouts: ReadonlySet<number>): Interval[] {
  const spans = offsetSpans(zone, firstDay * DAY - DAY, (lastDay + 2) * DAY + DAY);
  const allowed: Interval[] = [];
  for (let day = firstDay; day <= lastDay; day++) {
    for (const wall of wallRangesOn(window.allowed, day)) allowed.push(...instantsOfWall(spans, wall));
  }
  const cut: Interval[] = [];
  for (const day of blackouts) cut.push(...instantsOfWall(spans, { start: day * DAY, end: (day + 1) * DAY }));
  return subtract(merge(allowed), merge(cut));
}

/** Wall-clock intervals (milliseconds since 1970-01-01T00:00 local) of the ranges that start on a local day. */
function wallRangesOn(ranges: ReleaseWindow['allowed'], day: number): Interval[] {
  const dayStart = day * DAY;
  if (ranges === undefined) return [{ start: dayStart, end: dayStart + DAY }];
  const weekday = WEEKDAY_BY_UTC_DAY[new Date(dayStart).getUTCDay()]!;
  const walls: Interval[] = [];
  for (const range of ranges) {
    if (!range.days.includes(weekday)) continue;
    // Checked by windowVerdict before any range is read.
    const start = minutesOf(range.start)!;
    const end = minutesOf(range.end)!;
    // start == end is rejected by validation; read literally, [t, t) is empty.
    if (start === end) continue;
    walls.push({ start: dayStart + start * MINUTE, end: dayStart + (end > start ? 0 : DAY) + end * MINUTE });
  }
  return walls;
}

/** The instants whose wall-clock time lies in a wall interval: per offset span, shift and clip. */
function instantsOfWall(spans: readonly OffsetSpan[], wall: Interval): Interval[] {
  const instants: Interval[] = [];
  for (const span of spans) {
    const start = Math.max(wall.start - span.offset, span.start);
    const end = Math.min(wall.end - span.offset, span.end);
    if (start < end) instants.push({ start, end });
  }
  return instants;
}

/** The zone's offsets over [from, to): sampled, with each change located to the millisecond by bisection. */
function offsetSpans(zone: IANAZone, from: number, to: number): OffsetSpan[] {
  const offsetAt = (t: number) => zone.offset(t) * MINUTE;
  const spans: OffsetSpan[] = [];
  let spanStart = from;
  let offset = offsetAt(from);
  let t = from;
  while (t < to) {
    const sample = Math.min(t + OFFSET_SAMPLE, to);
    if (offsetAt(sample) === offset) {
      t = sample;
      continue;
    }
    let lo = t;
    let hi = sample;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (offsetAt(mid) === offset) lo = mid;
      else hi = mid;
    }
    spans.push({ start: spanStart, end: hi, offset });
    spanStart = hi;
    offset = offsetAt(hi);
    t = hi;
  }
  spans.push({ start: spanStart, end: to, offset });
  return spans;
}

function merge(intervals: Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  const merged: Interval[] = [];
  for (const interval of sorted) {
    const previous = merged.at(-1);
    if (previous && interval.start <= previous.end) previous.end = Math.max(previous.end, interval.end);
    else merged.push({ ...interval });
  }
  return merged;
}

/** Both inputs sorted and merged. */
function subtract(from: Interval[], cut: Interval[]): Interval[] {
  const result: Interval[] = [];
  for (const interval of from) {
    let start = interval.start;
    for (const c of cut) {
      if (c.end <= start) continue;
      if (c.start >= interval.end) break;
      if (c.start > start) result.push({ start, end: c.start });
      start = Math.max(start, c.end);
    }
    if (start < interval.end) result.push({ start, end: interval.end });
  }
  return result;
}

function minutesOf(hhmm: string): number | undefined {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  return match ? Number(match[1]) * 60 + Number(match[2]) : undefined;
}

function blackoutDays(dates: readonly string[] | undefined): Set<number> {
  const days = new Set<number>();
  for (const date of dates ?? []) {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
    if (match) days.add(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) / DAY);
  }
  return days;
}

function dayString(day: number): string {
  return new Date(day * DAY).toISOString().slice(0, 10);
}

function describeRanges(ranges: ReleaseWindow['allowed']): string {
  if (ranges === undefined) return 'any time';
  if (ranges.length === 0) return 'never';
  // Ranges on the same days read as one group, in the order the spec first names them.
  const groups = new Map<string, string[]>();
  for (const range of ranges) {
    const days = describeDays(range.days);
    groups.set(days, [...(groups.get(days) ?? []), `${range.start}-${range.end}`]);
  }
  return [...groups].map(([days, times]) => `${days} ${times.join(', ')}`).join('; ');
}

/** Mon,Wed,Fri-Sun: runs of three or more days become a span. */
function describeDays(days: readonly Weekday[]): string {
  const indexes = [...new Set(days)].map((d) => WEEKDAYS.indexOf(d)).sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < indexes.length; ) {
    let j = i;
    while (j + 1 < indexes.length && indexes[j + 1] === indexes[j]! + 1) j++;
    if (j - i >= 2) parts.push(`${WEEKDAYS[indexes[i]!]}-${WEEKDAYS[indexes[j]!]}`);
    else for (let k = i; k <= j; k++) parts.push(WEEKDAYS[indexes[k]!]!);
    i = j + 1;
  }
  return parts.join(',');
}
