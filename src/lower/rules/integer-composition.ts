// Rule integer-composition: an integer sum that flows unquantized into the next layer (a MAC, or a
// residual join) stays an exact integer when its output is on one grid: y = a·(acc + b) with a
// per-tensor a and an integer b per channel (the bias add is a Requant with M = 1, shift 0), or else
// the coarsest power-of-two grid 2^-e holding every row's scale and bias, y = 2^-e·(M[r]·acc + B[r])
// (a bias finer than the sum, per-channel scales). A join then aligns it with its partner
// (src/passes/streamline-branches.ts, alignJoin).
import { KilnError } from '../../diag/index.ts';
import { qtypeName, smallestIntFor, type QType } from '../../ir/datatype.ts';
import type { Node } from '../../ir/graph.ts';
import { mvuOutType } from '../../layers/mvu.ts';
import type { Activation, CodeOp, LayerPlan } from '../plan.ts';
import { cannotLower, inRule } from '../view.ts';
import { codeOps } from './code-ops.ts';
import { weightQType } from './integer-weights.ts';
import type { LayerCtx, LayerResult, LoweringRule } from './rule.ts';

export const integerCompositionRule: LoweringRule = {
  name: 'integer-composition',
  doc: 'A sum that reaches the next MAC or a residual join without a quantizer stays an exact integer on a power-of-two grid (wider type, integer Requant).',
  matches: 'MAC → [affine ops: scale, bias] [→ Relu] [→ MaxPool] → MAC or residual Add, no quantizer between (QKeras conv → conv; a raw conv accumulator as one branch of a residual Add, on either input; biases and join ratios on the grid exactly or in float32, as the model stores them)',
  emits: 'nothing (the wider accumulator), or Requant M·acc + B with shift 0 on the sum\'s grid or 2^-e (a Relu: an unsigned type\'s clamp; at most 32 bits); at a join, ×f on the coarser branch',
  tests: ['test/e2e/cnn-models.test.ts', 'test/generality/variants.test.ts'],
  ops: new Set(),
};

export function integerComposition(ctx: LayerCtx): LayerResult {
  const { mac, mw, input } = ctx;
  const { rows, cols, W } = mw;
  const af = ctx.chain.affineRelu(ctx.alpha, ctx.beta);
  const accType = mvuOutType(rows, cols, input.type, W);
  const plan: LayerPlan = { mac: mac.name, origin: ctx.origin, rows, cols, weights: W, weightType: weightQType(W), inType: input.type, accType, act: { kind: 'none' }, ...ctx.unitFields };
  const ranges = Array.from({ length: rows }, (_, r) => ctx.accRange(W, r));
  // A trailing Relu is the clamp of an unsigned type: the codes stay max(0, ·) of the integer map.
  const clampRange = (lo: number, hi: number): [number, number] => (af?.relu ? [Math.max(lo, 0), Math.max(hi, 0)] : [lo, hi]);
  const a0 = af?.a[0];
  const bInt = af && a0 !== undefined && a0 > 0 && af.a.every((a) => a === a0) ? af.b.map((b) => gridMultiple(b, a0)) : undefined;
  if (bInt && bInt.every((b): b is number => b !== undefined)) {
    // One grid a0 for every row: the bias add is a Requant with M = 1, shift 0.
    const [lo, hi] = clampRange(Math.min(...ranges.map((r, i) => r.lo + bInt[i])), Math.max(...ranges.map((r, i) => r.hi + bInt[i])));
    const outType = fitsRequant(mac, smallestIntFor(Math.min(lo, 0), Math.max(hi, 0)));
    const act: Activation = bInt.every((b) => b === 0) && !af!.relu ? { kind: 'none' } : { kind: 'requant', mul: new Array(rows).fill(1), bias: bInt, shift: 0, outType };
    ctx.notes.push(`${mac.name}: no quantizer before the next layer; its output stays on the grid ${a0} (integer bias add${af!.relu ? ', Relu as an unsigned clamp' : ''})`);
    return { plan: { ...plan, act }, next: { model: { s: a0!, z: 0 }, codes: [lo, hi], type: act.kind === 'none' ? accType : act.outType }, after: codeOpsAfter(ctx, a0!, lo) };
  }
  // Otherwise the finest power-of-two grid 2^-e that every row's scale and bias are integer
  // multiples of (a bias on a finer grid than the sum, per-channel scales): y = 2^-e·(M[r]·acc + B[r]).
  const grid = af && dyadicGrid(af.a, af.b, ranges);
  if (!grid) throw new KilnError(cannotLower(mac, offGridReason(af, ranges.length), { rule: 'integer-composition', fix: 'quantize the activation after this layer (Quant / QuantizeLinear), or put its scale and bias on one grid' }));
  const [lo, hi] = clampRange(grid.lo, grid.hi);
  const outType = fitsRequant(mac, smallestIntFor(Math.min(lo, 0), Math.max(hi, 0)));
  const act: Activation = { kind: 'requant', mul: grid.mul, bias: grid.bias, shift: 0, outType };
  ctx.notes.push(`${mac.name}: no quantizer before the next layer; its output is exact on the grid 2^-${grid.e} (Requant M·acc + B, shift 0${af!.relu ? ', Relu as an unsigned clamp' : ''})`);
  return { plan: { ...plan, act }, next: { model: { s: 2 ** -grid.e, z: 0 }, codes: [lo, hi], type: outType }, after: codeOpsAfter(ctx, 2 ** -grid.e, lo) };
}

