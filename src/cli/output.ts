// Output formatting: kubectl-style tables (upper-case headers, columns padded with three spaces) and JSON/YAML. Pure.
import { stringify } from 'yaml';
import type { OutputFormat } from './command.ts';

/** JSON (2-space, trailing newline) or YAML for -o json|yaml. */
export function render(format: Exclude<OutputFormat, 'table'>, value: unknown): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value, { lineWidth: 0 });
}

/** A table: the header row upper-cased, every column as wide as its widest cell, the last column unpadded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [headers.map((h) => h.toUpperCase()), ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('   ').trimEnd() + '\n').join('');
}

/** A list of objects as -o json|yaml shows it: kind List with the items, as kubectl does. */
export function asList(items: readonly unknown[]): { apiVersion: 'v1'; kind: 'List'; items: readonly unknown[] } {
  return { apiVersion: 'v1', kind: 'List', items };
}

/** kubectl's AGE column: 45s, 12m, 5h, 3d from an RFC 3339 timestamp. */
export function age(since: string | undefined, now: number): string {
  if (since === undefined) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(since)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 2 * 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}
