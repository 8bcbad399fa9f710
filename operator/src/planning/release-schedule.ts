/**
 * When a scheduled Release starts (issue 5): at a fixed instant, or at the next occurrence of a cron
 * expression in a time zone. DST follows croner (as Vixie cron): a fixed-time job (one value each for
 * seconds, minutes and hours, e.g. `30 2 * * *`) whose time falls in a spring-forward gap runs at the first
 * instant after the gap, and once (the first time) in a fall-back overlap; a job with a wildcard, step,
 * list or range there skips the missing times and runs on both passes of a repeated one.
 */
import { Cron } from 'croner';
import { DateTime, IANAZone } from 'luxon';
import type { Schedule } from '../api/release.ts';

export type ScheduledStart = { at: Date } | { error: string };

/** RFC 3339 date-time: an explicit offset is required, so no operator-local zone can creep in. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * `at`: that instant (in the past too; the caller starts at once then). `cron`: the first occurrence
 * strictly after `reference` (the Release's creation time, so the answer is the same on every pass).
 */
export function scheduledStart(schedule: Schedule, reference: Date): ScheduledStart {
  if (schedule.at !== undefined && schedule.cron !== undefined) return { error: 'spec.schedule: exactly one of at, cron must be set' };
  if (schedule.at !== undefined) {
    if (schedule.timezone !== undefined) return { error: 'spec.schedule.timezone is only used with cron (at carries its own offset)' };
    return parseAt(schedule.at);
  }
  if (schedule.cron === undefined) return { error: 'spec.schedule: exactly one of at, cron must be set' };
  const job = cronJob(schedule.cron, schedule.timezone);
  if ('error' in job) return job;
  const next = job.nextRun(reference);
  if (!next) return { error: `spec.schedule.cron "${schedule.cron}" has no occurrence after ${reference.toISOString()}` };
  return { at: next };
}

/** The next `count` occurrences strictly after `after`; throws with the same messages scheduledStart gives. */
export function nextOccurrences(cron: string, timezone: string | undefined, after: Date, count: number): Date[] {
  const job = cronJob(cron, timezone);
  if ('error' in job) throw new Error(job.error);
  return job.nextRuns(count, after);
}

function parseAt(at: string): ScheduledStart {
  const problem = (detail: string) => ({ error: `spec.schedule.at "${at}" is not a valid RFC 3339 time: ${detail}` });
  if (!RFC3339.test(at)) return problem('expected YYYY-MM-DDTHH:MM:SS with Z or an offset such as +08:00');
  // Luxon rather than Date.parse: Date.parse rolls 2026-02-30 over into March.
  const parsed = DateTime.fromISO(at.replace(/^(.{10})[t ]/, '$1T').replace(/z$/, 'Z'), { setZone: true });
  if (!parsed.isValid) return problem(parsed.invalidExplanation ?? parsed.invalidReason ?? 'invalid');
  return { at: parsed.toJSDate() };
}

function cronJob(cron: string, timezone: string | undefined): Cron | { error: string } {
  // Croner reads an absent zone as the operator's local one; the API's default is UTC.
  const zone = timezone ?? 'UTC';
  if (!IANAZone.isValidZone(zone)) return { error: `spec.schedule.timezone "${zone}" is not a known IANA time zone` };
  try {
    // 5 or 6 fields as the API documents; croner would otherwise read a 7th as a year.
    return new Cron(cron, { timezone: zone, paused: true, mode: '5-or-6-parts' });
  } catch (error) {
    return { error: `spec.schedule.cron "${cron}" is not a valid cron expression: ${(error as Error).message.replace(/^CronPattern: /, '')}` };
  }
}
