// Rule integer-composition: an integer sum that flows unquantized into the next layer (a MAC, or a
// residual join) stays an exact integer when its output is on one grid: y = a·(acc + b) with a
// per-tensor a and an integer b per channel (the bias add is a Requant with M = 1, shift 0), or else
// the coarsest power-of-two grid 2^-e holding every row's scale and bias, y = 2^-e·(M[r]·acc + B[r])
// (a bias finer than the sum, per-channel scales). A join then aligns it with its partner
// (src/passes/streamline-branches.ts, alignJoin).
import { KilnError } from '../../diag/index.ts';
import { smallestIntFor } from '../../ir/datatype.ts';
import { mvuOutType } from '../../layers/mvu.ts';
import type { Activation, LayerPlan } from '../plan.ts';
import { cannotLower } from '../view.ts';
import { weightQType } from './integer-weights.ts';
import type { LayerCtx, LayerResult, LoweringRule } from './rule.ts';

export const integerCompositionRule: LoweringRule = {
  name: 'integer-composition',
  doc: 'A sum that reaches the next MAC or a residual join without a quantizer stays an exact integer on a power-of-two grid (wider type, integer Requant).',
  matches: 'MAC → [affine ops: scale, bias] → MAC or residual Add, no quantizer between (QKeras conv → conv; a raw conv accumulator as one branch of a residual Add, on either input)',
  emits: 'nothing (the wider accumulator), or Requant M·acc + B with shift 0 on the grid 2^-e; at a join, ×f on the coarser branch',
  tests: ['test/e2e/cnn-models.test.ts', 'test/generality/variants.test.ts'],
  ops: new Set(),
};

export function integerComposition(ctx: LayerCtx): LayerResult {
  const { mac, mw, input } = ctx;
  const { rows, cols, W } = mw;
  const af = ctx.chain.affine(ctx.alpha, ctx.beta);
  const accType = mvuOutType(rows, cols, input.type, W);
  const plan: LayerPlan = { mac: mac.name, origin: ctx.origin, rows, cols, weights: W, weightType: weightQType(W), inType: input.type, accType, act: { kind: 'none' }, ...ctx.unitFields };
  const ranges = Array.from({ length: rows }, (_, r) => ctx.accRange(W, r));
  const a0 = af?.a[0];
  const bInt = af && a0 !== undefined && a0 > 0 && af.a.every((a) => a === a0) ? af.b.map((b) => b / a0) : undefined;
  if (bInt && bInt.every((b) => Number.isSafeInteger(b))) {
    // One grid a0 for every row: the bias add is a Requant with M = 1, shift 0.
    const lo = Math.min(...ranges.map((r, i) => r.lo + bInt[i]));
    const hi = Math.max(...ranges.map((r, i) => r.hi + bInt[i]));
    const outType = smallestIntFor(Math.min(lo, 0), Math.max(hi, 0));
    const act: Activation = bInt.every((b) => b === 0) ? { kind: 'none' } : { kind: 'requant', mul: new Array(rows).fill(1), bias: bInt, shift: 0, outType };
    ctx.notes.push(`${mac.name}: no quantizer before the next MAC; its output stays on the grid ${a0} (integer bias add)`);
    return { plan: { ...plan, act }, next: { model: { s: a0!, z: 0 }, codes: [lo, hi], type: act.kind === 'none' ? accType : act.outType }, after: [] };
  }
  // Otherwise the finest power-of-two grid 2^-e that every row's scale and bias are integer
  // multiples of (a bias on a finer grid than the sum, per-channel scales): y = 2^-e·(M[r]·acc + B[r]).
  const grid = af && dyadicGrid(af.a, af.b, ranges);
  if (!grid) {
    throw new KilnError(cannotLower(mac, 'the next MAC\'s input is not quantized (no quantizer after this MAC, and its output is not on one integer grid)', { rule: 'integer-composition', fix: 'quantize the activation after this layer (Quant / QuantizeLinear), or keep it on one power-of-two grid' }));
  }
  const outType = smallestIntFor(Math.min(grid.lo, 0), Math.max(grid.hi, 0));
  const act: Activation = { kind: 'requant', mul: grid.mul, bias: grid.bias, shift: 0, outType };
  ctx.notes.push(`${mac.name}: no quantizer before the next layer; its output is exact on the grid 2^-${grid.e} (Requant M·acc + B, shift 0)`);
  return { plan: { ...plan, act }, next: { model: { s: 2 ** -grid.e, z: 0 }, codes: [grid.lo, grid.hi], type: outType }, after: [] };
}

/** Largest multiplier of a sum kept exact this way: the products stay well inside 32-bit accumulators. */
const MAX_GRID_MUL = 2 ** 16;

/**
 * The coarsest grid 2^-e (e ≤ 40) on which y[r] = a[r]·acc + b[r] is an integer map of every row's
 * accumulator: M[r] = a[r]·2^e and B[r] = b[r]·2^e integers, 0 < M ≤ 2^16, |M·acc + B| < 2^31.
 */
export function dyadicGrid(a: number[], b: number[], ranges: { lo: number; hi: number }[]): { e: number; mul: number[]; bias: number[]; lo: number; hi: number } | undefined {
  if (!a.every((x) => x > 0)) return undefined;
  for (let e = -30; e <= 40; e++) {
    const k = 2 ** e;
    const mul = a.map((x) => x * k);
    const bias = b.map((x) => x * k);
    if (!mul.every((m) => Number.isInteger(m)) || !bias.every((x) => Number.isSafeInteger(x))) continue;
    if (mul.some((m) => m > MAX_GRID_MUL)) return undefined;
    const lo = Math.min(...ranges.map((r, i) => mul[i] * r.lo + bias[i]));
    const hi = Math.max(...ranges.map((r, i) => mul[i] * r.hi + bias[i]));
    return Math.max(-lo, hi) < 2 ** 31 ? { e, mul, bias, lo, hi } : undefined;
  }
  return undefined;
}
