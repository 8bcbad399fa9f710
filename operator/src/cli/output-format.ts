/**
 * `-o table|json|yaml`, as kubectl spells it. Pure: the flag is checked once, up front, so a typo is a usage
 * error (exit 2) before anything is asked of the cluster; objects print through JSON.stringify or the yaml
 * package, tables through cli-table3 with kubectl's borderless look.
 */
import Table from 'cli-table3';
import { stringify } from 'yaml';
import { UsageError } from './usage-error.ts';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function outputFormat(value: string | undefined, allowed: readonly OutputFormat[] = OUTPUT_FORMATS): OutputFormat {
  const format = (value ?? 'table') as OutputFormat;
  if (!allowed.includes(format)) throw new UsageError(`-o "${value}" is not one of ${allowed.join(', ')}`);
  return format;
}

/** An object as JSON (two-space indent) or YAML; never a table (the caller draws those). */
export function formatObject(value: unknown, format: Exclude<OutputFormat, 'table'>): string {
  return format === 'json' ? JSON.stringify(value, null, 2) : stringify(value, { lineWidth: 0 }).trimEnd();
}

/** A table with upper-case headers and no borders, like `kubectl get`; empty cells show as "-". */
export function table(head: readonly string[], rows: readonly (readonly (string | number | boolean | undefined | null)[])[]): string {
  const t = new Table({
    head: [...head],
    style: { head: [], border: [], compact: true, 'padding-left': 0, 'padding-right': 2 },
    chars: { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '' },
  });
  for (const row of rows) t.push(row.map((cell) => (cell === undefined || cell === null || cell === '' ? '-' : String(cell))));
  return t.toString().split('\n').map((line) => line.trimEnd()).join('\n');
}

/** Seconds as kubectl shows ages: 42s, 3m5s, 2h4m, 3d4h. */
export function duration(seconds: number | undefined): string | undefined {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return undefined;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ''}`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600) ? `${Math.floor((s % 86400) / 3600)}h` : ''}`;
}

/** Seconds between two timestamps (RFC 3339 strings or Dates); undefined unless both are known. */
export function secondsBetween(from: string | Date | null | undefined, to: string | Date | null | undefined): number | undefined {
  if (!from || !to) return undefined;
  const ms = new Date(to).getTime() - new Date(from).getTime();
  return Number.isFinite(ms) && ms >= 0 ? ms / 1000 : undefined;
}
