// QOperator ops: integer convolution / matrix product with exact integer accumulation, and the
// requantizing variants with onnxruntime's CPU semantics:
//   ConvInteger, MatMulInteger                → int32 Σ (x − x_zp)(w − w_zp), exact
//   QLinearConv, QLinearMatMul                → saturate(rne(f32(f32(acc [+ bias]) · ratio)) + y_zp),
//                                               ratio = f32(f32(x_scale · w_scale[m]) / y_scale)
//   com.microsoft QLinearAdd, QLinearMul      → MLAS's float32 requantization (see each op)
// where rne = round half to even and f32 = rounding to float32 (MLAS MlasRequantizeOutput).
import { fail } from '../../diag/index.ts';
import { attrInt, attrInts, attrString, type Node } from '../../ir/graph.ts';
import { INT_RANGES, makeTensor, numel, nums, type DType, type Tensor } from '../../ir/tensor.ts';
import { broadcastIndex, broadcastShapes } from '../kernels/broadcast.ts';
import { roundHalfEven } from '../kernels/round.ts';
import type { OpImpl, OpTable } from '../op-types.ts';
import { needAll } from './quant.ts';

const f32 = Math.fround;


function rangeOf(node: Node, dtype: DType): [number, number] {
  return INT_RANGES[dtype] ?? fail('UnsupportedDType', `${node.op} output type must be uint8 or int8, not ${dtype}`, node.name);
}

/** MLAS requantization of an int32 accumulator: float32 product, round half to even, add zp, saturate. */
function requantize(acc: number, ratio: number, zp: number, [lo, hi]: [number, number]): number {
  const q = roundHalfEven(f32(f32(acc) * ratio)) + zp;
  return q < lo ? lo : q > hi ? hi : q;
}

/** A zero point / scale that is a scalar or one value per `count` channels: its value for channel c. */
function perChannel(node: Node, t: Tensor | undefined, count: number, what: string): (c: number) => number {
  if (!t) return () => 0;
  const v = nums(t);
  if (v.length === 1) return () => v[0];
  if (v.length !== count) fail('ShapeMismatch', `${what} of ${node.op} must be a scalar or have ${count} values, not shape [${t.shape.join(',')}]`, node.name);
  return (c) => v[c];
}

function scalarValue(node: Node, t: Tensor | undefined, what: string): number {
  if (!t) return 0;
  if (numel(t.shape) !== 1) fail('ShapeMismatch', `${what} of ${node.op} must be a scalar, not shape [${t.shape.join(',')}]`, node.name);
  return nums(t)[0];
}

// ---- convolution --------------------------------------------------------------------------------

export interface ConvGeometry {
  /** Output spatial dims. */
  out: number[];
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Padding at the start of each spatial dim. */
  padBegin: number[];
}

/** ONNX Conv geometry: kernel_shape, strides, dilations, pads or auto_pad (SAME_UPPER/LOWER, VALID). */
export function convGeometry(node: Node, inSpatial: number[], kernel: number[]): ConvGeometry {
  const r = inSpatial.length;
  const ks = attrInts(node, 'kernel_shape', kernel);
  if (ks.length !== r || ks.some((k, i) => k !== kernel[i])) fail('ShapeMismatch', `kernel_shape [${ks.join(',')}] of ${node.op} does not match the weight's [${kernel.join(',')}]`, node.name);
  const st = attrInts(node, 'strides', new Array(r).fill(1));
  const dil = attrInts(node, 'dilations', new Array(r).fill(1));
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const pads = attrInts(node, 'pads', new Array(2 * r).fill(0));
  if (st.length !== r || dil.length !== r || pads.length !== 2 * r) fail('BadAttribute', `strides/dilations/pads of ${node.op} must have ${r}/${r}/${2 * r} values`, node.name);
  const padBegin: number[] = [];
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const ek = (kernel[i] - 1) * dil[i] + 1;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const o = Math.ceil(inSpatial[i] / st[i]);
      const total = Math.max(0, (o - 1) * st[i] + ek - inSpatial[i]);
      padBegin.push(autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : Math.ceil(total / 2));
      out.push(o);
    } else if (autoPad === 'VALID') {
      padBegin.push(0);
      out.push(Math.floor((inSpatial[i] - ek) / st[i]) + 1);
    } else if (autoPad === 'NOTSET') {
      padBegin.push(pads[i]);
      out.push(Math.floor((inSpatial[i] + pads[i] + pads[i + r] - ek) / st[i]) + 1);
    } else {
      fail('BadAttribute', `attribute 'auto_pad' of ${node.op} must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, not '${autoPad}'`, node.name);
    }
    if (out[i] < 1) fail('ShapeMismatch', `${node.op} output would be empty: input [${inSpatial.join(',')}], kernel [${kernel.join(',')}]`, node.name);
  }
  return { out, kernel, strides: st, dilations: dil, padBegin };
}

