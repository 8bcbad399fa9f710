import { describe, expect, it } from 'vitest';
import type { ReleaseWindow } from '../../operator/src/api/release.ts';
import { describeWindow, isEmergencyUser, windowVerdict } from '../../operator/src/planning/release-window.ts';

type Range = NonNullable<ReleaseWindow['allowed']>[number];
const WORKDAYS: Range['days'] = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'];
const range = (days: Range['days'], start: string, end: string): Range => ({ days, start, end });

const shanghaiOffice: ReleaseWindow = {
  timezone: 'Asia/Shanghai',
  allowed: [range(WORKDAYS, '10:00', '12:00'), range(WORKDAYS, '14:00', '17:00')],
  blackoutDates: ['2026-10-01'],
};
const fridayNight: ReleaseWindow = { timezone: 'UTC', allowed: [range(['Fri'], '22:00', '02:00')] };

/** Dates of every Monday from the first one given, for a window that can never open. */
function mondays(from: string, count: number): string[] {
  const first = Date.parse(`${from}T00:00:00Z`);
  return Array.from({ length: count }, (_, i) => new Date(first + i * 7 * 86_400_000).toISOString().slice(0, 10));
}

function januaryDays(): string[] {
  return Array.from({ length: 31 }, (_, i) => `2026-01-${String(i + 1).padStart(2, '0')}`);
}

type Row = [behaviour: string, window: ReleaseWindow | undefined, now: string, open: boolean, next: string | undefined];

/** `next` is closesAt when open and opensAt when closed; instants carry the local offset to show which pass of a repeated hour is meant. */
function expectVerdict(window: ReleaseWindow | undefined, now: string, open: boolean, next: string | undefined) {
  const verdict = windowVerdict(window, new Date(now));
  expect(verdict.open).toBe(open);
  const boundary = verdict.open ? verdict.closesAt : verdict.opensAt;
  expect(boundary?.toISOString()).toBe(next === undefined ? undefined : new Date(next).toISOString());
}

describe('windowVerdict on weekdays with several ranges', () => {
  it.each<Row>([
    ['inside the morning range it closes at noon', shanghaiOffice, '2026-09-30T10:30:00+08:00', true, '2026-09-30T12:00:00+08:00'],
    ['the start minute is inside', shanghaiOffice, '2026-09-30T10:00:00+08:00', true, '2026-09-30T12:00:00+08:00'],
    ['the end minute is outside; it reopens after lunch', shanghaiOffice, '2026-09-30T12:00:00+08:00', false, '2026-09-30T14:00:00+08:00'],
    ['before the first range of the day', shanghaiOffice, '2026-09-30T08:00:00+08:00', false, '2026-09-30T10:00:00+08:00'],
    ['inside the afternoon range', shanghaiOffice, '2026-09-30T16:59:00+08:00', true, '2026-09-30T17:00:00+08:00'],
    ['after Friday\'s last range it opens on Monday', shanghaiOffice, '2026-10-02T17:00:00+08:00', false, '2026-10-05T10:00:00+08:00'],
    ['at the weekend', shanghaiOffice, '2026-10-03T11:00:00+08:00', false, '2026-10-05T10:00:00+08:00'],
  ])('%s', (_, window, now, open, next) => expectVerdict(window, now, open, next));
});

describe('windowVerdict across midnight', () => {
  const mondayToTuesday: ReleaseWindow = { timezone: 'UTC', allowed: [range(['Mon'], '12:00', '00:00'), range(['Tue'], '00:00', '06:00')] };
  it.each<Row>([
    ['a range ending before it starts covers the next morning', fridayNight, '2026-10-03T01:00:00Z', true, '2026-10-03T02:00:00Z'],
    ['it is open late on the day it starts', fridayNight, '2026-10-02T23:00:00Z', true, '2026-10-03T02:00:00Z'],
    ['its end is outside', fridayNight, '2026-10-03T02:00:00Z', false, '2026-10-09T22:00:00Z'],
    ['it belongs to the day it starts: Saturday 22:30 is outside', fridayNight, '2026-10-03T22:30:00Z', false, '2026-10-09T22:00:00Z'],
    ['early Friday is not covered (Thursday has no range)', fridayNight, '2026-10-02T01:00:00Z', false, '2026-10-02T22:00:00Z'],
    ['ranges that meet at midnight close only at the end of the second', mondayToTuesday, '2026-10-05T13:00:00Z', true, '2026-10-06T06:00:00Z'],
  ])('%s', (_, window, now, open, next) => expectVerdict(window, now, open, next));
});

