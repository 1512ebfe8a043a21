// Matrix-vector unit (FINN MVAU): y[r] = Σ_c W[r][c]·x[c], for each of `vectors` input vectors per
// inference (default 1; a convolution has one vector per output pixel, from a SlidingWindow).
// Folding: PE output rows in parallel, SIMD input elements per cycle; the RTL keeps a double-buffered
// input vector so the next vector loads while the current one is computed, hence exactly
// (rows/pe)·(cols/simd) cycles per inference in steady state.
import { bitWidth, qtypeName, range, smallestIntFor, type QType } from '../ir/datatype.ts';
import { checkValues, codeKind, defineLayer, dtype, encode, int, mustDivide, packHex, packVector, signedBits } from './define.ts';

// The reference executor runs many inferences on the same weights: keep a typed copy per array.
const typedCache = new WeakMap<readonly number[], Float64Array>();
function typedWeights(weights: readonly number[]): Float64Array {
  let t = typedCache.get(weights);
  if (!t) typedCache.set(weights, (t = Float64Array.from(weights)));
  return t;
}

/** Accumulator range of row r of a rows×cols weight matrix for inputs anywhere in [xlo, xhi]. */
export function rowAccRange(weights: readonly number[], r: number, cols: number, xlo: number, xhi: number): [number, number] {
  let lo = 0;
  let hi = 0;
  for (let c = 0; c < cols; c++) {
    const w = weights[r * cols + c];
    lo += Math.min(w * xlo, w * xhi);
    hi += Math.max(w * xlo, w * xhi);
  }
  return [lo, hi];
}

/** Worst-case accumulator range over all rows for inputs anywhere in inType's range. */
export function mvuAccRange(rows: number, cols: number, inType: QType, weights: readonly number[]): [number, number] {
  const [xlo, xhi] = range(inType);
  let lo = 0;
  let hi = 0;
  for (let r = 0; r < rows; r++) {
    const [rlo, rhi] = rowAccRange(weights, r, cols, xlo, xhi);
    lo = Math.min(lo, rlo);
    hi = Math.max(hi, rhi);
  }
  return [lo, hi];
}

/** The smallest output datatype for an MVU with these weights (what streamlining should give its output stream). */
export function mvuOutType(rows: number, cols: number, inType: QType, weights: readonly number[]): QType {
  const [lo, hi] = mvuAccRange(rows, cols, inType, weights);
  return smallestIntFor(lo, hi);
}

/**
 * Multipliers the RTL instantiates: none when the products are XNOR / add-sub / mux (bipolar or
 * ternary weights, bipolar inputs, 1-bit unsigned weights or inputs); fully unrolled, one constant-
 * coefficient multiplier per weight outside {-1, 0, 1} (those fold away); folded, one per lane.
 */
export function mvuMultipliers(a: { rows: number; cols: number; pe: number; simd: number; inType: QType; weightType: QType }, weights: readonly number[]): number {
  const noMul = (t: QType) => t.kind === 'BIPOLAR' || t.kind === 'TERNARY' || bitWidth(t) === 1;
  if (noMul(a.weightType) || noMul(a.inType)) return 0;
  if (a.pe === a.rows && a.simd === a.cols) return weights.filter((w) => Math.abs(w) > 1).length;
  return a.pe * a.simd;
}

/** Weight code kind for the RTL: codeKind, plus 3 = ternary (add/sub/skip, no multiplier). */
function weightKind(t: QType): number {
  return t.kind === 'TERNARY' ? 3 : codeKind(t);
}