/**
 * Exact integer convolution of 1-D or 2-D NC… data (zero points already subtracted; the padding
 * value is the zero point, i.e. 0 here). Returns accumulators for [N, M, …out].
 */
export function integerConv(node: Node, x: Float64Array, xShape: number[], w: Float64Array, wShape: number[], group: number): { acc: Float64Array; shape: number[] } {
  const r = xShape.length - 2;
  if (r < 1 || r > 2) fail('ShapeMismatch', `${node.op} supports 1-D and 2-D convolution, not input [${xShape.join(',')}]`, node.name);
  const [n, c] = xShape;
  const [m, cg] = wShape;
  if (wShape.length !== xShape.length) fail('ShapeMismatch', `${node.op} weight [${wShape.join(',')}] does not match input [${xShape.join(',')}]`, node.name);
  if (c % group !== 0 || m % group !== 0 || cg * group !== c) fail('ShapeMismatch', `${node.op} with group ${group} cannot take ${c} input channels and weight [${wShape.join(',')}]`, node.name);
  const g = convGeometry(node, xShape.slice(2), wShape.slice(2));
  // View 1-D as 2-D with a height of 1.
  const [ih, iw] = r === 2 ? [xShape[2], xShape[3]] : [1, xShape[2]];
  const [kh, kw] = r === 2 ? [wShape[2], wShape[3]] : [1, wShape[2]];
  const [oh, ow] = r === 2 ? g.out : [1, g.out[0]];
  const [sh, sw] = r === 2 ? g.strides : [1, g.strides[0]];
  const [dh, dw] = r === 2 ? g.dilations : [1, g.dilations[0]];
  const [ph, pw] = r === 2 ? g.padBegin : [0, g.padBegin[0]];
  const mg = m / group;
  const acc = new Float64Array(n * m * oh * ow);
  for (let b = 0; b < n; b++) {
    for (let oc = 0; oc < m; oc++) {
      const grp = Math.floor(oc / mg);
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          let s = 0;
          for (let ic = 0; ic < cg; ic++) {
            const xBase = (b * c + grp * cg + ic) * ih * iw;
            const wBase = (oc * cg + ic) * kh * kw;
            for (let ky = 0; ky < kh; ky++) {
              const y = oy * sh - ph + ky * dh;
              if (y < 0 || y >= ih) continue;
              for (let kx = 0; kx < kw; kx++) {
                const xx = ox * sw - pw + kx * dw;
                if (xx < 0 || xx >= iw) continue;
                s += x[xBase + y * iw + xx] * w[wBase + ky * kw + kx];
              }
            }
          }
          acc[((b * m + oc) * oh + oy) * ow + ox] = s;
        }
      }
    }
  }
  return { acc, shape: [n, m, ...g.out] };
}

/** Values of t minus a zero point that is per-tensor or per-output-channel (axis 0 of a weight). */
function minusZeroPoint(node: Node, t: Tensor, zp: Tensor | undefined, what: string, perAxis0 = false): Float64Array {
  const v = nums(t);
  const out = new Float64Array(v.length);
  const channels = t.shape[0] ?? 1;
  const z = perChannel(node, zp, perAxis0 ? channels : 1, what);
  const inner = perAxis0 ? v.length / channels : v.length;
  for (let i = 0; i < v.length; i++) out[i] = v[i] - z(Math.floor(i / inner));
  return out;
}

const convIntegerOp: OpImpl = (node, inputs) => {
  const [x, w] = needAll(node, inputs, ['x', 'w']);
  const xv = minusZeroPoint(node, x, inputs[2], 'x_zero_point');
  const wv = minusZeroPoint(node, w, inputs[3], 'w_zero_point', true);
  const { acc, shape } = integerConv(node, xv, x.shape, wv, w.shape, attrInt(node, 'group', 1));
  return [makeTensor('int32', shape, acc)];
};

