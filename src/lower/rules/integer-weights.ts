// Rule integer-weights: a layer's constant weights become integers with one float scale per output
// row — read from their quantizer (QONNX Quant, DequantizeLinear per tensor or per axis) when that is
// exact in float32, else from an exact grid of the float values (integers, ±a/0, a power-of-two grid).
import { basename } from 'node:path';
import { KilnError } from '../../diag/index.ts';
import { BIPOLAR, smallestIntFor, TERNARY, type QType } from '../../ir/datatype.ts';
import { attrInt, type Node } from '../../ir/graph.ts';
import { makeTensor, numel, toNumbers } from '../../ir/tensor.ts';
import { INTEGER_MACS, isQuant, QUANTIZED_OUTPUTS, QUANTIZERS, WEIGHT_LAYOUT, WEIGHT_MACS } from '../ops.ts';
import type { IntWeights } from '../plan.ts';
import { broadcastTo, constOf, runNode } from '../support.ts';
import { cannotLower, type GraphView, type Refusal } from '../view.ts';
import type { LoweringRule } from './rule.ts';

/**
 * The one refusal of a float model — no quantizer anywhere, and a layer whose weights are on no
 * integer grid — with the command that quantizes it (instead of one weights line per layer).
 */
export function floatModelRefusal(v: GraphView, source?: string): Refusal | undefined {
  if (v.g.nodes.some((n) => QUANTIZERS.has(n.op) || QUANTIZED_OUTPUTS.has(n.op) || INTEGER_MACS.has(n.op))) return undefined;
  const mac = v.path.find((n) => WEIGHT_MACS.has(n.op) && v.consts.has(n.inputs[1]) && !inferGrid(toNumbers(v.consts.get(n.inputs[1])!)));
  if (!mac) return undefined;
  const model = basename(source ?? 'model.onnx');
  const out = `${model.replace(/\.onnx$/, '')}_int8.onnx`;
  return cannotLower(mac, `this model is float (no quantizer anywhere, and weights '${mac.inputs[1]}' are on no integer grid)`, {
    rule: 'integer-weights',
    fix: `quantize it first with \`kiln compress ${model} -o ${out} --bits 8 --calib <inputs.npy>\``,
  });
}

export const integerWeightsRule: LoweringRule = {
  name: 'integer-weights',
  doc: 'Constant weights become integers × one float scale per output row, exactly (checked in float32).',
  matches: 'weights behind Quant/IntQuant/BipolarQuant/DequantizeLinear (per tensor or per axis) and layout ops; unquantized weights on an exact grid (integers, {-a, 0, +a}, 2^-e)',
  emits: 'the integer weight matrix of the layer (MVU / VectorVector) and its datatype (BIPOLAR, TERNARY, INTn)',
  tests: ['test/passes/streamline-passes.test.ts', 'test/e2e/mlp-models.test.ts'],
  ops: new Set(),
};

