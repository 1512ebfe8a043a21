// Matrix-vector unit (FINN MVAU): y[r] = Σ_c W[r][c]·x[c], for each of `vectors` input vectors per
// inference (default 1; a convolution has one vector per output pixel, from a SlidingWindow).
// Folding: PE output rows in parallel, SIMD input elements per cycle; the RTL keeps a double-buffered
// input vector so the next vector loads while the current one is computed, hence exactly
// (rows/pe)·(cols/simd) cycles per inference in steady state.
//
// Sparse mode (attr sparse = 1, hw/mvu/mvu_sparse.v): a folded MVU skips its all-zero SIMD groups
// (SIMD inputs × PE rows of one row fold, zero for all PE rows at once) with an index ROM of the
// nonzero groups' column folds; a vector then takes max(Σ_folds max(1, nonzero groups), cols/simd)
// cycles (an all-zero row fold still takes one step to emit its beat; the input beats of the next
// vector bound it from below). Fully unrolled MVUs gain nothing and use mvu.v either way.
import { bitWidth, qtypeName, range, smallestIntFor, type QType } from '../ir/datatype.ts';
import type { Layer } from '../ir/dataflow.ts';
import { checkValues, codeKind, defineLayer, dtype, encode, executeOf, int, MAX_LITERAL_BITS, mustDivide, oneOf, packHex, packVector, registerStage, signedBits, type Kernel } from './define.ts';
import { nonzeroGroups, sparseIndexBits, sparseRoms, type MvuShape } from './common/mvu-weights.ts';
import { dspPacking, type DspPacking, type PackableMvu } from './common/dsp-packing.ts';
import { cmvmGraph, DEFAULT_MAX_LOGIC_LEVELS, type CmvmGraph } from './common/cmvm.ts';
import { cmvmVerilog } from './common/cmvm-rtl.ts';
import { mvuCost } from './cost/mvu.ts';
import { romStyle } from './cost/memory.ts';
import { mvuCmvmCost } from './cost/mvu-cmvm.ts';
import { mvuSparseCost } from './cost/mvu-sparse.ts';

