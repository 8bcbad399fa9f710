/**
 * Benchmarks of the release policy's pure parts, which run on every Release pass or every log line:
 * - the masker over log lines as the number of secrets in play grows (every operator log line, event,
 *   status and history write goes through it);
 * - resolving a release's variables (layers, templates, secrets);
 * - release window verdicts (time zones, DST, a blackout list) and cron schedule starts.
 * Prints a table; run with `make bench` (or `npx tsx bench/release-policy.ts`).
 */
import { performance } from 'node:perf_hooks';
import { createMasker } from '../operator/src/planning/masking.ts';
import { plainVariables, refKey, resolveVariables, type VariableLayerInput } from '../operator/src/planning/variable-resolver.ts';
import { windowVerdict } from '../operator/src/planning/release-window.ts';
import { scheduledStart } from '../operator/src/planning/release-schedule.ts';
import type { ReleaseWindow } from '../operator/src/api/release.ts';
import type { Variable } from '../operator/src/api/variables.ts';

interface Row {
  benchmark: string;
  result: string;
  detail: string;
}

const rows: Row[] = [];

/** Runs `work` repeatedly for about `ms` and returns operations per second. */
function rate(work: () => void, ms = 1500): { perSecond: number; runs: number } {
  for (let i = 0; i < 50; i++) work(); // warm-up
  let runs = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    for (let i = 0; i < 20; i++) work();
    runs += 20;
  }
  return { perSecond: runs / ((performance.now() - start) / 1000), runs };
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));

// ---- masking
const line = 'deploy shop/web-prod-2 attempt 1: task migrate finished in 4.2s, output: applied 3 migrations to db.internal:5432 as user shop';
const lines = Array.from({ length: 1000 }, (_, i) => `${line} #${i}`);
for (const secrets of [0, 10, 100, 1000]) {
  const mask = createMasker(Array.from({ length: secrets }, (_, i) => `secret-value-${i}-${'x'.repeat(20)}`));
  const { perSecond } = rate(() => {
    for (const l of lines) mask(l);
  });
  rows.push({ benchmark: `mask a 130-byte log line, ${secrets} secrets in play`, result: `${fmt((perSecond * lines.length) / 1000)}k lines/s`, detail: `${fmt(1e6 / (perSecond * lines.length))} µs per line` });
}

// ---- variables
const templates: Variable[] = Array.from({ length: 50 }, (_, i) => ({ name: `T${i}`, type: 'template', value: `\${BACKUP_DIR}/\${APP_NAME}/\${P${i}}/\${S${i % 10}}` }));
const plain: Variable[] = Array.from({ length: 100 }, (_, i) => ({ name: `P${i}`, type: 'plain', value: `value-${i}` }));
const secret: Variable[] = Array.from({ length: 10 }, (_, i) => ({ name: `S${i}`, type: 'secret', secretKeyRef: { name: 'db', key: `k${i}` } }));
const fetched = new Map(secret.map((v, i) => [refKey({ kind: 'secret', name: 'db', key: `k${i}` }), { value: `secret-${i}-${'y'.repeat(16)}` }]));
const layers: VariableLayerInput[] = [
  { layer: 'system', variables: plainVariables({ RELEASE_ID: 'uid', RELEASE_ENV: 'prod', BACKUP_DIR: '/var/backups' }) },
  { layer: 'project', variables: plain.slice(0, 50) },
  { layer: 'release', variables: [...plain.slice(50), ...secret, ...templates] },
  { layer: 'runtime', variables: plainVariables({ APP_NAME: 'web', TARGET_NAME: 'web-prod-2' }) },
];
{
  const { perSecond } = rate(() => resolveVariables({ layers, environment: 'prod', fetched }));
  rows.push({ benchmark: 'resolve 165 variables (100 plain, 10 secret, 50 templates) over 4 layers', result: `${fmt(perSecond)} /s`, detail: `${fmt(1000 / perSecond)} ms each` });
}

// ---- windows and schedules
const window: ReleaseWindow = {
  timezone: 'Europe/Berlin',
  allowed: [{ days: ['Mon', 'Tue', 'Wed', 'Thu'], start: '09:00', end: '12:00' }, { days: ['Mon', 'Tue', 'Wed', 'Thu'], start: '14:00', end: '17:00' }],
  blackoutDates: Array.from({ length: 60 }, (_, i) => new Date(Date.UTC(2026, 11, 1 + i)).toISOString().slice(0, 10)),
};
const friday = new Date('2026-11-27T18:00:00Z');
{
  const { perSecond } = rate(() => windowVerdict(window, friday));
  rows.push({ benchmark: 'window verdict, closed (Berlin, 2 ranges, next opening after the weekend)', result: `${fmt(perSecond)} /s`, detail: `${fmt(1e6 / perSecond)} µs each` });
  const blackout = rate(() => windowVerdict(window, new Date('2026-12-02T10:00:00Z')));
  rows.push({ benchmark: 'window verdict inside 60 consecutive blackout days (long search)', result: `${fmt(blackout.perSecond)} /s`, detail: `${fmt(1e6 / blackout.perSecond)} µs each` });
  const open = rate(() => windowVerdict(window, new Date('2026-11-30T09:30:00Z')));
  rows.push({ benchmark: 'window verdict, open', result: `${fmt(open.perSecond)} /s`, detail: `${fmt(1e6 / open.perSecond)} µs each` });
  const cron = rate(() => scheduledStart({ cron: '0 10 * * 1-5', timezone: 'Asia/Shanghai' }, friday));
  rows.push({ benchmark: 'cron schedule start (weekdays 10:00 Asia/Shanghai)', result: `${fmt(cron.perSecond)} /s`, detail: `${fmt(1e6 / cron.perSecond)} µs each` });
}

const width = (k: keyof Row) => Math.max(k.length, ...rows.map((r) => r[k].length));
const w = { benchmark: width('benchmark'), result: width('result'), detail: width('detail') };
console.log(`| ${'benchmark'.padEnd(w.benchmark)} | ${'result'.padEnd(w.result)} | ${'detail'.padEnd(w.detail)} |`);
console.log(`|${'-'.repeat(w.benchmark + 2)}|${'-'.repeat(w.result + 2)}|${'-'.repeat(w.detail + 2)}|`);
for (const r of rows) console.log(`| ${r.benchmark.padEnd(w.benchmark)} | ${r.result.padEnd(w.result)} | ${r.detail.padEnd(w.detail)} |`);
