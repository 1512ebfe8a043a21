// The search form's tables (hw/threshold/threshold_search.v), shared by the layer (RTL parameters,
// $readmemh files) and its cost form (what the tables cost depends on their contents).
import { range, type QType } from '../../ir/datatype.ts';
import { signedBits } from '../define.ts';

/** Pipeline stages of the searching form: one per bit of the count n ∈ [0, steps]. */
export const searchStages = (steps: number): number => Math.max(1, Math.ceil(Math.log2(steps + 1)));

/** The thresholds as the RTL compares them: outside the input range they act like its ends (lo, hi + 1). */
export function clampedThresholds(inType: QType, thresholds: readonly number[]): { t: number[]; tw: number; lo: number; hi: number } {
  const [xlo, xhi] = range(inType);
  const t = thresholds.map((v) => Math.min(Math.max(v, xlo), xhi + 1));
  // Clamped into [lo, hi + 1], so that range sets the width (no spread over a table of 10^6 values).
  return { t, tw: signedBits(xlo, xhi + 1), lo: xlo, hi: xhi };
}

/**
 * The search form's table of stage k for one lane: word g·2^k + j = threshold (2j+1)·2^(S−1−k) − 1
 * of channel `channelOf(g)` (steps and beyond: hi + 1, never passed).
 */
export function searchTable(t: readonly number[], steps: number, groups: number, k: number, never: number, channelOf: (g: number) => number): number[] {
  const stages = searchStages(steps);
  const words: number[] = [];
  for (let g = 0; g < groups; g++) {
    const c = channelOf(g);
    for (let j = 0; j < 2 ** k; j++) {
      const i = (2 * j + 1) * 2 ** (stages - 1 - k) - 1;
      words.push(i < steps ? t[c * steps + i] : never);
    }
  }
  return words;
}
