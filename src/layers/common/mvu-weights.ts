// Not a layer kind: what the MVU (../mvu.ts) and its cost forms (../cost/mvu.ts, ../cost/mvu-sparse.ts)
// both read off the weights, kept here so neither imports the other: the multipliers the RTL
// instantiates, and the sparse unit's nonzero groups and ROMs.
import { bitWidth, type QType } from '../../ir/datatype.ts';
import { encode } from '../define.ts';

/** The folded matrix shape: rows × cols, pe rows and simd columns a cycle. */
export interface MvuShape { rows: number; cols: number; pe: number; simd: number }

/**
 * Multipliers the RTL instantiates: none when the products are XNOR / add-sub / mux (bipolar or
 * ternary weights, bipolar inputs, 1-bit unsigned weights or inputs); fully unrolled, one constant-
 * coefficient multiplier per weight outside {-1, 0, 1} (those fold away); folded, one per lane.
 */
export function mvuMultipliers(a: MvuShape & { inType: QType; weightType: QType }, weights: readonly number[]): number {
  const noMul = (t: QType) => t.kind === 'BIPOLAR' || t.kind === 'TERNARY' || bitWidth(t) === 1;
  if (noMul(a.weightType) || noMul(a.inType)) return 0;
  if (a.pe === a.rows && a.simd === a.cols) return weights.filter((w) => Math.abs(w) > 1).length;
  return a.pe * a.simd;
}

/** Nonzero SIMD groups of every row fold, in order: the column folds a sparse MVU steps through. */
export function nonzeroGroups(a: MvuShape, weights: readonly number[]): number[][] {
  const nf = a.rows / a.pe;
  const sf = a.cols / a.simd;
  const folds: number[][] = [];
  for (let n = 0; n < nf; n++) {
    const groups: number[] = [];
    for (let g = 0; g < sf; g++) {
      let zero = true;
      for (let p = 0; p < a.pe && zero; p++) {
        const base = (n * a.pe + p) * a.cols + g * a.simd;
        for (let i = 0; i < a.simd; i++) if (weights[base + i] !== 0) { zero = false; break; }
      }
      if (!zero) groups.push(g);
    }
    folds.push(groups);
  }
  return folds;
}

/** The sparse unit's two ROMs, one entry per step: the group's PE·SIMD weight codes, and {last, idx}. */
export interface SparseRoms {
  /** Weight codes per step, lane (p, s) at index p·SIMD + s (mvu.v's word layout). */
  words: number[][];
  /** Column fold (input beat) of each step. */
  index: number[];
  /** Whether each step is its row fold's last (its output beat leaves). */
  last: boolean[];
}

export function sparseRoms(a: MvuShape & { weightType: QType }, weights: readonly number[]): SparseRoms {
  const roms: SparseRoms = { words: [], index: [], last: [] };
  nonzeroGroups(a, weights).forEach((groups, n) => {
    const steps = groups.length ? groups : [-1]; // an all-zero row fold: one step of zero weights
    steps.forEach((g, j) => {
      const word: number[] = [];
      for (let p = 0; p < a.pe; p++) {
        for (let i = 0; i < a.simd; i++) word.push(g < 0 ? 0 : encode(a.weightType, weights[(n * a.pe + p) * a.cols + g * a.simd + i]));
      }
      roms.words.push(word);
      roms.index.push(Math.max(g, 0));
      roms.last.push(j === steps.length - 1);
    });
  });
  return roms;
}

/** Bits of an index ROM entry: the column fold index and the last-step flag. */
export const sparseIndexBits = (sf: number): number => (sf > 1 ? Math.ceil(Math.log2(sf)) : 1) + 1;
