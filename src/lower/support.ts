// Small helpers the lowering rules share: constants of the graph view, code models of quantizers,
// the stream types of codes.
import { KilnError } from '../diag/index.ts';
import { lookupOp } from '../exec/registry.ts';
import { BIPOLAR, smallestIntFor, type QType } from '../ir/datatype.ts';
import { attrFloat, type Graph, type Node } from '../ir/graph.ts';
import { numel, toNumbers, type Tensor } from '../ir/tensor.ts';
import { ACTIVATION_QUANTIZERS, CODE_OPS, LAYOUT } from './ops.ts';
import type { CodeModel } from './plan.ts';
import { cannotLower, type GraphView } from './view.ts';

export function constOf(v: GraphView, name: string, n: Node): Tensor {
  const t = v.consts.get(name);
  if (!t) throw new KilnError(cannotLower(n, `input '${name}' must be a constant`, { fix: `make '${name}' an initializer or a constant subgraph` }));
  return t;
}

export function scalarOf(v: GraphView, name: string | undefined, n: Node, dflt: number, what: string): number {
  if (name === undefined || name === '') return dflt;
  const t = constOf(v, name, n);
  const xs = toNumbers(t);
  if (xs.length === 0) return dflt;
  if (!xs.every((x) => x === xs[0])) throw new KilnError(cannotLower(n, `${what} must be per-tensor here, not per-channel`, { fix: `use one ${what} for the whole tensor` }));
  return xs[0];
}

/** Values of `t` broadcast (numpy rules) to `shape`. */
export function broadcastTo(t: Tensor, shape: number[]): Float64Array {
  const out = new Float64Array(numel(shape));
  const src = toNumbers(t);
  const ts = [...Array(shape.length - t.shape.length).fill(1), ...t.shape];
  for (let i = 0; i < out.length; i++) {
    let rem = i;
    let idx = 0;
    let stride = 1;
    const coords: number[] = [];
    for (let d = shape.length - 1; d >= 0; d--) {
      coords[d] = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
    }
    for (let d = shape.length - 1; d >= 0; d--) {
      idx += (ts[d] === 1 ? 0 : coords[d]) * stride;
      stride *= ts[d];
    }
    out[i] = src[idx];
  }
  return out;
}

/** Per-channel vector of a constant operand broadcast against a [.., C] tensor. */
export function perChannel(t: Tensor, C: number, n: Node): number[] {
  const xs = toNumbers(t);
  if (xs.length === 1) return new Array(C).fill(xs[0]);
  if (xs.length === C && (t.shape[t.shape.length - 1] === C || t.shape.filter((d) => d !== 1).length === 1)) return xs;
  throw new KilnError(cannotLower(n, `constant of shape [${t.shape}] is not per-channel over ${C} channels`, { fix: 'give the constant one value, or one per channel' }));
}

export function runNode(g: Graph, n: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  return lookupOp(n)!(n, inputs, { opset: g.opsets[''] ?? 13 });
}

/** The stream datatype of codes lo..hi ({-1,+1} → BIPOLAR). */
export function codeQType(codes: number[]): QType {
  if (codes.length === 2 && codes[0] === -1 && codes[1] === 1) return BIPOLAR;
  return smallestIntFor(Math.min(codes[0], 0), Math.max(codes[codes.length - 1], 0));
}

export function codeModel(v: GraphView, q: Node): CodeModel {
  switch (q.op) {
    case 'Quant': case 'IntQuant': return { s: scalarOf(v, q.inputs[1], q, 1, 'the scale'), z: scalarOf(v, q.inputs[2], q, 0, 'the zero point') };
    case 'BipolarQuant': return { s: scalarOf(v, q.inputs[1], q, 1, 'the scale'), z: 0 };
    case 'DequantizeLinear': return { s: scalarOf(v, q.inputs[1], q, 1, 'the scale'), z: scalarOf(v, q.inputs[2], q, 0, 'the zero point') };
    case 'MultiThreshold': {
      // FINN: y = out_scale·(thresholds passed) + out_bias, so the code is the count.
      const s = attrFloat(q, 'out_scale', 1);
      if (!(s !== 0)) throw new KilnError(cannotLower(q, 'out_scale = 0', { fix: 'give the MultiThreshold a non-zero out_scale' }));
      return { s, z: -attrFloat(q, 'out_bias', 0) / s };
    }
    default: return { s: 1, z: 0 }; // Sign, and a QuantizeLinear whose integer output is the graph output
  }
}

export function codeOf(y: number, m: CodeModel, n: Node): number {
  const u = y / m.s + m.z;
  const k = Math.round(u);
  if (Math.abs(u - k) > 1e-3) throw new KilnError(cannotLower(n, `output ${y} is not on its grid (scale ${m.s}, zero point ${m.z})`, { fix: 'check the quantizer\'s scale and zero point (the value must be one of its codes)' }));
  return k;
}

/** Index in `nodes` of the activation quantizer that is followed by layout and code ops only, or −1. */
export function lastActivation(nodes: Node[]): number {
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (LAYOUT.has(n.op) || CODE_OPS.has(n.op)) continue;
    return ACTIVATION_QUANTIZERS.has(n.op) ? i : -1;
  }
  return -1;
}