/** The exact integer's type, refused above the 32 bits of a Requant (a float input on a fine host grid grows fast). */
function fitsRequant(mac: Node, t: QType): QType {
  if (t.kind !== 'INT' || t.bits <= 32) return t;
  const fix = 'quantize the activation after this layer (Quant / QuantizeLinear), or narrow the sums (a float input: a coarser host grid, e.g. --input-type FIXED<8,4>)';
  throw new KilnError(cannotLower(mac, `its output stays an exact integer (no quantizer before the next layer), which needs ${qtypeName(t)}, wider than 32 bits`, { rule: 'integer-composition', fix }));
}

/** MaxPools after an unquantized sum act on its codes: an increasing integer map of the values (rule code-ops). */
function codeOpsAfter(ctx: LayerCtx, s: number, lowest: number): CodeOp[] {
  return ctx.codeNodes.length ? inRule('code-ops', () => codeOps(ctx.v, ctx.codeNodes, { s, z: 0 }, lowest, ctx.input.positions)) : [];
}

/**
 * k when b = k·a: exactly, or as the model stores b (b a float32 value and k·a rounding to it in
 * float32: the bias is on the grid to the precision the model has it in, as integer-weights checks weights).
 */
export function gridMultiple(b: number, a: number): number | undefined {
  const k = Math.round(b / a);
  if (!Number.isSafeInteger(k)) return undefined;
  if (k * a === b) return k;
  return Math.fround(b) === b && Math.fround(k * a) === b ? k : undefined;
}

/** Why the sum after `mac` is not an exact integer: a non-affine op, or the first row whose bias is off the grid. */
function offGridReason(af: { a: number[]; b: number[] } | undefined, rows: number): string {
  const head = 'the next layer\'s input is not quantized (no quantizer after this layer)';
  if (!af) return `${head}, and the ops after it are not an affine map with at most a final Relu`;
  const r = Array.from({ length: rows }, (_, i) => i).find((i) => gridMultiple(af.b[i], af.a[i]) === undefined) ?? 0;
  const b = af.b[r];
  return `${head}, and its output is float: row ${r} is ${fmt(af.a[r])}·acc ${b < 0 ? '-' : '+'} ${fmt(Math.abs(b))}, a bias of ${fmt(b / af.a[r])} steps of the sum, on neither its grid nor one power-of-two grid`;
}

const fmt = (x: number): string => Number(x.toPrecision(6)).toString();

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