const qlinearConvOp: OpImpl = (node, inputs) => {
  const [x, xs, xzp, w, ws, wzp, ys, yzp] = needAll(node, inputs, ['x', 'x_scale', 'x_zero_point', 'w', 'w_scale', 'w_zero_point', 'y_scale', 'y_zero_point']);
  const bias = inputs[8];
  const m = w.shape[0];
  const xv = minusZeroPoint(node, x, xzp, 'x_zero_point');
  const wv = minusZeroPoint(node, w, wzp, 'w_zero_point', true);
  const { acc, shape } = integerConv(node, xv, x.shape, wv, w.shape, attrInt(node, 'group', 1));
  const xScale = scalarValue(node, xs, 'x_scale');
  const yScale = scalarValue(node, ys, 'y_scale');
  const wScale = perChannel(node, ws, m, 'w_scale');
  const ratio = Array.from({ length: m }, (_, oc) => f32(f32(xScale * wScale(oc)) / yScale));
  const b = perChannel(node, bias, m, 'B');
  const zp = scalarValue(node, yzp, 'y_zero_point');
  const range = rangeOf(node, yzp.dtype);
  const out = makeTensor(yzp.dtype, shape);
  const y = nums(out);
  const spatial = numel(shape.slice(2));
  for (let i = 0; i < y.length; i++) {
    const oc = Math.floor(i / spatial) % m;
    y[i] = requantize(acc[i] + b(oc), ratio[oc], zp, range);
  }
  return [out];
};

// ---- matrix product -----------------------------------------------------------------------------

interface MatMulPlan {
  outShape: number[];
  batches: number;
  m: number;
  k: number;
  n: number;
  /** Flat offset of batch t's matrix in a and in b. */
  aOff: Int32Array;
  bOff: Int32Array;
}

/** numpy matmul shapes: 1-D operands promoted (and the promoted dim dropped), batch dims broadcast. */
function matmulPlan(node: Node, aShape: number[], bShape: number[]): MatMulPlan {
  const a = aShape.length === 1 ? [1, aShape[0]] : aShape;
  const b = bShape.length === 1 ? [bShape[0], 1] : bShape;
  if (a.length < 2 || b.length < 2) fail('ShapeMismatch', `${node.op} operands must have rank >= 1`, node.name);
  const [m, k] = a.slice(-2);
  const [k2, n] = b.slice(-2);
  if (k !== k2) fail('ShapeMismatch', `${node.op} cannot multiply [${aShape.join(',')}] by [${bShape.join(',')}]`, node.name);
  const aBatch = a.slice(0, -2), bBatch = b.slice(0, -2);
  const batch = broadcastShapes([aBatch, bBatch]);
  const batches = numel(batch);
  const aIdx = broadcastIndex(aBatch, batch), bIdx = broadcastIndex(bBatch, batch);
  const aOff = new Int32Array(batches), bOff = new Int32Array(batches);
  for (let t = 0; t < batches; t++) {
    aOff[t] = aIdx[t] * m * k;
    bOff[t] = bIdx[t] * k * n;
  }
  const outShape = [...batch, ...(aShape.length === 1 ? [] : [m]), ...(bShape.length === 1 ? [] : [n])];
  return { outShape, batches, m, k, n, aOff, bOff };
}

/** Exact Σ_k a[i,k]·b[k,j] per batch (operands already zero-point corrected). */
function integerMatMul(p: MatMulPlan, a: Float64Array, b: Float64Array): Float64Array {
  const { batches, m, k, n } = p;
  const acc = new Float64Array(batches * m * n);
  for (let t = 0; t < batches; t++) {
    for (let i = 0; i < m; i++) {
      const row = p.aOff[t] + i * k;
      const o = (t * m + i) * n;
      for (let kk = 0; kk < k; kk++) {
        const av = a[row + kk];
        if (av === 0) continue;
        const bRow = p.bOff[t] + kk * n;
        for (let j = 0; j < n; j++) acc[o + j] += av * b[bRow + j];
      }
    }
  }
  return acc;
}

/** a − a_zp where a_zp is a scalar or one value per row (M); b − b_zp, scalar or one per column (N). */
function matmulOperands(node: Node, p: MatMulPlan, a: Tensor, azp: Tensor | undefined, b: Tensor, bzp: Tensor | undefined): [Float64Array, Float64Array] {
  const av = nums(a), bv = nums(b);
  const za = perChannel(node, azp, p.m, 'a_zero_point');
  const zb = perChannel(node, bzp, p.n, 'b_zero_point');
  const ac = new Float64Array(av.length), bc = new Float64Array(bv.length);
  for (let i = 0; i < av.length; i++) ac[i] = av[i] - za(Math.floor(i / p.k) % p.m);
  for (let i = 0; i < bv.length; i++) bc[i] = bv[i] - zb(i % p.n);
  return [ac, bc];
}

const matMulIntegerOp: OpImpl = (node, inputs) => {
  const [a, b] = needAll(node, inputs, ['A', 'B']);
  const p = matmulPlan(node, a.shape, b.shape);
  const [ac, bc] = matmulOperands(node, p, a, inputs[2], b, inputs[3]);
  return [makeTensor('int32', p.outShape, integerMatMul(p, ac, bc))];
};

