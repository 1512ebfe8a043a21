// A specialised evaluator for the elementwise chains between a MAC and its activation quantizer
// (src/passes/streamline.ts evaluates them on up to millions of candidate accumulator values while
// lowering). It computes exactly what runGraph computes on a [queries, channels] tensor — the same
// float32 operations in the same order, every intermediate stored into a typed array of the same
// element type as the executor's tensor — but over a flat vector of (channel, value) queries, with
// no tensor allocation, broadcasting or padding per op. Only the common chains are compiled: Add,
// Sub, Mul, Div with a constant float32 operand that is per-tensor or per-channel, Relu, Clip,
// QuantizeLinear and DequantizeLinear with per-tensor or per-channel (axis 1) parameters; any other
// node (or an unusual dtype, shape, opset or domain) makes compileChain return undefined, and the
// caller uses the generic executor. test/unit/exec-chain.test.ts compares both on random chains.
import { attrFloat, attrInt, type Node } from '../ir/graph.ts';
import { INT_RANGES, nums, numel, type DType, type Tensor } from '../ir/tensor.ts';
import { broadcastIndex, broadcastShapes } from './kernels/broadcast.ts';
import { roundHalfEven } from './kernels/round.ts';

/** Element arrays of the dtypes the compiled chains use (those with no explicit storer). */
type Elems = Float32Array | Uint8Array | Int8Array | Uint16Array | Int16Array | Int32Array;
const ARRAYS: Partial<Record<DType, new (n: number) => Elems>> = {
  float32: Float32Array, uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array, int32: Int32Array,
};

/** One compiled step: values (of the step's input dtype) and their channels → the output values. */
type Step = (x: Elems, ch: Int32Array) => Elems;

/**
 * The step's output array for n values: a view of a buffer kept across calls (grown as needed), so
 * evaluating millions of queries allocates no intermediate arrays. Each step has its own buffer.
 */
function scratch<A extends Elems>(make: (n: number) => A): (n: number) => A {
  let buf = make(0);
  return (n) => {
    if (buf.length < n) buf = make(Math.max(n, 2 * buf.length));
    return buf.subarray(0, n) as A;
  };
}

/** Evaluates the chain on values x[j] (float32 MAC outputs) of channels ch[j], into a new array. */
export type ChainEvaluator = (x: Float32Array, ch: Int32Array) => Float64Array;

/**
 * Compiles `nodes` (a chain whose dynamic input is `input`, each node's dynamic input the previous
 * node's output) for `channels` channels laid out as [N, channels] (or [N, channels, 1, 1] when
 * `spatial`), or undefined when some node is outside the supported set.
 */