describe('windowVerdict on blackout dates', () => {
  const wednesdayNight: ReleaseWindow = { timezone: 'Asia/Shanghai', allowed: [range(['Wed'], '22:00', '02:00')], blackoutDates: ['2026-10-01'] };
  const anyTimeButHoliday: ReleaseWindow = { timezone: 'Asia/Shanghai', blackoutDates: ['2026-10-01', '2026-10-02'] };
  it.each<Row>([
    ['a blackout date closes a weekday range', shanghaiOffice, '2026-10-01T11:00:00+08:00', false, '2026-10-02T10:00:00+08:00'],
    ['the blackout day is local: 00:30 in Shanghai is still 30 September in UTC', shanghaiOffice, '2026-10-01T00:30:00+08:00', false, '2026-10-02T10:00:00+08:00'],
    ['the day before is untouched', shanghaiOffice, '2026-09-30T16:00:00+08:00', true, '2026-09-30T17:00:00+08:00'],
    ['a range crossing into a blackout date is cut at midnight', wednesdayNight, '2026-09-30T23:00:00+08:00', true, '2026-10-01T00:00:00+08:00'],
    ['the cut part stays closed', wednesdayNight, '2026-10-01T01:00:00+08:00', false, '2026-10-07T22:00:00+08:00'],
    ['without allowed ranges it is open until a blackout date', anyTimeButHoliday, '2026-09-30T20:00:00+08:00', true, '2026-10-01T00:00:00+08:00'],
    ['and reopens at the end of the last one', anyTimeButHoliday, '2026-10-01T12:00:00+08:00', false, '2026-10-03T00:00:00+08:00'],
    ['a month of blackout dates: it opens after them', { timezone: 'UTC', blackoutDates: januaryDays() }, '2026-01-01T12:00:00Z', false, '2026-02-01T00:00:00Z'],
    ['a blackout date 200 days ahead is when it closes', { timezone: 'UTC', blackoutDates: ['2026-07-20'] }, '2026-01-01T00:00:00Z', true, '2026-07-20T00:00:00Z'],
    ['one past the horizon is not reported', { timezone: 'UTC', blackoutDates: ['2027-06-01'] }, '2026-01-01T00:00:00Z', true, undefined],
  ])('%s', (_, window, now, open, next) => expectVerdict(window, now, open, next));
});

describe('windowVerdict in zones far from UTC', () => {
  const losAngeles: ReleaseWindow = { timezone: 'America/Los_Angeles', allowed: [range(WORKDAYS, '09:00', '17:00')] };
  const chatham: ReleaseWindow = { timezone: 'Pacific/Chatham', allowed: [range(['Mon'], '09:00', '10:00')] };
  const kolkata: ReleaseWindow = { timezone: 'Asia/Kolkata', allowed: [range(WORKDAYS, '10:00', '12:00')] };
  it.each<Row>([
    ['Los Angeles Monday evening is Tuesday in UTC; it opens Tuesday 09:00 local', losAngeles, '2026-07-06T18:00:00-07:00', false, '2026-07-07T09:00:00-07:00'],
    ['Los Angeles in summer (PDT)', losAngeles, '2026-07-10T16:00:00-07:00', true, '2026-07-10T17:00:00-07:00'],
    ['Los Angeles in winter (PST)', losAngeles, '2026-01-09T16:00:00-08:00', true, '2026-01-09T17:00:00-08:00'],
    ['Chatham Monday 09:00 (+13:45) is Sunday in UTC', chatham, '2026-01-05T08:45:00+13:45', false, '2026-01-05T09:00:00+13:45'],
    ['Chatham in its winter (+12:45)', chatham, '2026-07-06T09:30:00+12:45', true, '2026-07-06T10:00:00+12:45'],
    ['Kolkata half-hour offset: open', kolkata, '2026-07-06T10:10:00+05:30', true, '2026-07-06T12:00:00+05:30'],
    ['Kolkata half-hour offset: a minute early', kolkata, '2026-07-06T09:59:00+05:30', false, '2026-07-06T10:00:00+05:30'],
  ])('%s', (_, window, now, open, next) => expectVerdict(window, now, open, next));
});