/** Integer weights and their per-element float scale, in the orientation the MAC reads them. */
export function integerWeights(v: GraphView, name: string, mac: Node, notes: string[]): IntWeights {
  const replay: Node[] = [];
  let t = name;
  let q: Node | undefined;
  for (;;) {
    const p = v.producer.get(t);
    if (!p) break;
    if (WEIGHT_LAYOUT.has(p.op)) {
      replay.unshift(p);
      t = p.inputs[0];
      continue;
    }
    if (isQuant(p) || p.op === 'BipolarQuant' || p.op === 'DequantizeLinear') q = p;
    break;
  }
  const y = v.consts.get(t);
  if (!y) throw new KilnError(cannotLower(mac, `weights '${name}' must be constant`, { rule: 'integer-weights', fix: 'make the weights an initializer or a constant subgraph' }));
  const shape = y.shape;
  const yv = toNumbers(y);
  let w: Float64Array | undefined;
  let s: Float64Array | undefined;
  if (q) {
    const st = constOf(v, q.inputs[1], q);
    let sb: Float64Array;
    if (q.op === 'DequantizeLinear' && numel(st.shape) > 1) {
      // Per-axis scale: a 1-D tensor along `axis`.
      const axis = attrInt(q, 'axis', 1);
      const ax = axis < 0 ? axis + shape.length : axis;
      const bshape = shape.map((d, i) => (i === ax ? d : 1));
      sb = broadcastTo(makeTensor('float32', bshape, toNumbers(st)), shape);
    } else sb = broadcastTo(st, shape);
    const wi = new Float64Array(yv.length);
    let exact = true;
    for (let i = 0; i < yv.length; i++) {
      wi[i] = Math.round(yv[i] / sb[i]);
      if (Math.fround(wi[i] * sb[i]) !== yv[i]) exact = false;
    }
    if (exact) {
      w = wi;
      s = sb;
    }
  }
  if (!w) {
    const grid = inferGrid(yv);
    if (!grid) {
      // (A float model, with no quantizer anywhere, is refused before this: floatModelRefusal.)
      throw new KilnError(cannotLower(mac, `weights '${name}' are not on an integer grid (no quantizer, not ±a/0, not a power-of-two grid)`, { rule: 'integer-weights', fix: 'quantize the weights (a Quant or DequantizeLinear on them)' }));
    }
    w = grid.w;
    s = new Float64Array(yv.length).fill(grid.s);
    if (!q) notes.push(`${mac.name}: float weights read as integers × ${grid.s} (${grid.why})`);
  }
  // Replay the layout ops (Transpose, Reshape, …) on the integers and the scales.
  let wt = makeTensor('float32', shape, w);
  let stt = makeTensor('float32', shape, s!);
  for (const n of replay) {
    const rest = n.inputs.slice(1).map((i) => (i === '' ? undefined : v.consts.get(i)));
    wt = runNode(v.g, n, [wt, ...rest])[0];
    stt = runNode(v.g, n, [stt, ...rest])[0];
  }
  return { w: Float64Array.from(toNumbers(wt)), s: Float64Array.from(toNumbers(stt)), shape: wt.shape };
}

/** QLinearMatMul / MatMulInteger weights: the constant integer tensor minus its zero point (per column). */
export function qoperatorWeights(v: GraphView, mac: Node): IntWeights {
  const [bi, zi] = mac.op === 'QLinearMatMul' ? [3, 5] : [1, 3];
  const b = constOf(v, mac.inputs[bi], mac);
  if (b.shape.length !== 2) throw new KilnError(cannotLower(mac, `weights of rank ${b.shape.length}, not 2`, { rule: 'integer-weights', fix: 'use 2-D weights [K, N]' }));
  const zb = mac.inputs[zi] ? toNumbers(constOf(v, mac.inputs[zi], mac)) : [0];
  const N = b.shape[1];
  const bv = toNumbers(b);
  const w = Float64Array.from(bv, (x, i) => x - zb[zb.length === 1 ? 0 : i % N]);
  return { w, s: new Float64Array(bv.length).fill(1), shape: b.shape };
}

/** Integer values and one scale for an unquantized float weight tensor, when there is an exact one. */
export function inferGrid(ys: number[]): { w: Float64Array; s: number; why: string } | undefined {
  if (ys.every((x) => Number.isInteger(x))) return { w: Float64Array.from(ys), s: 1, why: 'integer values' };
  const mags = [...new Set(ys.map(Math.abs).filter((x) => x !== 0))];
  if (mags.length === 1) return { w: Float64Array.from(ys, (x) => Math.sign(x)), s: mags[0], why: `values in {-a, 0, +a}, a = ${mags[0]}` };
  for (let e = 1; e <= 30; e++) {
    const k = 2 ** e;
    if (ys.every((x) => Number.isInteger(x * k)) && ys.every((x) => Math.abs(x * k) < 2 ** 15)) {
      return { w: Float64Array.from(ys, (x) => x * k), s: 1 / k, why: `power-of-two grid 2^-${e}` };
    }
  }
  return undefined;
}

/** The datatype of an integer weight matrix (BIPOLAR / TERNARY / smallest INTn or UINTn). */
export function weightQType(ws: ArrayLike<number>): QType {
  let lo = Infinity;
  let hi = -Infinity;
  let zero = false;
  for (let i = 0; i < ws.length; i++) {
    lo = Math.min(lo, ws[i]);
    hi = Math.max(hi, ws[i]);
    if (ws[i] === 0) zero = true;
  }
  if (lo >= -1 && hi <= 1 && lo < 0) return zero ? TERNARY : BIPOLAR;
  return smallestIntFor(Math.min(lo, 0), Math.max(hi, 0));
}