export function compileChain(nodes: Node[], input: string, constValue: (name: string) => Tensor | undefined, channels: number, spatial: boolean, opset: number, fuse = true): ChainEvaluator | undefined {
  // The tensor shape for two queries: per-channel constants must broadcast to it without growing it.
  const shape2 = spatial ? [2, channels, 1, 1] : [2, channels];
  const shape1 = spatial ? [1, channels, 1, 1] : [1, channels];
  /** Per-channel values of a constant that broadcasts along the channel axis only, else undefined. */
  const perChannel = (t: Tensor): Float64Array | undefined => {
    if (t.dtype === 'string') return undefined;
    let out: number[];
    try {
      out = broadcastShapes([shape2, t.shape]);
    } catch {
      return undefined; // the executor reports it
    }
    if (out.length !== shape2.length || out.some((d, k) => d !== shape2[k])) return undefined;
    if (t.shape.length === shape2.length && t.shape[0] !== 1) return undefined;
    const idx = broadcastIndex(t.shape, shape1);
    const v = nums(t);
    return Float64Array.from(idx, (i) => v[i]);
  };
  /** QuantizeLinear/DequantizeLinear parameters per channel: per-tensor, or 1-D along axis 1. */
  const quantParam = (n: Node, t: Tensor): Float64Array | undefined => {
    if (t.dtype === 'string') return undefined;
    const v = nums(t);
    if (numel(t.shape) === 1 && t.shape.length <= 1) return new Float64Array(channels).fill(v[0]);
    let axis = attrInt(n, 'axis', 1);
    if (axis < 0) axis += shape2.length;
    if (axis !== 1 || attrInt(n, 'block_size', 0) > 0 || t.shape.length !== 1 || t.shape[0] !== channels) return undefined;
    return Float64Array.from(v);
  };

  let dtype: DType = 'float32';
  let current = input;
  const steps: Step[] = [];
  // The same chain as one loop over the queries (fusedChain), while every step's stored value is
  // Math.fround of its result (float32) or an integer already in its type's range (no wrapping).
  const prog: FusedOp[] = [];
  let fusable = fuse;
  for (const n of nodes) {
    if (n.domain !== '' && n.domain !== 'ai.onnx') return undefined;
    const dyn = n.inputs.indexOf(current);
    if (dyn < 0 || n.inputs.indexOf(current, dyn + 1) >= 0) return undefined;
    const Out = ARRAYS[dtype];
    if (!Out) return undefined;
    const ins = n.inputs.map((i, k) => (k === dyn || i === '' ? undefined : constValue(i)));
    if (ins.some((t, k) => k !== dyn && n.inputs[k] !== '' && t === undefined)) return undefined;
    switch (n.op) {
      case 'Add': case 'Sub': case 'Mul': case 'Div': {
        // binaryMap(A, B, A.dtype, f): both float32 (the product/quotient of two float32, rounded once).
        if (n.inputs.length !== 2 || dtype !== 'float32' || ins[1 - dyn]?.dtype !== 'float32') return undefined;
        if (opset < 7 || n.attrs.broadcast !== undefined) return undefined; // legacy broadcasting
        const c = perChannel(ins[1 - dyn]!);
        if (!c) return undefined;
        const op = n.op;
        const first = dyn === 0;
        prog.push({ op: op === 'Add' ? F.Add : op === 'Mul' ? F.Mul : op === 'Sub' ? (first ? F.SubXC : F.SubCX) : first ? F.DivXC : F.DivCX, a: c, b: c, lo: 0, hi: 0 });
        const out = scratch((k) => new Float32Array(k));
        steps.push((x, ch) => {
          const y = out(x.length);
          for (let j = 0; j < x.length; j++) {
            const a = first ? x[j] : c[ch[j]];
            const b = first ? c[ch[j]] : x[j];
            y[j] = op === 'Add' ? a + b : op === 'Sub' ? a - b : op === 'Mul' ? a * b : a / b;
          }
          return y;
        });
        break;
      }
      case 'Relu': {
        if (dyn !== 0) return undefined;
        prog.push({ op: dtype === 'float32' ? F.ReluF : F.ReluI, a: none, b: none, lo: 0, hi: 0 });
        const out = scratch((k) => new Out(k));
        steps.push((x) => {
          const y = out(x.length);
          for (let j = 0; j < x.length; j++) {
            const v = x[j];
            y[j] = v > 0 ? v : Number.isNaN(v) ? v : 0;
          }
          return y;
        });
        break;
      }
      case 'Clip': {
        if (dyn !== 0) return undefined;
        let lo = -Infinity;
        let hi = Infinity;
        if (opset < 11) {
          lo = attrFloat(n, 'min', -Infinity);
          hi = attrFloat(n, 'max', Infinity);
        } else {
          for (const k of [1, 2]) {
            const t = ins[k];
            if (t === undefined) continue;
            if (t.dtype === 'string' || nums(t).length !== 1) return undefined;
            if (k === 1) lo = nums(t)[0];
            else hi = nums(t)[0];
          }
        }
        // On integers the bounds must be of the same type (then the result stays in range).
        if (dtype !== 'float32' && (opset < 11 || ins.some((t, k) => k > 0 && t !== undefined && t.dtype !== dtype))) fusable = false;
        prog.push({ op: dtype === 'float32' ? F.ClipF : F.ClipI, a: none, b: none, lo, hi });
        const out = scratch((k) => new Out(k));
        steps.push((x) => {
          const y = out(x.length);
          for (let j = 0; j < x.length; j++) {
            const v = x[j];
            y[j] = Number.isNaN(v) ? v : Math.min(Math.max(v, lo), hi);
          }
          return y;
        });
        break;
      }
      case 'QuantizeLinear': {
        const [, s, zp] = ins;
        if (dyn !== 0 || !s || attrInt(n, 'output_dtype', 0) !== 0) return undefined;
        const outType: DType = zp ? zp.dtype : 'uint8';
        const range = INT_RANGES[outType];
        const Q = ARRAYS[outType];
        const sv = quantParam(n, s);
        const zv = zp ? quantParam(n, zp) : new Float64Array(channels);
        if (!range || !Q || !sv || !zv || (zp && numel(zp.shape) !== numel(s.shape))) return undefined;
        const [qlo, qhi] = range;
        prog.push({ op: F.Quant, a: sv, b: zv, lo: qlo, hi: qhi });
        const out = scratch((k) => new Q(k));
        steps.push((x, ch) => {
          const y = out(x.length);
          for (let j = 0; j < x.length; j++) {
            const c = ch[j];
            const q = roundHalfEven(Math.fround(Math.fround(x[j]) / sv[c])) + zv[c];
            y[j] = q < qlo ? qlo : q > qhi ? qhi : q;
          }
          return y;
        });
        dtype = outType;
        break;
      }
      case 'DequantizeLinear': {
        const [, s, zp] = ins;
        if (dyn !== 0 || !s || s.dtype !== 'float32') return undefined;
        const sv = quantParam(n, s);
        const zv = zp ? quantParam(n, zp) : new Float64Array(channels);
        if (!sv || !zv) return undefined;
        prog.push({ op: F.Dequant, a: sv, b: zv, lo: 0, hi: 0 });
        const out = scratch((k) => new Float32Array(k));
        steps.push((x, ch) => {
          const y = out(x.length);
          for (let j = 0; j < x.length; j++) {
            const c = ch[j];
            y[j] = Math.fround(Math.fround(x[j] - zv[c]) * sv[c]);
          }
          return y;
        });
        dtype = 'float32';
        break;
      }
      default:
        return undefined;
    }
    if (n.outputs.length < 1 || n.outputs[0] === '') return undefined;
    current = n.outputs[0];
  }
  if (fusable) return fusedChain(prog);
  return (x, ch) => {
    let v: Elems = x;
    for (const step of steps) v = step(v, ch);
    return Float64Array.from(v);
  };
}