const qlinearMatMulOp: OpImpl = (node, inputs) => {
  const [a, as, azp, b, bs, bzp, ys, yzp] = needAll(node, inputs, ['a', 'a_scale', 'a_zero_point', 'b', 'b_scale', 'b_zero_point', 'y_scale', 'y_zero_point']);
  const p = matmulPlan(node, a.shape, b.shape);
  const [ac, bc] = matmulOperands(node, p, a, azp, b, bzp);
  const acc = integerMatMul(p, ac, bc);
  const aScale = scalarValue(node, as, 'a_scale');
  const yScale = scalarValue(node, ys, 'y_scale');
  const bScale = perChannel(node, bs, p.n, 'b_scale');
  const ratio = Array.from({ length: p.n }, (_, j) => f32(f32(aScale * bScale(j)) / yScale));
  const zp = scalarValue(node, yzp, 'y_zero_point');
  const range = rangeOf(node, yzp.dtype);
  const out = makeTensor(yzp.dtype, p.outShape);
  const y = nums(out);
  for (let i = 0; i < y.length; i++) y[i] = requantize(acc[i], ratio[i % p.n], zp, range);
  return [out];
};

// ---- com.microsoft elementwise ------------------------------------------------------------------

type QBinary = (a: number, b: number) => number;

/**
 * A broadcasting quantized binary op. `kernel` gets (a, b, aIsScalar, bIsScalar): onnxruntime
 * evaluates a scalar operand once outside its vector loop, which changes float32 rounding order.
 */
function qlinearBinary(node: Node, inputs: (Tensor | undefined)[], kernel: (sa: number, za: number, sb: number, zb: number, sc: number, zc: number, scalarA: boolean, scalarB: boolean) => QBinary): Tensor[] {
  const [a, as, b, bs, cs] = [0, 1, 3, 4, 6].map((k) => inputs[k] ?? fail('BadAttribute', `${node.op} needs input ${k}`, node.name));
  const [za, zb, zc] = [2, 5, 7].map((k) => scalarValue(node, inputs[k], 'zero point'));
  if (b.dtype !== a.dtype) fail('UnsupportedDType', `${node.op} inputs must share a type, not ${a.dtype} and ${b.dtype}`, node.name);
  const range = rangeOf(node, a.dtype);
  const shape = broadcastShapes([a.shape, b.shape]);
  const f = kernel(scalarValue(node, as, 'A_scale'), za, scalarValue(node, bs, 'B_scale'), zb, scalarValue(node, cs, 'C_scale'), zc, numel(a.shape) === 1, numel(b.shape) === 1);
  const ia = broadcastIndex(a.shape, shape), ib = broadcastIndex(b.shape, shape);
  const av = nums(a), bv = nums(b);
  const out = makeTensor(a.dtype, shape);
  const y = nums(out);
  for (let i = 0; i < y.length; i++) {
    const q = f(av[ia[i]], bv[ib[i]]);
    y[i] = q < range[0] ? range[0] : q > range[1] ? range[1] : q;
  }
  return [out];
}

/**
 * QLinearAdd as MLAS's AVX2 kernel computes it: ratios r_a = s_a/s_c, r_b = s_b/s_c and a fixed part
 * zc − (r_a·za + r_b·zb) in float32, then fma(a, r_a, fma(b, r_b, fixed)) rounded half to even
 * (a scalar operand is folded into the fixed part first).
 */
const qlinearAddOp: OpImpl = (node, inputs) =>
  qlinearBinary(node, inputs, (sa, za, sb, zb, sc, zc, scalarA, scalarB) => {
    const ra = f32(sa / sc), rb = f32(sb / sc);
    const fixed = f32(zc - f32(f32(ra * za) + f32(rb * zb)));
    if (scalarA) return (a, b) => roundHalfEven(f32(b * rb + f32(fixed + f32(a * ra))));
    if (scalarB) return (a, b) => roundHalfEven(f32(a * ra + f32(fixed + f32(b * rb))));
    return (a, b) => roundHalfEven(f32(a * ra + f32(b * rb + fixed)));
  });

/** QLinearMul as MLAS computes it: exact (a−za)(b−zb), times f32(f32(sa·sb)/sc), plus zc, in float32. */
const qlinearMulOp: OpImpl = (node, inputs) =>
  qlinearBinary(node, inputs, (sa, za, sb, zb, sc, zc) => {
    const ratio = f32(f32(sa * sb) / sc);
    return (a, b) => roundHalfEven(f32(f32((a - za) * (b - zb) * ratio) + zc));
  });

export const qoperatorOps: OpTable = {
  ConvInteger: convIntegerOp,
  MatMulInteger: matMulIntegerOp,
  QLinearConv: qlinearConvOp,
  QLinearMatMul: qlinearMatMulOp,
  QLinearAdd: qlinearAddOp,
  QLinearMul: qlinearMulOp,
};
