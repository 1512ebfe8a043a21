// Rule activation: the per-channel float chain between an integer sum and the next quantizer (bias,
// BatchNorm, scale Mul/Div, Relu, Clip, LeakyRelu, Sigmoid, Tanh, HardSigmoid, rounding, …, in any
// order) becomes Threshold or Requant, exact by EVALUATION: the chain is run by the reference
// executor (or src/exec/chain.ts) on the sum's ideal float output for candidate accumulators, and
// bisection over each channel's accumulator range finds every threshold. The allowed ops are
// monotone in float32, so bisection is exact; decreasing channels get their weight row negated, and
// verifyActivation checks the result against the chain (a non-monotone chain is refused, not lowered).
// Thresholds by default; Requant (M, B, shift) when there are more than maxThresholdSteps steps and an
// exact fit exists (floor, then round half to even).
import { KilnError } from '../../diag/index.ts';
import { range } from '../../ir/datatype.ts';
import type { Node } from '../../ir/graph.ts';
import { mvuOutType } from '../../layers/mvu.ts';
import { MONOTONE, QUANTIZERS } from '../ops.ts';
import type { Activation, CodeModel, LayerPlan } from '../plan.ts';
import { codeModel, codeOf, codeQType } from '../support.ts';
import { requantValue } from '../../layers/common/requant-value.ts';
import { fitRequant } from '../requant-fit.ts';
import { progressionStep, reachedCodes, searchThresholds, type ChannelRange } from '../thresholds.ts';
import { cannotLower, inRule } from '../view.ts';
import { codeOps } from './code-ops.ts';
import { weightQType } from './integer-weights.ts';
import type { LayerCtx, LayerResult, LoweringRule } from './rule.ts';

export const activationRule: LoweringRule = {
  name: 'activation',
  doc: 'A monotone per-channel float chain after an integer sum, up to its quantizer, becomes Threshold or Requant, exact by evaluation and bisection.',
  matches: 'Add/Sub/Mul/Div by constants, BatchNormalization, Relu, LeakyRelu, Clip, Max/Min, Sigmoid, Tanh, HardSigmoid, Neg, Cast, then Quant/IntQuant/BipolarQuant/Sign/QuantizeLinear→DequantizeLinear or FINN MultiThreshold (or QLinearMatMul\'s own requantization)',
  emits: 'Threshold (per-channel thresholds, out bias/scale) or Requant (M, B, shift; floor or half-even)',
  tests: ['test/passes/streamline-passes.test.ts', 'test/compress/requant-rounding.test.ts', 'test/e2e/mlp-models.test.ts', 'test/generality/variants.test.ts'],
  ops: new Set([...MONOTONE, ...QUANTIZERS]),
  operand(n, dyn) {
    const first = { reason: 'its run-time input must be the first', fix: 'give the run-time tensor as the first input, constants after it' };
    if (QUANTIZERS.has(n.op)) return dyn === 0 ? undefined : first;
    if (n.op === 'Div' && dyn !== 0) return { reason: 'division by a run-time value is not monotone', fix: 'divide by a constant' };
    if (n.op === 'BatchNormalization' && dyn !== 0) return first;
    return undefined;
  },
};