describe('windowVerdict at DST changes', () => {
  // Europe/Berlin: 2026-03-29 02:00 CET jumps to 03:00 CEST; 2026-10-25 03:00 CEST falls back to 02:00 CET.
  const berlin = (days: Range['days'], start: string, end: string): ReleaseWindow => ({ timezone: 'Europe/Berlin', allowed: [range(days, start, end)] });
  // America/New_York: 2026-03-08 02:00 EST jumps to 03:00 EDT; 2026-11-01 02:00 EDT falls back to 01:00 EST.
  const newYork = (days: Range['days'], start: string, end: string): ReleaseWindow => ({ timezone: 'America/New_York', allowed: [range(days, start, end)] });
  it.each<Row>([
    ['Berlin spring: a range starting in the gap opens when the gap ends', berlin(['Sun'], '02:30', '03:30'), '2026-03-28T12:00:00+01:00', false, '2026-03-29T03:00:00+02:00'],
    ['Berlin spring: and closes at its wall-clock end', berlin(['Sun'], '02:30', '03:30'), '2026-03-29T03:10:00+02:00', true, '2026-03-29T03:30:00+02:00'],
    ['Berlin spring: a range ending in the gap closes when the gap starts', berlin(['Sun'], '01:00', '02:30'), '2026-03-29T01:30:00+01:00', true, '2026-03-29T03:00:00+02:00'],
    ['Berlin spring: a night range across the gap is an hour shorter', berlin(['Sat'], '22:00', '04:00'), '2026-03-28T22:00:00+01:00', true, '2026-03-29T04:00:00+02:00'],
    ['Berlin autumn: both passes of the repeated hour are in range', berlin(['Sun'], '02:00', '03:00'), '2026-10-25T02:30:00+02:00', true, '2026-10-25T03:00:00+01:00'],
    ['Berlin autumn: between the passes it waits for the second one', berlin(['Sun'], '01:00', '02:30'), '2026-10-25T02:40:00+02:00', false, '2026-10-25T02:00:00+01:00'],
    ['Berlin autumn: the second pass closes at its own 02:30', berlin(['Sun'], '01:00', '02:30'), '2026-10-25T02:00:00+01:00', true, '2026-10-25T02:30:00+01:00'],
    ['New York spring: a range wholly in the gap does not exist that day', newYork(['Sun'], '02:00', '03:00'), '2026-03-08T01:00:00-05:00', false, '2026-03-15T02:00:00-04:00'],
    ['New York spring: a range reaching into the gap closes at its start', newYork(['Sun'], '01:30', '02:30'), '2026-03-08T01:45:00-05:00', true, '2026-03-08T03:00:00-04:00'],
    ['New York autumn: the repeated hour counts twice', newYork(['Sun'], '01:00', '02:00'), '2026-11-01T01:30:00-04:00', true, '2026-11-01T02:00:00-05:00'],
    ['New York autumn: a night range into the overlap reopens for the second pass', newYork(['Sat'], '23:00', '01:30'), '2026-11-01T01:45:00-04:00', false, '2026-11-01T01:00:00-05:00'],
    ['New York autumn: and ends at the second 01:30', newYork(['Sat'], '23:00', '01:30'), '2026-11-01T01:10:00-05:00', true, '2026-11-01T01:30:00-05:00'],
  ])('%s', (_, window, now, open, next) => expectVerdict(window, now, open, next));
});

describe('windowVerdict without limits and without openings', () => {
  it.each<Row>([
    ['no window is always open', undefined, '2026-01-01T00:00:00Z', true, undefined],
    ['a window with only emergency users is always open', { timezone: 'UTC', emergencyUsers: ['oncall'] }, '2026-01-01T00:00:00Z', true, undefined],
    ['ranges covering every hour never close', { timezone: 'UTC', allowed: [range(['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'], '00:00', '12:00'), range(['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'], '12:00', '00:00')] }, '2026-01-01T00:00:00Z', true, undefined],
    ['no allowed time never opens', { timezone: 'UTC', allowed: [] }, '2026-01-01T00:00:00Z', false, undefined],
    ['every allowed day blacked out never opens', { timezone: 'UTC', allowed: [range(['Mon'], '10:00', '11:00')], blackoutDates: mondays('2026-01-05', 60) }, '2026-01-01T00:00:00Z', false, undefined],
  ])('%s', (_, window, now, open, next) => expectVerdict(window, now, open, next));
});

