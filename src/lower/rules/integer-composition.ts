// Rule integer-composition: an integer sum that flows unquantized into the next MAC stays an exact
// integer when its output is on one grid, y = a·(acc + b) with a per-tensor a and an integer b per
// channel (power-of-two scales, QKeras conv → conv); the bias add is a Requant with M = 1, shift 0.
import { KilnError } from '../../diag/index.ts';
import { smallestIntFor } from '../../ir/datatype.ts';
import { mvuOutType } from '../../layers/mvu.ts';
import type { Activation, LayerPlan } from '../plan.ts';
import { cannotLower } from '../view.ts';
import { weightQType } from './integer-weights.ts';
import type { LayerCtx, LayerResult, LoweringRule } from './rule.ts';

export const integerCompositionRule: LoweringRule = {
  name: 'integer-composition',
  doc: 'A sum that reaches the next MAC without a quantizer stays an integer when it stays on one grid (integer bias add).',
  matches: 'MAC → [affine ops with per-tensor scale, integer bias on the grid] → MAC, no quantizer between (QKeras conv → conv)',
  emits: 'Requant with M = 1, shift 0 (the bias add), or nothing: the wider accumulator feeds the next layer',
  tests: ['test/e2e/cnn-models.test.ts'],
  ops: new Set(),
};

export function integerComposition(ctx: LayerCtx): LayerResult {
  const { mac, mw, input } = ctx;
  const { rows, cols, W } = mw;
  const af = ctx.chain.affine(ctx.alpha, ctx.beta);
  const accType = mvuOutType(rows, cols, input.type, W);
  const plan: LayerPlan = { mac: mac.name, origin: ctx.origin, rows, cols, weights: W, weightType: weightQType(W), inType: input.type, accType, act: { kind: 'none' }, ...ctx.unitFields };
  const a0 = af?.a[0];
  const bInt = af && a0 !== undefined && a0 > 0 && af.a.every((a) => a === a0) ? af.b.map((b) => b / a0) : undefined;
  if (!bInt || !bInt.every((b) => Number.isSafeInteger(b))) {
    throw new KilnError(cannotLower(mac, 'the next MAC\'s input is not quantized (no quantizer after this MAC, and its output is not on one integer grid)', { rule: 'integer-composition', fix: 'quantize the activation after this layer (Quant / QuantizeLinear), or keep it on one power-of-two grid' }));
  }
  const ranges = Array.from({ length: rows }, (_, r) => ctx.accRange(W, r));
  const lo = Math.min(...ranges.map((r, i) => r.lo + bInt[i]));
  const hi = Math.max(...ranges.map((r, i) => r.hi + bInt[i]));
  const outType = smallestIntFor(Math.min(lo, 0), Math.max(hi, 0));
  const act: Activation = bInt.every((b) => b === 0) ? { kind: 'none' } : { kind: 'requant', mul: new Array(rows).fill(1), bias: bInt, shift: 0, outType };
  ctx.notes.push(`${mac.name}: no quantizer before the next MAC; its output stays on the grid ${a0} (integer bias add)`);
  return { plan: { ...plan, act }, next: { model: { s: a0!, z: 0 }, codes: [lo, hi], type: act.kind === 'none' ? accType : act.outType }, after: [] };
}
