// How the CLI ends: a KilnError prints its diagnostics one per line and exits 2; anything else is
// a bug in kiln, printed as "internal error" with its stack, exit 70 (EX_SOFTWARE).
import { formatDiagnostic, KilnError } from '../diag/index.ts';

export const EXIT_USER_ERROR = 2;
export const EXIT_INTERNAL = 70;

/** What must end on stderr before an error is printed (a progress bar half drawn on a terminal). */
export const endBeforeError = new Set<() => void>();

export function reportError(e: unknown): number {
  for (const end of endBeforeError) end();
  if (e instanceof KilnError) {
    for (const d of e.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
    return EXIT_USER_ERROR;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  process.stderr.write(`internal error (a bug in kiln, please report it): ${err.stack ?? err.message}\n`);
  return EXIT_INTERNAL;
}