/** Fused ops: per-channel operands a (constant or scale) and b (zero point), bounds lo/hi. */
const enum F { Add, Mul, SubXC, SubCX, DivXC, DivCX, ReluF, ReluI, ClipF, ClipI, Quant, Dequant }
interface FusedOp { op: F; a: Float64Array; b: Float64Array; lo: number; hi: number }
const none = new Float64Array(0);

/** The chain as one loop: each query runs through every op with no intermediate arrays (same arithmetic as the steps). */
function fusedChain(prog: FusedOp[]): ChainEvaluator {
  const m = prog.length;
  const ops = Int32Array.from(prog, (p) => p.op);
  const A = prog.map((p) => p.a);
  const B = prog.map((p) => p.b);
  const LO = Float64Array.from(prog, (p) => p.lo);
  const HI = Float64Array.from(prog, (p) => p.hi);
  return (x, ch) => {
    const out = new Float64Array(x.length);
    for (let j = 0; j < x.length; j++) {
      let v = x[j];
      const c = ch[j];
      for (let k = 0; k < m; k++) {
        switch (ops[k]) {
          case F.Add: v = Math.fround(v + A[k][c]); break;
          case F.Mul: v = Math.fround(v * A[k][c]); break;
          case F.SubXC: v = Math.fround(v - A[k][c]); break;
          case F.SubCX: v = Math.fround(A[k][c] - v); break;
          case F.DivXC: v = Math.fround(v / A[k][c]); break;
          case F.DivCX: v = Math.fround(A[k][c] / v); break;
          case F.ReluF: v = Math.fround(v > 0 ? v : Number.isNaN(v) ? v : 0); break;
          case F.ReluI: v = v > 0 ? v : 0; break;
          case F.ClipF: v = Math.fround(Number.isNaN(v) ? v : Math.min(Math.max(v, LO[k]), HI[k])); break;
          case F.ClipI: v = Math.min(Math.max(v, LO[k]), HI[k]); break;
          case F.Quant: {
            const q = roundHalfEven(Math.fround(Math.fround(v) / A[k][c])) + B[k][c];
            v = q < LO[k] ? LO[k] : q > HI[k] ? HI[k] : q;
            break;
          }
          default: v = Math.fround(Math.fround(v - B[k][c]) * A[k][c]); // Dequant
        }
      }
      out[j] = v;
    }
    return out;
  };
}
