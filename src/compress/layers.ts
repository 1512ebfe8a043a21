// The weight layers compression works on (Gemm, MatMul, Conv with a float32 initializer as weights),
// seen as an [out × in] matrix whatever the stored layout, plus the small graph-editing helpers every
// method shares.
import { fail } from '../diag/index.ts';
import { attrFloat, attrInt, consumers, type Graph, type Node } from '../ir/graph.ts';
import { makeTensor, numel } from '../ir/tensor.ts';
import { WEIGHT_MACS } from '../lower/ops.ts';

export interface WeightLayer {
  node: Node;
  /** Initializer holding the float weights. */
  weight: string;
  /** Initializer holding the bias (Gemm C, Conv B, or the constant of a following Add), if any. */
  bias?: string;
  /** Output channels (matrix rows) and inputs per output (matrix columns, kh·kw·cin for a Conv). */
  rows: number;
  cols: number;
  /** Stored layout: 'oi' = [out, in…] (Gemm transB=1, Conv), 'io' = [in, out] (Gemm transB=0, MatMul). */
  layout: 'oi' | 'io';
  /** Axis of the stored tensor that indexes output channels. */
  channelAxis: number;
}

/** Every Gemm/MatMul/Conv whose weights are a float32 initializer, in graph order. */
export function weightLayers(g: Graph): WeightLayer[] {
  const layers: WeightLayer[] = [];
  for (const n of g.nodes) {
    if (!WEIGHT_MACS.has(n.op)) continue;
    const w = g.initializers.get(n.inputs[1]);
    if (!w || w.dtype !== 'float32') continue;
    if (n.op === 'Gemm' && (attrInt(n, 'transA', 0) !== 0 || attrFloat(n, 'alpha', 1) !== 1 || attrFloat(n, 'beta', 1) !== 1)) continue;
    if (n.op === 'MatMul' && w.shape.length !== 2) continue;
    const oi = n.op === 'Conv' || (n.op === 'Gemm' && attrInt(n, 'transB', 0) === 1);
    const rows = oi ? w.shape[0] : w.shape[1];
    let bias: string | undefined = n.op !== 'MatMul' && n.inputs[2] && g.initializers.has(n.inputs[2]) ? n.inputs[2] : undefined;
    if (n.op === 'MatMul') {
      const add = consumers(g).get(n.outputs[0]);
      const a = add?.length === 1 && add[0].op === 'Add' ? add[0] : undefined;
      const b = a?.inputs.find((i) => i !== n.outputs[0] && g.initializers.get(i)?.dtype === 'float32' && numel(g.initializers.get(i)!.shape) === rows);
      if (b) bias = b;
    }
    if (bias && numel(g.initializers.get(bias)!.shape) !== rows) bias = undefined;
    layers.push({ node: n, weight: n.inputs[1], bias, rows, cols: numel(w.shape) / rows, layout: oi ? 'oi' : 'io', channelAxis: oi ? 0 : 1 });
  }
  return layers;
}

/** The weights as a row-major [rows × cols] matrix (float64 copy). */
export function getMatrix(g: Graph, l: WeightLayer): Float64Array {
  const w = g.initializers.get(l.weight)!.data as Float32Array;
  const m = new Float64Array(l.rows * l.cols);
  if (l.layout === 'oi') m.set(w);
  else for (let i = 0; i < l.cols; i++) for (let o = 0; o < l.rows; o++) m[o * l.cols + i] = w[i * l.rows + o];
  return m;
}

/** The stored-layout float32 data for a [rows × cols] matrix. */
export function toLayout(l: WeightLayer, m: ArrayLike<number>): Float32Array {
  const out = new Float32Array(l.rows * l.cols);
  if (l.layout === 'oi') out.set(m);
  else for (let i = 0; i < l.cols; i++) for (let o = 0; o < l.rows; o++) out[i * l.rows + o] = m[o * l.cols + i];
  return out;
}

/** Replaces the layer's weights (same shape), as float32. */
export function setMatrix(g: Graph, l: WeightLayer, m: ArrayLike<number>): void {
  const w = g.initializers.get(l.weight)!;
  g.initializers.set(l.weight, makeTensor('float32', w.shape, toLayout(l, m)));
}

export function biasOf(g: Graph, l: WeightLayer): Float32Array | undefined {
  return l.bias ? (g.initializers.get(l.bias)!.data as Float32Array) : undefined;
}

export function setBias(g: Graph, l: WeightLayer, b: ArrayLike<number>): void {
  const t = g.initializers.get(l.bias!)!;
  g.initializers.set(l.bias!, makeTensor('float32', t.shape, Float32Array.from(b)));
}

/** A tensor/node name not used in g yet. */
export function freshName(g: Graph, base: string): string {
  const used = new Set<string>([...g.initializers.keys(), ...g.inputs.map((i) => i.name), ...g.nodes.flatMap((n) => [n.name, ...n.outputs])]);
  let n = base;
  for (let i = 1; used.has(n); i++) n = `${base}_${i}`;
  return n;
}

/** Drops initializers no node reads any more, and value infos of tensors that changed shape. */
export function tidyAfterEdit(g: Graph): void {
  const read = new Set(g.nodes.flatMap((n) => n.inputs));
  for (const name of [...g.initializers.keys()]) if (!read.has(name) && !g.outputs.some((o) => o.name === name)) g.initializers.delete(name);
  g.valueInfo.clear();
}

/** Checks an option that must be a number in [lo, hi) or [lo, hi]. */
export function checkRange(what: string, v: number, lo: number, hi: number, hiOpen = false): void {
  const ok = Number.isFinite(v) && v >= lo && (hiOpen ? v < hi : v <= hi);
  if (!ok) fail('BadArgument', `${what} must be in [${lo}, ${hi}${hiOpen ? ')' : ']'}, not ${v}`);
}

export function checkInteger(what: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi) fail('BadArgument', `${what} must be an integer from ${lo} to ${hi}, not ${v}`);
}