/** The activation of a layer whose chain ends in quantizer `qi` of ctx.chainNodes (−1: QLinearMatMul's requantization). */
export function lowerActivation(ctx: LayerCtx, qi: number): LayerResult {
  const { v, mac, chainNodes, codeNodes, last, input, opts, notes, mw, chain, alpha, beta, origin, unitFields, accRange } = ctx;
  const { rows, cols, W } = mw;
  const qn = qi >= 0 ? chainNodes[qi] : mac;
  const model: CodeModel = qi >= 0 ? codeModel(v, qn) : { s: 1, z: 0 };
  // k(r, acc) for the UNnegated weights; σ[r] = −1 flips decreasing rows.
  const sigma = new Array<number>(rows).fill(1);
  let xs = new Float32Array(0); // the fast path's MAC outputs, kept across calls
  const code = (ch: Int32Array, acc: Float64Array): Float64Array => {
    const fast = chain.fast();
    if (fast) {
      // The compiled chain on the queries as they come (same MAC outputs, same float32 ops as below).
      if (xs.length < ch.length) xs = new Float32Array(Math.max(ch.length, 2 * xs.length));
      const x = xs.subarray(0, ch.length);
      for (let j = 0; j < ch.length; j++) {
        const r = ch[j];
        x[j] = Math.fround(alpha[r] * (sigma[r] * acc[j]) + beta[r]);
      }
      const y = fast(x, ch); // a new array: the codes replace the values in place
      try {
        for (let j = 0; j < ch.length; j++) y[j] = codeOf(y[j], model, qn);
        return y;
      } catch {
        // An output off the quantizer's grid: the generic path below reports it (its first, in its order).
      }
    }
    // Lay the queries out as a [n, rows] tensor, one column per channel (a channel with fewer
    // queries repeats its last one). Channel r's queries, in order, are idx[start[r] … start[r+1]).
    const start = new Int32Array(rows + 1);
    for (let j = 0; j < ch.length; j++) start[ch[j] + 1]++;
    let n = 1;
    for (let r = 0; r < rows; r++) {
      n = Math.max(n, start[r + 1]);
      start[r + 1] += start[r];
    }
    const idx = new Int32Array(ch.length);
    const fill = start.slice(0, rows);
    for (let j = 0; j < ch.length; j++) idx[fill[ch[j]]++] = j;
    const x = new Float32Array(n * rows);
    for (let r = 0; r < rows; r++) {
      const count = start[r + 1] - start[r];
      for (let i = 0; i < n; i++) {
        const a = count === 0 ? 0 : sigma[r] * acc[idx[start[r] + Math.min(i, count - 1)]];
        x[i * rows + r] = Math.fround(alpha[r] * a + beta[r]);
      }
    }
    const y = chain.eval(x, n);
    const out = new Float64Array(ch.length);
    for (let r = 0; r < rows; r++) {
      for (let i = 0, k = start[r]; k < start[r + 1]; i++, k++) out[idx[k]] = codeOf(y[i * rows + r], model, qn);
    }
    return out;
  };
  // Direction of each row from its extremes (monotone chain).
  const ranges0 = Array.from({ length: rows }, (_, r) => accRange(W, r));
  const allCh = Int32Array.from({ length: 2 * rows }, (_, j) => j % rows);
  const allAcc = Float64Array.from({ length: 2 * rows }, (_, j) => (j < rows ? ranges0[j].lo : ranges0[j - rows].hi));
  const ext = code(allCh, allAcc);
  for (let r = 0; r < rows; r++) {
    if (ext[r] > ext[rows + r]) {
      if (mw.unit === 'avgpool' || mw.unit === 'add' || mw.unit === 'concat') throw new KilnError(cannotLower(qn, `${mw.unit === 'add' ? 'a residual Add' : 'an average pool'} followed by a decreasing activation (negative scale)`, { rule: 'activation', fix: 'give the activation after it a positive scale (non-decreasing)' }));
      sigma[r] = -1;
      for (let c = 0; c < cols; c++) W[r * cols + c] = -W[r * cols + c] || 0;
    }
  }
  const ranges = Array.from({ length: rows }, (_, r) => accRange(W, r));
  const kMin = Math.min(...ranges0.map((_, r) => Math.min(ext[r], ext[rows + r])));
  const kMax = Math.max(...ranges0.map((_, r) => Math.max(ext[r], ext[rows + r])));
  if (kMax - kMin > 4096) throw new KilnError(cannotLower(qn, `${kMax - kMin + 1} output levels (at most 4097 are supported)`, { rule: 'activation', fix: 'quantize this activation to at most 12 bits (4097 levels)' }));
  // Past 2^53 float64 skips integers: the bisection would stop making progress (a hang, found by
  // the ONNX fuzzer with a scale of 1e-40 beside one of 0.5) and no accumulator type holds it.
  const wide = ranges.find((q) => !Number.isSafeInteger(q.lo) || !Number.isSafeInteger(q.hi));
  if (wide) throw new KilnError(cannotLower(qn, `an accumulator range of [${wide.lo}, ${wide.hi}], beyond ±2^53`, { rule: 'activation', fix: 'bring the scales of the quantizers before this activation closer together (their ratio sets the integer weights)' }));
  const T = kMax > kMin ? searchThresholds(code, ranges, kMin, kMax) : ranges.map(() => []);
  const reached = [...new Set(T.flatMap((t, r) => reachedCodes(t, ranges[r], kMin)))].sort((a, b) => a - b);
  const weightType = weightQType(W);
  const accType = mvuOutType(rows, cols, input.type, W);
  const step = progressionStep(reached);
  const levels = step === undefined ? Array.from({ length: kMax - kMin + 1 }, (_, i) => kMin + i) : reached;
  const outType = codeQType(levels);
  const maxSteps = opts.maxThresholdSteps ?? 15;
  let act: Activation | undefined;
  if (levels.length - 1 > maxSteps && (step ?? 1) === 1 && outType.kind === 'INT') {
    const [olo, ohi] = range(outType);
    const full = T.map((t, r) => {
      const out: number[] = [];
      for (let l = olo + 1; l <= ohi; l++) out.push(l <= kMin ? ranges[r].lo : l > kMax ? ranges[r].hi + 1 : t[l - kMin - 1]);
      return out;
    });
    const fit = fitRequant(full, ranges, olo, ohi);
    if (fit) {
      act = { kind: 'requant', mul: fit.mul, bias: fit.add, shift: fit.shift, outType };
      if (fit.round === 'half-even') {
        act.round = 'half-even';
        notes.push(`${qn.name}: requantization rounds half to even (shift ${fit.shift}; no exact floor one)`);
      }
    } else notes.push(`${qn.name}: no exact requantization (floor or half-even), using ${levels.length - 1} thresholds`);
  }
  if (!act && levels.length === 1) {
    // Every channel is constant: one threshold no accumulator reaches keeps the layer well formed.
    act = { kind: 'threshold', thresholds: ranges.map((r) => [r.hi + 1]), outBias: levels[0], outScale: 1, outType: codeQType([levels[0], levels[0] + 1]) };
  }
  if (!act) {
    const thresholds = T.map((t) => levels.slice(1).map((l) => t[l - kMin - 1]));
    act = { kind: 'threshold', thresholds, outBias: levels[0], outScale: step ?? 1, outType };
  }
  verifyActivation(code, ranges, act, qn);
  const plan: LayerPlan = { mac: mac.name, quantizer: qn.name, origin, rows, cols, weights: W, weightType, inType: input.type, accType, act, ...unitFields };
  const after = inRule('code-ops', () => codeOps(v, codeNodes, model, levels[0], input.positions));
  if (last) return { plan, affine: { scale: new Array(rows).fill(model.s), offset: new Array(rows).fill(-model.z * model.s) }, after };
  return { plan, next: { model, codes: [levels[0], levels[levels.length - 1]], type: act.kind === 'none' ? outType : act.outType }, after };
}

