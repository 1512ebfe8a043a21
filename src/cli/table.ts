// Plain aligned text tables for terminal output.
import { escapeControl } from '../diag/index.ts';

/** Cells hold names from models: control characters in them are escaped, one row stays one line. */
export function table(cells: string[][], indent = ''): string[] {
  const rows = cells.map((r) => r.map(escapeControl));
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd());
}
