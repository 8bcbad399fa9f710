import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Schedule } from '../../operator/src/api/release.ts';
import { nextOccurrences, scheduledStart } from '../../operator/src/planning/release-schedule.ts';

const iso = (result: ReturnType<typeof scheduledStart>) => ('at' in result ? result.at.toISOString() : result);

describe('scheduledStart with at', () => {
  const created = new Date('2026-01-01T00:00:00Z');
  it.each<[behaviour: string, at: string, expected: string]>([
    ['an offset is applied', '2024-12-15T10:00:00+08:00', '2024-12-15T02:00:00.000Z'],
    ['Z is UTC', '2026-03-01T10:00:00Z', '2026-03-01T10:00:00.000Z'],
    ['a negative offset with a fraction of a second', '2026-03-01T10:00:00.250-05:30', '2026-03-01T15:30:00.250Z'],
    ['lowercase t and z, as RFC 3339 allows', '2026-03-01t10:00:00z', '2026-03-01T10:00:00.000Z'],
    ['a space separator, as RFC 3339 allows', '2026-03-01 10:00:00+01:00', '2026-03-01T09:00:00.000Z'],
    ['a time in the past is returned as is (the caller starts at once)', '2020-01-01T00:00:00Z', '2020-01-01T00:00:00.000Z'],
  ])('%s', (_, at, expected) => {
    expect(iso(scheduledStart({ at }, created))).toBe(expected);
  });

  it.each<[behaviour: string, at: string, detail: string]>([
    ['no offset would mean the operator\'s own zone', '2026-03-01T10:00:00', 'expected YYYY-MM-DDTHH:MM:SS with Z or an offset such as +08:00'],
    ['hour 24 is not RFC 3339', '2026-03-01T24:00:00Z', 'expected YYYY-MM-DDTHH:MM:SS with Z or an offset such as +08:00'],
    ['a day the month does not have', '2026-02-30T10:00:00Z', 'you specified 30 (of type number) as a day, which is invalid'],
  ])('%s is an error naming the field', (_, at, detail) => {
    expect(scheduledStart({ at }, created)).toEqual({ error: `spec.schedule.at "${at}" is not a valid RFC 3339 time: ${detail}` });
  });
});

