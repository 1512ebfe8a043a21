// The Requant layer's arithmetic, one definition for the layer's execute (layers/requant.ts), the
// requant fit (lower/requant-fit.ts) and streamlining.

/** Rounding of the Requant division by 2^shift (src/ir/dataflow.ts): floor, or round half to even. */
export type RequantRound = 'floor' | 'half-even';

/**
 * Requant semantics (src/ir/dataflow.ts): clamp(R((x·M + B) / 2^shift), lo, hi), R = floor (default)
 * or round half to even. x·M + B is an integer (|·| < 2^53), so both are exact in float64.
 */
export function requantValue(x: number, m: number, b: number, shift: number, lo: number, hi: number, round: RequantRound = 'floor'): number {
  const n = x * m + b;
  const one = 2 ** shift;
  let v = Math.floor(n / one);
  if (round === 'half-even' && shift > 0) {
    const rem = n - v * one; // 0 ≤ rem < 2^shift
    const half = one / 2;
    if (rem > half || (rem === half && v % 2 !== 0)) v += 1;
  }
  return Math.min(hi, Math.max(lo, v));
}