export default defineLayer({
  kind: 'MVU',
  attrs: {
    rows: int({ min: 1 }),
    cols: int({ min: 1 }),
    vectors: int({ min: 1, default: 1 }),
    pe: int({ min: 1, default: 1 }),
    simd: int({ min: 1, default: 1 }),
    inType: dtype(),
    weightType: dtype(),
    outType: dtype(),
  },
  consts: (a) => ({ weights: a.rows * a.cols }),
  check: (a, { weights }) => {
    const bad = checkValues('weights', a.weightType, weights);
    if (bad) return bad;
    const [lo, hi] = mvuAccRange(a.rows, a.cols, a.inType, weights);
    const [olo, ohi] = range(a.outType);
    if (lo < olo || hi > ohi) return `outType must hold the accumulator range [${lo}, ${hi}], not ${qtypeName(a.outType)}`;
    if (a.outType.kind !== 'INT') return `outType must be INTn or UINTn, not ${qtypeName(a.outType)}`;
    return undefined;
  },
  checkFolding: (a) => {
    const bad = mustDivide('pe', a.rows, a.pe) ?? mustDivide('simd', a.cols, a.simd);
    if (bad) return bad;
    // One cycle's weights form one constant / ROM word; Verilator caps constants at 65536 bits.
    const bits = a.pe * a.simd * bitWidth(a.weightType);
    return bits > 65536 ? `pe·simd·(weight bits) must be at most 65536, not ${a.pe}·${a.simd}·${bitWidth(a.weightType)} = ${bits}` : undefined;
  },
  streams: (a) => ({
    in: [{ qtype: a.inType, elems: a.vectors * a.cols, fold: a.simd }],
    out: [{ qtype: a.outType, elems: a.vectors * a.rows, fold: a.pe }],
  }),
  execute: (a, [x], { weights }) => {
    const { rows, cols, vectors } = a;
    const w = typedWeights(weights);
    const y = new Array<number>(vectors * rows);
    for (let v = 0; v < vectors; v++) {
      const xv = v * cols;
      for (let r = 0, base = 0; r < rows; r++, base += cols) {
        let s = 0;
        for (let c = 0; c < cols; c++) s += w[base + c] * x[xv + c];
        y[v * rows + r] = s;
      }
    }
    return [y];
  },
  cycles: (a) => a.vectors * (a.rows / a.pe) * (a.cols / a.simd),
  // Compute of a vector starts the cycle after its last input beat; row fold k's beat leaves (k+1)·cols/simd
  // cycles later. With several vectors, input beats are taken as evenly spaced between first and last.
  timing: (a, first, last) => {
    const sf = a.cols / a.simd;
    const beats = a.vectors * sf;
    const vector0 = beats > 1 ? first + Math.round(((sf - 1) * (last - first)) / (beats - 1)) : last;
    const firstOut = vector0 + 1 + sf;
    return [firstOut, Math.max(last + 1 + (a.rows / a.pe) * sf, firstOut - sf + a.vectors * (a.rows / a.pe) * sf)];
  },
  // Vector v is computed from the cycle after its last beat arrives and the previous vector is done.
  schedule: (a, [arrivals]) => {
    const sf = a.cols / a.simd;
    const nf = a.rows / a.pe;
    const out: number[] = [];
    let start = -Infinity;
    for (let v = 0; v < a.vectors; v++) {
      start = Math.max(arrivals[(v + 1) * sf - 1] + 1, start + nf * sf);
      for (let k = 0; k < nf; k++) out.push(start + (k + 1) * sf);
    }
    return { out: [out] };
  },
  rtl: {
    module: 'mvu',
    files: ['mvu/mvu.v'],
    params: (a, { weights }, ctx) => {
      const nf = a.rows / a.pe;
      const sf = a.cols / a.simd;
      const ww = bitWidth(a.weightType);
      const [lo, hi] = mvuAccRange(a.rows, a.cols, a.inType, weights);
      const outW = bitWidth(a.outType);
      // One ROM word per (row fold, column fold): PE·SIMD weights, lane (p, s) at bits [(p·SIMD+s)·WW +: WW].
      const words: number[][] = [];
      for (let n = 0; n < nf; n++) {
        for (let s = 0; s < sf; s++) {
          const word: number[] = [];
          for (let p = 0; p < a.pe; p++) {
            for (let i = 0; i < a.simd; i++) word.push(encode(a.weightType, weights[(n * a.pe + p) * a.cols + s * a.simd + i]));
          }
          words.push(word);
        }
      }
      const params: Record<string, number | { verilog: string }> = {
        ROWS: a.rows,
        COLS: a.cols,
        PE: a.pe,
        SIMD: a.simd,
        WI: bitWidth(a.inType),
        WW: ww,
        OUT_W: outW,
        // Room for the worst-case sum (and 2·popcount in XNOR mode) plus one bit, so no overflow; at
        // least one bit wider than an input / weight code, which mvu.v extends to ACC_W bits (all-zero
        // weights give a [0, 0] sum, and a narrower ACC_W made a negative replication count).
        ACC_W: Math.max(signedBits(Math.min(lo, -a.cols), Math.max(hi, 2 * a.cols)), outW, bitWidth(a.inType), ww) + 1,
        IN_KIND: codeKind(a.inType),
        W_KIND: weightKind(a.weightType),
      };
      if (nf * sf === 1) {
        // Fully unrolled: constant parameter, so synthesis folds zero / ±1 weights away.
        params.WEIGHTS = packVector(words[0], ww);
      } else {
        const text = words.map((w) => packHex(w, ww)).join('\n') + '\n';
        params.WEIGHT_FILE = { verilog: `"${ctx.memFile('weights', text)}"` };
      }
      return params;
    },
  },
});