describe('scheduledStart with cron', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it.each<[behaviour: string, schedule: Schedule, reference: string, expected: string]>([
    ['workdays at 10:00 in Shanghai', { cron: '0 10 * * 1-5', timezone: 'Asia/Shanghai' }, '2026-01-01T00:00:00Z', '2026-01-01T02:00:00.000Z'],
    ['from Friday noon the next workday is Monday', { cron: '0 10 * * 1-5', timezone: 'Asia/Shanghai' }, '2026-01-02T04:00:00Z', '2026-01-05T02:00:00.000Z'],
    ['strictly after the reference: an occurrence at it is skipped', { cron: '0 10 * * *' }, '2026-01-01T10:00:00Z', '2026-01-02T10:00:00.000Z'],
    ['strictly after, to the millisecond', { cron: '0 10 * * *' }, '2026-01-01T10:00:00.500Z', '2026-01-02T10:00:00.000Z'],
    ['just before an occurrence', { cron: '0 10 * * *' }, '2026-01-01T09:59:59.999Z', '2026-01-01T10:00:00.000Z'],
    ['six fields: the first is seconds', { cron: '15 30 10 * * *' }, '2026-01-01T00:00:00Z', '2026-01-01T10:30:15.000Z'],
    ['@daily is local midnight', { cron: '@daily', timezone: 'Asia/Shanghai' }, '2026-01-01T00:00:00Z', '2026-01-01T16:00:00.000Z'],
    ['@weekly is Sunday midnight', { cron: '@weekly' }, '2026-01-01T00:00:00Z', '2026-01-04T00:00:00.000Z'],
    ['@hourly', { cron: '@hourly', timezone: 'Asia/Kolkata' }, '2026-01-01T00:10:00Z', '2026-01-01T00:30:00.000Z'],
    // Croner (as Vixie cron): a fixed time in the spring-forward gap runs at the first instant after it.
    ['Berlin spring: 02:30 does not exist, so 03:00 CEST', { cron: '30 2 * * *', timezone: 'Europe/Berlin' }, '2026-03-28T12:00:00Z', '2026-03-29T01:00:00.000Z'],
    ['New York spring: 02:00 does not exist, so 03:00 EDT', { cron: '0 2 * * *', timezone: 'America/New_York' }, '2026-03-07T12:00:00Z', '2026-03-08T07:00:00.000Z'],
    // ... and a fixed time that happens twice runs at the first pass only.
    ['Berlin autumn: 02:30 CEST, the first pass', { cron: '30 2 * * *', timezone: 'Europe/Berlin' }, '2026-10-24T12:00:00Z', '2026-10-25T00:30:00.000Z'],
    ['Berlin autumn: after the first pass the next run is the next day', { cron: '30 2 * * *', timezone: 'Europe/Berlin' }, '2026-10-25T00:30:00Z', '2026-10-26T01:30:00.000Z'],
  ])('%s', (_, schedule, reference, expected) => {
    expect(iso(scheduledStart(schedule, new Date(reference)))).toBe(expected);
  });

  it('reads an absent time zone as UTC, not the operator\'s zone', () => {
    vi.stubEnv('TZ', 'Asia/Tokyo');
    expect(iso(scheduledStart({ cron: '0 10 * * *' }, new Date('2026-01-01T00:00:00Z')))).toBe('2026-01-01T10:00:00.000Z');
  });

  it.each<[behaviour: string, schedule: Schedule, error: string]>([
    ['a minute out of range', { cron: '61 * * * *' }, 'spec.schedule.cron "61 * * * *" is not a valid cron expression: Invalid value for minute: 61'],
    ['not an expression', { cron: 'bogus' }, 'spec.schedule.cron "bogus" is not a valid cron expression: invalid configuration format (\'bogus\'), exactly five, six, or seven space separated parts are required.'],
    ['a seventh (year) field', { cron: '0 0 10 * * * 2027' }, 'spec.schedule.cron "0 0 10 * * * 2027" is not a valid cron expression: mode \'5-or-6-parts\' requires exactly 5 or 6 parts, but pattern \'0 0 10 * * * 2027\' has 7 parts.'],
    ['an unknown time zone', { cron: '0 10 * * *', timezone: 'Mars/Olympus' }, 'spec.schedule.timezone "Mars/Olympus" is not a known IANA time zone'],
    ['a date that never comes', { cron: '0 0 30 2 *' }, 'spec.schedule.cron "0 0 30 2 *" has no occurrence after 2026-01-01T00:00:00.000Z'],
    ['neither at nor cron', {}, 'spec.schedule: exactly one of at, cron must be set'],
    ['both at and cron', { at: '2026-03-01T10:00:00Z', cron: '0 10 * * *' }, 'spec.schedule: exactly one of at, cron must be set'],
    ['a time zone with at', { at: '2026-03-01T10:00:00Z', timezone: 'UTC' }, 'spec.schedule.timezone is only used with cron (at carries its own offset)'],
  ])('%s is an error naming the field', (_, schedule, error) => {
    expect(scheduledStart(schedule, new Date('2026-01-01T00:00:00Z'))).toEqual({ error });
  });
});

describe('nextOccurrences', () => {
  it.each<[behaviour: string, cron: string, timezone: string | undefined, after: string, expected: string[]]>([
    ['a fixed time across the Berlin spring gap: 03:00 CEST on the day itself',
      '30 2 * * *', 'Europe/Berlin', '2026-03-27T12:00:00Z', ['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']],
    ['a fixed time across the Berlin autumn overlap: once, at the first pass',
      '30 2 * * *', 'Europe/Berlin', '2026-10-23T12:00:00Z', ['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']],
    // A list makes an interval job for croner: missing times are skipped, repeated ones run twice.
    ['a list in the Berlin spring gap is skipped that day',
      '0,30 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', ['2026-03-30T00:00:00.000Z', '2026-03-30T00:30:00.000Z']],
    ['a list in the Berlin autumn overlap runs on both passes',
      '0,30 2 * * *', 'Europe/Berlin', '2026-10-24T12:00:00Z', ['2026-10-25T00:00:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T01:30:00.000Z']],
    ['a fixed time in the New York autumn overlap: the EDT pass only',
      '30 1 * * *', 'America/New_York', '2026-10-31T12:00:00Z', ['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']],
    ['seconds', '*/20 * * * * *', undefined, '2026-01-01T10:00:00Z', ['2026-01-01T10:00:20.000Z', '2026-01-01T10:00:40.000Z', '2026-01-01T10:01:00.000Z']],
  ])('%s', (_, cron, timezone, after, expected) => {
    expect(nextOccurrences(cron, timezone, new Date(after), expected.length).map((d) => d.toISOString())).toEqual(expected);
  });

  it('throws the error scheduledStart reports', () => {
    expect(() => nextOccurrences('61 * * * *', 'UTC', new Date(), 1)).toThrow('spec.schedule.cron "61 * * * *" is not a valid cron expression: Invalid value for minute: 61');
  });
});