/** y[v·rows + r] = Σ_c W[r][c]·x[v·cols + c], the weights in a typed copy made once per layer. */
function mvuKernel(a: { rows: number; cols: number; vectors: number }, { weights }: Record<string, number[]>): Kernel {
  const { rows, cols, vectors } = a;
  const w = Float64Array.from(weights);
  return ([x]) => {
    const y = new Float64Array(vectors * rows);
    for (let v = 0; v < vectors; v++) {
      const xv = v * cols;
      for (let r = 0, base = 0; r < rows; r++, base += cols) {
        let s = 0;
        for (let c = 0; c < cols; c++) s += w[base + c] * x[xv + c];
        y[v * rows + r] = s;
      }
    }
    return [y];
  };
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

/**
 * Accumulator width (mvu.v's ACC_W): room for the worst-case sum (and 2·popcount in XNOR mode) plus
 * one bit, so no overflow; at least one bit wider than an input / weight code, which mvu.v extends to
 * ACC_W bits (all-zero weights give a [0, 0] sum, and a narrower ACC_W made a negative replication count).
 */
export function mvuAccWidth(a: { rows: number; cols: number; inType: QType; weightType: QType; outType: QType }, weights: readonly number[]): number {
  const [lo, hi] = mvuAccRange(a.rows, a.cols, a.inType, weights);
  return Math.max(signedBits(Math.min(lo, -a.cols), Math.max(hi, 2 * a.cols)), bitWidth(a.outType), bitWidth(a.inType), bitWidth(a.weightType)) + 1;
}

/** The DSP packing of an MVU's lanes (common/dsp-packing.ts), none with mult "lut". */
export function mvuPacking(a: PackableMvu & { outType: QType; mult: string }, weights: readonly number[]): DspPacking | undefined {
  return a.mult === 'lut' ? undefined : dspPacking(a, weights, mvuAccWidth(a, weights));
}

/** The smallest output datatype for an MVU with these weights (what streamlining should give its output stream). */
export function mvuOutType(rows: number, cols: number, inType: QType, weights: readonly number[]): QType {
  const [lo, hi] = mvuAccRange(rows, cols, inType, weights);
  return smallestIntFor(lo, hi);
}

// ---- sparse mode ---------------------------------------------------------------------------------

/**
 * The weights of a sparse-mode MVU, kept on its parsed attrs by `check` so the cycle model (which sees
 * attrs only) can count nonzero groups for any pe/simd: a symbol key is copied by object spread (fold
 * searches spread the parsed attrs with new pe/simd) but never serialized.
 */
const MVU_WEIGHTS = Symbol('MVU weights');

const stepsCache = new WeakMap<readonly number[], Map<string, number[]>>();
/** Steps per row fold of the sparse unit: its nonzero groups, at least one (the output beat). */
export function sparseFoldSteps(a: MvuShape, weights: readonly number[]): number[] {
  let m = stepsCache.get(weights);
  if (!m) stepsCache.set(weights, (m = new Map()));
  const key = `${a.rows}x${a.cols}/${a.pe}/${a.simd}`;
  let steps = m.get(key);
  if (!steps) m.set(key, (steps = nonzeroGroups(a, weights).map((g) => Math.max(1, g.length))));
  return steps;
}

/** Whether this MVU runs on hw/mvu/mvu_sparse.v (sparse mode on and folded). */
export function runsSparse(a: MvuShape & { sparse: number }): boolean {
  return a.sparse === 1 && (a.rows / a.pe) * (a.cols / a.simd) > 1;
}

/** Steps per row fold: all column folds when dense, the nonzero groups when sparse. */
function foldSteps(a: MvuShape & { sparse: number }): number[] {
  const sf = a.cols / a.simd;
  if (!runsSparse(a)) return new Array<number>(a.rows / a.pe).fill(sf);
  return sparseFoldSteps(a, weightsOf(a));
}

function weightsOf(a: object): readonly number[] {
  const weights = (a as { [MVU_WEIGHTS]?: readonly number[] })[MVU_WEIGHTS];
  if (!weights) throw new Error('MVU attrs lack their weights (parse the layer first)');
  return weights;
}

// ---- the multiplierless unrolled form (common/cmvm.ts) -------------------------------------------

type CmvmMvu = MvuShape & { mult: string; inType: QType; maxLogicLevels: number };

/**
 * Whether this MVU is the adder graph of common/cmvm.ts: fully unrolled, not asked for DSPs, inputs
 * integer codes (bipolar inputs keep mvu.v's add/sub and XNOR lanes).
 */
export function runsCmvm(a: CmvmMvu): boolean {
  return (a.rows / a.pe) * (a.cols / a.simd) === 1 && a.mult !== 'dsp' && codeKind(a.inType) !== 2;
}

const cmvmCache = new WeakMap<readonly number[], Map<string, CmvmGraph>>();
/** The adder graph of a cmvm-form MVU (cached per weights and shape). */
export function mvuCmvm(a: CmvmMvu, weights: readonly number[]): CmvmGraph {
  let m = cmvmCache.get(weights);
  if (!m) cmvmCache.set(weights, (m = new Map()));
  const levels = a.maxLogicLevels || DEFAULT_MAX_LOGIC_LEVELS;
  const key = `${a.rows}x${a.cols}/${qtypeName(a.inType)}/${levels}`;
  let g = m.get(key);
  if (!g) {
    const [xlo, xhi] = range(a.inType);
    m.set(key, (g = cmvmGraph(weights, a.rows, a.cols, xlo, xhi, levels)));
  }
  return g;
}

/** Register stages between input and output of one vector: the adder graph's, or mvu.v's one step. */
function cmvmStages(a: CmvmMvu): number | undefined {
  return runsCmvm(a) ? mvuCmvm(a, weightsOf(a)).stages : undefined;
}

/** Cycles of one vector: its steps, but no fewer than its input beats (the next vector loads meanwhile). */
function vectorCycles(a: MvuShape & { sparse: number }): number {
  return Math.max(foldSteps(a).reduce((s, x) => s + x, 0), a.cols / a.simd);
}

/** Sparse mode is possible for weights that can be zero, i.e. not bipolar (±1). */
export const canBeSparse = (l: Layer): boolean => l.kind === 'MVU' && l.attrs.weightType !== 'BIPOLAR' && (l.consts.weights ?? []).some((w) => w === 0);

/** Whether a folded MVU marked sparse runs in fewer cycles than dense (sparse mode costs an index ROM). */
export function sparseSavesCycles(l: Layer): boolean {
  const a = kind.parse(l);
  return vectorCycles(a) < vectorCycles({ ...a, sparse: 0 });
}

/** Weight code kind for the RTL: codeKind, plus 3 = ternary (add/sub/skip, no multiplier). */
function weightKind(t: QType): number {
  return t.kind === 'TERNARY' ? 3 : codeKind(t);
}

const kind = defineLayer({
  kind: 'MVU',
  attrs: {
    rows: int({ min: 1 }),
    cols: int({ min: 1 }),
    vectors: int({ min: 1, default: 1 }),
    pe: int({ min: 1, default: 1 }),
    simd: int({ min: 1, default: 1 }),
    /** 1: skip all-zero SIMD groups when folded (hw/mvu/mvu_sparse.v); 0: dense. */
    sparse: int({ min: 0, default: 0 }),
    /**
     * Multipliers: "dsp" DSP48s where the product is wide enough for one, packed several rows a
     * DSP where they fit (dspPacking); "lut" shift-and-add in LUTs sized by the operands' bits, no
     * DSP; "auto" (for now) as "dsp".
     */
    mult: oneOf(['auto', 'dsp', 'lut'] as const, 'auto'),
    /**
     * Fully unrolled without DSPs (the adder graph, common/cmvm.ts): the most LUT / CARRY4 cells on
     * a path between registers (`--max-logic-levels`); 0 = DEFAULT_MAX_LOGIC_LEVELS (~200 MHz on 7-series).
     */
    maxLogicLevels: int({ min: 0, default: 0 }),
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
    if (a.sparse > 1) return `sparse must be 0 or 1, not ${a.sparse}`;
    if (a.sparse === 1 && a.weightType.kind === 'BIPOLAR') return 'sparse must be 0 for BIPOLAR weights (they are never zero)';
    (a as { [MVU_WEIGHTS]?: readonly number[] })[MVU_WEIGHTS] = weights;
    return undefined;
  },
  checkFolding: (a) => {
    const bad = mustDivide('pe', a.rows, a.pe) ?? mustDivide('simd', a.cols, a.simd);
    if (bad) return bad;
    // One cycle's weights form one constant / ROM word, within the tools' constant width.
    const bits = a.pe * a.simd * bitWidth(a.weightType);
    return bits > MAX_LITERAL_BITS ? `pe·simd·(weight bits) must be at most ${MAX_LITERAL_BITS}, not ${a.pe}·${a.simd}·${bitWidth(a.weightType)} = ${bits}` : undefined;
  },
  streams: (a) => ({
    in: [{ qtype: a.inType, elems: a.vectors * a.cols, fold: a.simd }],
    out: [{ qtype: a.outType, elems: a.vectors * a.rows, fold: a.pe }],
  }),
  execute: executeOf(mvuKernel),
  kernel: mvuKernel,
  cycles: (a) => a.vectors * vectorCycles(a),
  // Compute of a vector starts the cycle after its last input beat; row fold k's beat leaves when its
  // steps are done (dense: (k+1)·cols/simd cycles later). With several vectors, input beats are taken
  // as evenly spaced between first and last.
  timing: (a, first, last) => {
    const stages = cmvmStages(a);
    if (stages !== undefined) {
      // One beat a vector; it leaves the input register and `stages` register stages later.
      return [first + 1 + stages, Math.max(last + 1 + stages, first + a.vectors + stages)];
    }
    const sf = a.cols / a.simd;
    const steps = foldSteps(a);
    const total = steps.reduce((s, x) => s + x, 0);
    const beats = a.vectors * sf;
    const vector0 = beats > 1 ? first + Math.round(((sf - 1) * (last - first)) / (beats - 1)) : last;
    const firstOut = vector0 + 1 + steps[0];
    return [firstOut, Math.max(last + 1 + total, firstOut - steps[0] + (a.vectors - 1) * vectorCycles(a) + total)];
  },
  // Vector v is computed from the cycle after its last beat arrives and the previous vector is done.
  schedule: (a, [arrivals]) => {
    const stages = cmvmStages(a);
    if (stages !== undefined) return { out: [registerStage(arrivals, 1 + stages)] };
    const sf = a.cols / a.simd;
    const steps = foldSteps(a);
    const total = steps.reduce((s, x) => s + x, 0);
    const out: number[] = [];
    let start = -Infinity;
    for (let v = 0; v < a.vectors; v++) {
      start = Math.max(arrivals[(v + 1) * sf - 1] + 1, start + total);
      let t = start;
      for (const k of steps) out.push((t += k));
    }
    return { out: [out] };
  },
  buffering: {
    // Output row r of vector v needs all of v's columns; it takes a second input vector (and a beat) ahead.
    need: (a) => (e) => (Math.floor(e / a.rows) + 1) * a.cols - 1,
    ahead: (a) => a.cols + a.simd,
    passesStalls: true,
  },
  cost: (a, consts, p) => (runsCmvm(a) ? mvuCmvmCost(mvuCmvm(a, consts.weights), a) : (runsSparse(a) ? mvuSparseCost : mvuCost)(a, consts, p)),
  rtl: {
    module: 'mvu',
    files: ['mvu/mvu.v'],
    variant: (a, { weights }) => {
      if (runsCmvm(a)) return { module: 'mvu_cmvm', files: [] };
      if (runsSparse(a)) return { module: 'mvu_sparse', files: ['mvu/mvu_sparse.v'] };
      // Chosen multipliers (packed DSP48s or LUT shift-and-add): mvu_packed.v, mvu.v's unit with them.
      if (a.mult === 'lut' || mvuPacking(a, weights)) return { module: 'mvu_packed', files: ['mvu/mvu_packed.v'] };
      return undefined;
    },
    // The cmvm form's module is generated from its adder graph (no parameters).
    source: (a, { weights }, module) => (runsCmvm(a) ? cmvmVerilog(module, mvuCmvm(a, weights), { inBits: bitWidth(a.inType), inSigned: codeKind(a.inType) === 1, outBits: bitWidth(a.outType) }) : undefined),
    params: (a, { weights }, ctx) => {
      if (runsCmvm(a)) return {};
      const nf = a.rows / a.pe;
      const sf = a.cols / a.simd;
      const ww = bitWidth(a.weightType);
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
      const accW = mvuAccWidth(a, weights);
      const params: Record<string, number | { verilog: string }> = {
        ROWS: a.rows,
        COLS: a.cols,
        PE: a.pe,
        SIMD: a.simd,
        WI: bitWidth(a.inType),
        WW: ww,
        OUT_W: outW,
        ACC_W: accW,
        IN_KIND: codeKind(a.inType),
        W_KIND: weightKind(a.weightType),
      };
      if (a.mult === 'lut') params.MUL_LUT = 1;
      if (runsSparse(a)) return sparseParams(a, weights, params, ctx);
      if (nf * sf === 1) {
        // Fully unrolled: constant parameter, so synthesis folds zero / ±1 weights away.
        params.WEIGHTS = packVector(words[0], ww);
      } else {
        const text = words.map((w) => packHex(w, ww)).join('\n') + '\n';
        params.WEIGHT_FILE = { verilog: `"${ctx.memFile('weights', text)}"` };
        params.ROM_STYLE = { verilog: `"${romStyle({ depth: nf * sf, width: a.pe * a.simd * ww, writable: false })}"` };
        const pack = mvuPacking(a, weights);
        if (pack) {
          // Each row's accumulator starts at what the packed lanes leave out: the bias of its
          // cols products and, for unsigned inputs, 2^(WI−1)·Σ_c w[r][c] (mvu.v's recentring).
          const xc = codeKind(a.inType) === 0 ? 2 ** (bitWidth(a.inType) - 1) : 0;
          const corr = Array.from({ length: a.rows }, (_, r) => {
            let sw = 0;
            for (let c = 0; c < a.cols; c++) sw += weights[r * a.cols + c];
            return a.cols * pack.lo + xc * sw;
          });
          const corrText = Array.from({ length: nf }, (_, n) => packHex(corr.slice(n * a.pe, (n + 1) * a.pe), accW)).join('\n') + '\n';
          Object.assign(params, { PACK: pack.lanes, POFF: pack.offset, PCHUNK: pack.chunk, PLO: pack.lo, CORR_FILE: { verilog: `"${ctx.memFile('corr', corrText)}"` } });
        }
      }
      return params;
    },
  },
});

export default kind;

/** mvu_sparse.v's parameters: mvu.v's (without ROWS) plus STEPS and its two ROM files. */
function sparseParams(a: MvuShape & { sparse: number; weightType: QType }, weights: readonly number[], dense: Record<string, number | { verilog: string }>, ctx: { memFile(suffix: string, contents: string): string }): Record<string, number | { verilog: string }> {
  const ww = bitWidth(a.weightType);
  const bits = sparseIndexBits(a.cols / a.simd);
  const roms = sparseRoms(a, weights);
  const index = roms.index.map((g, k) => ((roms.last[k] ? 1 << (bits - 1) : 0) | g).toString(16).padStart(Math.ceil(bits / 4), '0'));
  const { ROWS: _rows, ...params } = dense;
  return {
    ...params,
    STEPS: roms.words.length,
    WEIGHT_FILE: { verilog: `"${ctx.memFile('weights', roms.words.map((w) => packHex(w, ww)).join('\n') + '\n')}"` },
    INDEX_FILE: { verilog: `"${ctx.memFile('index', index.join('\n') + '\n')}"` },
  };
}