/**
 * Checks the integer activation against the evaluated chain on every accumulator value of small
 * ranges and on 2048 spread + edge samples per channel of large ones. Bisection presumes a monotone
 * chain; this catches one that is not (say a LeakyRelu with a negative slope) instead of lowering it wrongly.
 */
function verifyActivation(code: (ch: Int32Array, acc: Float64Array) => Float64Array, ranges: ChannelRange[], act: Activation, n: Node): void {
  if (act.kind === 'none') return;
  let total = 0;
  for (const r of ranges) total += Math.min(r.hi - r.lo + 1, 2048);
  const ch = new Int32Array(total);
  const acc = new Float64Array(total);
  let q = 0;
  ranges.forEach((r, c) => {
    const span = r.hi - r.lo;
    const count = Math.min(span + 1, 2048);
    for (let i = 0; i < count; i++, q++) {
      ch[q] = c;
      acc[q] = span + 1 <= 2048 ? r.lo + i : r.lo + Math.round((i * span) / (count - 1));
    }
  });
  const k = code(ch, acc);
  const [lo, hi] = range(act.outType);
  // Thresholds passed = how many of them are ≤ acc: a binary search in each channel's sorted copy.
  const sorted = act.kind === 'threshold' ? act.thresholds.map((t) => Float64Array.from(t).sort()) : [];
  const passed = (ts: Float64Array, x: number): number => {
    let a = 0;
    let b = ts.length;
    while (a < b) {
      const m = (a + b) >> 1;
      if (ts[m] <= x) a = m + 1;
      else b = m;
    }
    return a;
  };
  for (let j = 0; j < ch.length; j++) {
    const c = ch[j];
    let want: number;
    if (act.kind === 'threshold') want = act.outBias + act.outScale * passed(sorted[c], acc[j]);
    else want = requantValue(acc[j], act.mul[c], act.bias[c], act.shift, lo, hi, act.round);
    if (want !== k[j]) throw new KilnError(cannotLower(n, `its output is not monotone in the accumulator (channel ${c}, accumulator ${acc[j]}: ${k[j]}, thresholds give ${want})`, { rule: 'activation', fix: 'make the chain monotone (e.g. LeakyRelu with alpha >= 0), or move the op after the quantizer' }));
  }
}
