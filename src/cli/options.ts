// Numeric command-line options in one place: each declares its range and unit, and a value outside
// it (0, −5, abc, 1e400) is one KLN1014 line naming the option, the range and the unit, before any work.
import { fail } from '../diag/index.ts';

export interface NumberRule {
  integer?: boolean;
  /** Inclusive lower bound. */
  min?: number;
  /** Exclusive lower bound (e.g. 0 for "positive"). */
  above?: number;
  /** Inclusive upper bound. */
  max?: number;
  /** Exclusive upper bound. */
  below?: number;
  /** The unit, named in the message ("MHz", "bit/s", "ms"). */
  unit?: string;
}

/** "a positive integer", "a number in [0, 1)", "an integer from 1 to 3000000 in bit/s". */
export function describeRule(r: NumberRule): string {
  const kind = r.integer ? 'integer' : 'number';
  const hasLow = r.min !== undefined || r.above !== undefined;
  const hasHigh = r.max !== undefined || r.below !== undefined;
  let what: string;
  if (!hasHigh && (r.above === 0 || (r.integer && r.min === 1))) what = `a positive ${kind}`;
  else if (!hasHigh && r.min === 0) what = `a non-negative ${kind}`;
  else if (hasLow && hasHigh && r.integer && r.min !== undefined && r.max !== undefined) what = `an integer from ${r.min} to ${r.max}`;
  else if (hasLow && hasHigh) what = `a ${kind} in ${r.min !== undefined ? `[${r.min}` : `(${r.above}`}, ${r.max !== undefined ? `${r.max}]` : `${r.below})`}`;
  else if (hasLow) what = `${r.integer ? 'an' : 'a'} ${kind} ${r.min !== undefined ? `of at least ${r.min}` : `above ${r.above}`}`;
  else if (hasHigh) what = `${r.integer ? 'an' : 'a'} ${kind} ${r.max !== undefined ? `of at most ${r.max}` : `below ${r.below}`}`;
  else what = `a finite ${kind}`;
  return r.unit ? `${what} in ${r.unit}` : what;
}

/** Whether v (a number) satisfies the rule; NaN and ±Infinity never do. */
export function withinRule(v: number, r: NumberRule): boolean {
  if (!Number.isFinite(v) || (r.integer && !Number.isInteger(v))) return false;
  if (r.min !== undefined && v < r.min) return false;
  if (r.above !== undefined && v <= r.above) return false;
  if (r.max !== undefined && v > r.max) return false;
  if (r.below !== undefined && v >= r.below) return false;
  return true;
}

/** The value of option `--name` (raw text from the command line, or its numeric default), checked. */
export function checkNumberOption(name: string, raw: unknown, r: NumberRule): number {
  if (Array.isArray(raw)) fail('BadArgument', `--${name} was given ${raw.length} times (${raw.join(', ')}): give it once`);
  const v = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  if (!withinRule(v, r)) {
    const numeric = typeof raw === 'string' && raw.trim() !== '' && !Number.isNaN(Number(raw));
    const shown = typeof raw !== 'string' ? String(raw) : numeric ? raw : `'${raw}'`;
    fail('BadArgument', `--${name} must be ${describeRule(r)}, not ${shown}`);
  }
  return v;
}

/**
 * A yargs option spec for a number with a rule: parsed from the raw text (so the message can quote
 * it), shown as [number] in the help.
 */
export function numberOption<S extends NumberRule & { describe: string; default?: number; hidden?: boolean; alias?: string }>(
  name: string,
  spec: S,
): NumberOptionSpec<S> {
  const { integer, min, above, max, below, unit, ...yargsSpec } = spec;
  const rule = { integer, min, above, max, below, unit };
  const coerce = (raw: unknown) => (raw === undefined ? undefined : checkNumberOption(name, raw, rule));
  return { ...yargsSpec, type: 'number', string: true, requiresArg: true, coerce } as unknown as NumberOptionSpec<S>;
}

/** What yargs sees: a number, always present when the option has a default. */
type NumberOptionSpec<S> = S extends { default: number }
  ? { type: 'number'; default: number; describe: string; coerce: (raw: unknown) => number }
  : { type: 'number'; describe: string; coerce: (raw: unknown) => number | undefined };