describe('windowVerdict reasons', () => {
  it.each<[behaviour: string, window: ReleaseWindow, now: string, reason: string]>([
    ['outside the ranges', shanghaiOffice, '2026-09-30T13:00:00+08:00', 'outside the release window Mon-Fri 10:00-12:00, 14:00-17:00 (Asia/Shanghai)'],
    ['on a blackout date, named in local time', shanghaiOffice, '2026-10-01T00:30:00+08:00', '2026-10-01 is a blackout date (Asia/Shanghai)'],
    ['never opening says so', { timezone: 'UTC', allowed: [range(['Mon'], '10:00', '11:00')], blackoutDates: mondays('2026-01-05', 60) }, '2026-01-01T00:00:00Z', 'outside the release window Mon 10:00-11:00 (UTC); it does not open within 400 days'],
    ['no allowed time', { timezone: 'UTC', allowed: [] }, '2026-01-01T00:00:00Z', 'the release window allows no time (UTC)'],
    ['a malformed time holds the release', { timezone: 'UTC', allowed: [range(['Mon'], '10:00', '24:00')] }, '2026-01-01T00:00:00Z', 'the release window\'s time "24:00" is not HH:MM (UTC)'],
    ['an unknown zone holds the release', { timezone: 'Mars/Olympus', allowed: [range(['Mon'], '10:00', '11:00')] }, '2026-01-01T00:00:00Z', 'the release window\'s time zone "Mars/Olympus" is unknown'],
  ])('%s', (_, window, now, reason) => {
    expect(windowVerdict(window, new Date(now))).toMatchObject({ open: false, reason });
  });

  it('stays the same on every pass of a day', () => {
    const passes = ['2026-09-30T12:00:00+08:00', '2026-09-30T12:01:00+08:00', '2026-09-30T18:00:00+08:00', '2026-09-30T23:59:00+08:00'];
    const reasons = new Set(passes.map((now) => {
      const verdict = windowVerdict(shanghaiOffice, new Date(now));
      return verdict.open ? 'open' : verdict.reason;
    }));
    expect([...reasons]).toEqual(['outside the release window Mon-Fri 10:00-12:00, 14:00-17:00 (Asia/Shanghai)']);
  });
});

describe('describeWindow', () => {
  it.each<[behaviour: string, window: ReleaseWindow, text: string]>([
    ['no ranges is any time', { timezone: 'Asia/Kolkata' }, 'any time (Asia/Kolkata)'],
    ['an empty zone reads as UTC', { timezone: '', allowed: [range(['Sat'], '09:00', '10:00')] }, 'Sat 09:00-10:00 (UTC)'],
    ['ranges on the same days share them', shanghaiOffice, 'Mon-Fri 10:00-12:00, 14:00-17:00 (Asia/Shanghai)'],
    ['different days are separate groups', { timezone: 'UTC', allowed: [range(WORKDAYS, '10:00', '12:00'), range(['Sat', 'Sun'], '09:00', '10:00')] }, 'Mon-Fri 10:00-12:00; Sat,Sun 09:00-10:00 (UTC)'],
    ['days are in week order, runs of three or more spanned', { timezone: 'UTC', allowed: [range(['Sun', 'Fri', 'Mon', 'Sat', 'Wed'], '22:00', '02:00')] }, 'Mon,Wed,Fri-Sun 22:00-02:00 (UTC)'],
    ['no allowed time', { timezone: 'UTC', allowed: [] }, 'never (UTC)'],
  ])('%s', (_, window, text) => {
    expect(describeWindow(window)).toBe(text);
  });
});

describe('isEmergencyUser', () => {
  const window: ReleaseWindow = { timezone: 'UTC', emergencyUsers: ['admin', 'oncall'] };
  it.each<[behaviour: string, window: ReleaseWindow | undefined, actor: string | undefined, expected: boolean]>([
    ['a listed user', window, 'oncall', true],
    ['an unlisted user', window, 'dev', false],
    ['no actor', window, undefined, false],
    ['an empty actor', window, '', false],
    ['a window without emergency users', { timezone: 'UTC' }, 'admin', false],
    ['no window', undefined, 'admin', false],
  ])('%s', (_, w, actor, expected) => {
    expect(isEmergencyUser(w, actor)).toBe(expected);
  });
});
