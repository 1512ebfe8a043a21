// Neural-network ONNX ops: Gemm/MatMul, convolution and pooling, normalisation, softmax family,
// reductions, top-k, resizing. Sums are accumulated in float64 and rounded once on store.
import { fail } from '../../diag/index.ts';
import { attrFloat, attrFloats, attrInt, attrInts, attrString, type Node } from '../../ir/graph.ts';
import { formatShape, makeTensor, numel, nums, strides, type DType, type Tensor } from '../../ir/tensor.ts';
import { dtypeFromOnnx } from '../../onnx/tensor.ts';
import { canBroadcastTo, expandTo } from '../kernels/broadcast.ts';
import { einsum } from '../kernels/einsum.ts';
import { gridSample } from '../kernels/gridsample.ts';
import { roiAlign } from '../kernels/roialign.ts';
import { dft, melWeightMatrix, stft } from '../kernels/signal.ts';
import { tfidf } from '../kernels/tfidf.ts';
import { unravel } from '../kernels/layout.ts';
import { matmulAccumulate } from '../kernels/matmul.ts';
import { recurrent, type CellKind } from '../kernels/recurrent.ts';
import { reduceAxes, reducers } from '../kernels/reduce.ts';
import { resize, type ResizeSpec } from '../kernels/resize.ts';
import { intsOf, need, normAxes, normAxis, prod, storer } from '../kernels/util.ts';
import { convAccumulate, window3, windowOf, type Window } from '../kernels/window.ts';
import type { OpImpl, OpTable } from '../op-types.ts';

type Inputs = (Tensor | undefined)[];

/** A tensor of `dtype` holding float64 results, each stored (rounded/wrapped) once. */
function fromF64(dtype: DType, shape: number[], data: ArrayLike<number>): Tensor {
  const out = makeTensor(dtype, shape);
  const o = nums(out);
  const st = storer(dtype);
  if (st) for (let i = 0; i < o.length; i++) o[i] = st(data[i]);
  else o.set(data as Float64Array);
  return out;
}

// ---- Gemm / MatMul --------------------------------------------------------------------------------

function gemm(node: Node, inputs: Inputs): Tensor[] {
  const A = need(node, inputs, 0, 'A');
  const B = need(node, inputs, 1, 'B');
  const C = inputs[2];
  if (A.shape.length !== 2 || B.shape.length !== 2) fail('ShapeMismatch', `Gemm A and B must be 2-D, not ${formatShape(A.shape)} and ${formatShape(B.shape)}`);
  const tA = attrInt(node, 'transA', 0) !== 0;
  const tB = attrInt(node, 'transB', 0) !== 0;
  const alpha = attrFloat(node, 'alpha', 1);
  const beta = attrFloat(node, 'beta', 1);
  const [M, K] = tA ? [A.shape[1], A.shape[0]] : A.shape;
  const [K2, N] = tB ? [B.shape[1], B.shape[0]] : B.shape;
  if (K !== K2) fail('ShapeMismatch', `Gemm inner dims must agree, not A ${formatShape(A.shape)}${tA ? 'ᵀ' : ''} x B ${formatShape(B.shape)}${tB ? 'ᵀ' : ''}`);
  const a = nums(A);
  const b = nums(B);
  let c: Float64Array | undefined;
  if (C) {
    if (!canBroadcastTo(C.shape, [M, N])) fail('ShapeMismatch', `Gemm C ${formatShape(C.shape)} must broadcast to [${M},${N}]`);
    c = expandTo(C, [M, N]);
  }
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[tA ? k * M + i : i * K + k] * b[tB ? j * K + k : k * N + j];
      out[i * N + j] = alpha * s + (c ? beta * c[i * N + j] : 0);
    }
  }
  return [fromF64(A.dtype, [M, N], out)];
}

function matmul(node: Node, inputs: Inputs): Tensor[] {
  const A = need(node, inputs, 0, 'A');
  const B = need(node, inputs, 1, 'B');
  const r = matmulAccumulate(nums(A), A.shape, nums(B), B.shape);
  return [fromF64(A.dtype, r.shape, r.data)];
}

// ---- convolution and pooling ---------------------------------------------------------------------

function kernelShape(node: Node, fallback: number[]): number[] {
  return node.attrs.kernel_shape ? attrInts(node, 'kernel_shape') : fallback;
}

function conv(node: Node, inputs: Inputs): Tensor[] {
  const X = need(node, inputs, 0, 'X');
  const W = need(node, inputs, 1, 'W');
  const Bias = inputs[2];
  if (X.shape.length < 3 || W.shape.length !== X.shape.length) fail('ShapeMismatch', `Conv X and W must have the same rank >= 3, not ${formatShape(X.shape)} and ${formatShape(W.shape)}`);
  const group = attrInt(node, 'group', 1);
  if (group < 1) fail('BadAttribute', `Conv group must be >= 1, not ${group}`);
  const win = windowOf(node, X.shape.slice(2), kernelShape(node, W.shape.slice(2)), false);
  if (win.kernel.some((k, i) => k !== W.shape[2 + i])) fail('ShapeMismatch', `Conv kernel_shape [${win.kernel.join(',')}] must match the weight ${formatShape(W.shape)}`);
  const M = W.shape[0];
  if (Bias && numel(Bias.shape) !== M) fail('ShapeMismatch', `Conv bias must have ${M} elements, not ${formatShape(Bias.shape)}`);
  const acc = convAccumulate(nums(X), X.shape, nums(W), W.shape, Bias ? nums(Bias) : undefined, win, group);
  return [fromF64(X.dtype, [X.shape[0], M, ...win.outSpatial], acc)];
}

function convTranspose(node: Node, inputs: Inputs): Tensor[] {
  const X = need(node, inputs, 0, 'X');
  const W = need(node, inputs, 1, 'W');
  const Bias = inputs[2];
  const rank = X.shape.length - 2;
  if (rank < 1 || rank > 3 || W.shape.length !== X.shape.length) fail('ShapeMismatch', `ConvTranspose X and W must have the same rank 3..5, not ${formatShape(X.shape)} and ${formatShape(W.shape)}`);
  const group = attrInt(node, 'group', 1);
  const [N, C] = X.shape;
  if (W.shape[0] !== C || C % group !== 0) fail('ShapeMismatch', `ConvTranspose weight ${formatShape(W.shape)} must have ${C} input channels divisible by group ${group}`);
  const Mg = W.shape[1];
  const M = Mg * group;
  const Cg = C / group;
  const inSp = X.shape.slice(2);
  const kernel = kernelShape(node, W.shape.slice(2));
  const ones = inSp.map(() => 1);
  const strides = attrInts(node, 'strides', ones);
  const dil = attrInts(node, 'dilations', ones);
  const outPad = attrInts(node, 'output_padding', inSp.map(() => 0));
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const eff = kernel.map((k, i) => (k - 1) * dil[i] + 1);
  const full = inSp.map((n, i) => strides[i] * (n - 1) + outPad[i] + eff[i]);
  let padsB: number[];
  let padsE: number[];
  let outSp: number[];
  const outputShape = node.attrs.output_shape ? attrInts(node, 'output_shape').slice(-rank) : undefined;
  if (outputShape || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    outSp = outputShape ?? inSp.map((n, i) => n * strides[i]);
    const total = full.map((f, i) => Math.max(0, f - outSp[i]));
    // As the ONNX spec: SAME_LOWER puts the odd pad at the start, otherwise it goes at the end.
    padsB = total.map((t) => (autoPad === 'SAME_LOWER' ? t - Math.floor(t / 2) : Math.floor(t / 2)));
    padsE = total.map((t, i) => t - padsB[i]);
  } else {
    const pads = autoPad === 'VALID' ? new Array<number>(2 * rank).fill(0) : attrInts(node, 'pads', new Array<number>(2 * rank).fill(0));
    padsB = pads.slice(0, rank);
    padsE = pads.slice(rank);
    outSp = full.map((f, i) => f - padsB[i] - padsE[i]);
  }
  if (outSp.some((d) => d <= 0)) fail('ShapeMismatch', `ConvTranspose output would be empty ([${outSp.join(',')}]) for input ${formatShape(X.shape)} and pads [${[...padsB, ...padsE].join(',')}]`);
  const geometry = { inSpatial: inSp, outSpatial: outSp, kernel, strides, dilations: dil, padsBegin: padsB, padsEnd: padsE };
  const { inS: [D, H, Wd], outS: [OD, OH, OW], kernel: [KD, KH, KW], strides: [sd, sh, sw], dilations: [dd, dh, dw], padsBegin: [pd, ph, pw] } = window3(geometry);
  const x = nums(X);
  const w = nums(W);
  const outPlane = OD * OH * OW;
  const out = new Float64Array(N * M * outPlane);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < group; g++) {
      for (let c = 0; c < Cg; c++) {
        const ic = g * Cg + c;
        const xb = (n * C + ic) * D * H * Wd;
        for (let mo = 0; mo < Mg; mo++) {
          const m = g * Mg + mo;
          const ob = (n * M + m) * outPlane;
          const wb = (ic * Mg + mo) * KD * KH * KW;
          for (let id = 0; id < D; id++) for (let ih = 0; ih < H; ih++) for (let iw = 0; iw < Wd; iw++) {
            const xv = x[xb + (id * H + ih) * Wd + iw];
            for (let kd = 0; kd < KD; kd++) {
              const od = id * sd - pd + kd * dd;
              if (od < 0 || od >= OD) continue;
              for (let kh = 0; kh < KH; kh++) {
                const oh = ih * sh - ph + kh * dh;
                if (oh < 0 || oh >= OH) continue;
                for (let kw = 0; kw < KW; kw++) {
                  const ow = iw * sw - pw + kw * dw;
                  if (ow < 0 || ow >= OW) continue;
                  out[ob + (od * OH + oh) * OW + ow] += xv * w[wb + (kd * KH + kh) * KW + kw];
                }
              }
            }
          }
        }
      }
    }
    if (Bias) {
      const bv = nums(Bias);
      for (let m = 0; m < M; m++) for (let k = 0; k < outPlane; k++) out[(n * M + m) * outPlane + k] += bv[m];
    }
  }
  return [fromF64(X.dtype, [N, M, ...outSp], out)];
}

/** MaxPool/AveragePool over 1-3 spatial dims; MaxPool's optional second output holds flat argmax indices. */
function pool(node: Node, X: Tensor, kind: 'max' | 'avg'): Tensor[] {
  if (X.shape.length < 3) fail('ShapeMismatch', `${node.op} input must have rank >= 3, not ${formatShape(X.shape)}`);
  const win: Window = windowOf(node, X.shape.slice(2), attrInts(node, 'kernel_shape'), true);
  const [N, C] = X.shape;
  const { inS: [D, H, W], outS: [OD, OH, OW], kernel: [KD, KH, KW], strides: [sd, sh, sw], dilations: [dd, dh, dw], padsBegin: [pd, ph, pw], padsEnd: [qd, qh, qw] } = window3(win);
  const includePad = attrInt(node, 'count_include_pad', 0) !== 0;
  const colMajor = attrInt(node, 'storage_order', 0) !== 0;
  const x = nums(X);
  const outPlane = OD * OH * OW;
  const inPlane = D * H * W;
  const out = new Float64Array(N * C * outPlane);
  const arg = kind === 'max' && node.outputs.length > 1 && node.outputs[1] !== '' ? new Float64Array(out.length) : undefined;
  for (let p = 0; p < N * C; p++) {
    const xb = p * inPlane;
    for (let od = 0; od < OD; od++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
      let best = -Infinity;
      let bestAt = -1;
      let sum = 0;
      let count = 0;
      let padCount = 0;
      for (let kd = 0; kd < KD; kd++) {
        const id = od * sd - pd + kd * dd;
        // Positions in the explicit padding count for count_include_pad; beyond it (ceil_mode) never.
        if (id < -pd || id >= D + qd) continue;
        const inD = id >= 0 && id < D;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * sh - ph + kh * dh;
          if (ih < -ph || ih >= H + qh) continue;
          const inH = ih >= 0 && ih < H;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * sw - pw + kw * dw;
            if (iw < -pw || iw >= W + qw) continue;
            padCount++;
            if (!(inD && inH && iw >= 0 && iw < W)) continue;
            const at = (id * H + ih) * W + iw;
            const v = x[xb + at];
            count++;
            sum += v;
            // NaN propagates (as numpy's max); the first maximum wins ties.
            if (bestAt < 0 || v > best || (Number.isNaN(v) && !Number.isNaN(best))) {
              best = v;
              bestAt = colMajor ? id + D * (ih + H * iw) : at;
            }
          }
        }
      }
      const o = p * outPlane + (od * OH + oh) * OW + ow;
      out[o] = kind === 'max' ? best : sum / (includePad ? padCount : count);
      if (arg) arg[o] = p * inPlane + bestAt;
    }
  }
  const shape = [N, C, ...win.outSpatial];
  const res = [fromF64(X.dtype, shape, out)];
  if (arg) res.push(fromF64('int64', shape, arg));
  return res;
}

function globalPool(kind: 'max' | 'avg'): OpImpl {
  return (node, inputs) => {
    const X = need(node, inputs, 0, 'X');
    if (X.shape.length < 2) fail('ShapeMismatch', `${node.op} input must have rank >= 2, not ${formatShape(X.shape)}`);
    const plane = prod(X.shape, 2);
    const x = nums(X);
    const out = new Float64Array(X.shape[0] * X.shape[1]);
    for (let p = 0; p < out.length; p++) {
      let acc = kind === 'max' ? -Infinity : 0;
      for (let k = 0; k < plane; k++) {
        const v = x[p * plane + k];
        acc = kind === 'max' ? (v > acc || Number.isNaN(v) ? v : acc) : acc + v;
      }
      out[p] = kind === 'max' ? acc : acc / plane;
    }
    return [fromF64(X.dtype, [X.shape[0], X.shape[1], ...X.shape.slice(2).map(() => 1)], out)];
  };
}

// ---- normalisation -------------------------------------------------------------------------------

function batchNorm(node: Node, inputs: Inputs, ctx: { opset: number }): Tensor[] {
  const X = need(node, inputs, 0, 'X');
  const [scale, B, mean, vr] = [1, 2, 3, 4].map((k) => nums(need(node, inputs, k, ['scale', 'B', 'mean', 'var'][k - 1])));
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const momentum = attrFloat(node, 'momentum', 0.9);
  const training = ctx.opset >= 14 && attrInt(node, 'training_mode', 0) !== 0;
  const N = X.shape[0];
  const C = X.shape.length > 1 ? X.shape[1] : 1;
  const plane = prod(X.shape, 2);
  for (const [name, v] of [['scale', scale], ['B', B], ['mean', mean], ['var', vr]] as const) {
    if (v.length !== C) fail('ShapeMismatch', `BatchNormalization ${name} must have ${C} elements (channels of ${formatShape(X.shape)}), not ${v.length}`);
  }
  const x = nums(X);
  let useMean: ArrayLike<number> = mean;
  let useVar: ArrayLike<number> = vr;
  const extra: Tensor[] = [];
  if (training) {
    const bm = new Float64Array(C);
    const bv = new Float64Array(C);
    const cnt = N * plane;
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let n = 0; n < N; n++) for (let k = 0; k < plane; k++) s += x[(n * C + c) * plane + k];
      bm[c] = s / cnt;
      let q = 0;
      for (let n = 0; n < N; n++) for (let k = 0; k < plane; k++) q += (x[(n * C + c) * plane + k] - bm[c]) ** 2;
      bv[c] = q / cnt;
    }
    useMean = bm;
    useVar = bv;
    const runMean = Float64Array.from(mean, (m, c) => m * momentum + bm[c] * (1 - momentum));
    const runVar = Float64Array.from(vr, (v, c) => v * momentum + bv[c] * (1 - momentum));
    extra.push(fromF64(X.dtype, [C], runMean), fromF64(X.dtype, [C], runVar));
  }
  const out = new Float64Array(x.length);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const inv = 1 / Math.sqrt(useVar[c] + eps);
      const base = (n * C + c) * plane;
      for (let k = 0; k < plane; k++) out[base + k] = (x[base + k] - useMean[c]) * inv * scale[c] + B[c];
    }
  }
  return [fromF64(X.dtype, [...X.shape], out), ...extra];
}

function instanceNorm(node: Node, inputs: Inputs): Tensor[] {
  const X = need(node, inputs, 0, 'input');
  const scale = nums(need(node, inputs, 1, 'scale'));
  const B = nums(need(node, inputs, 2, 'B'));
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const [N, C] = X.shape;
  const plane = prod(X.shape, 2);
  const x = nums(X);
  const out = new Float64Array(x.length);
  for (let p = 0; p < N * C; p++) {
    const c = p % C;
    let s = 0;
    for (let k = 0; k < plane; k++) s += x[p * plane + k];
    const m = s / plane;
    let q = 0;
    for (let k = 0; k < plane; k++) q += (x[p * plane + k] - m) ** 2;
    const inv = 1 / Math.sqrt(q / plane + eps);
    for (let k = 0; k < plane; k++) out[p * plane + k] = (x[p * plane + k] - m) * inv * scale[c] + B[c];
  }
  return [fromF64(X.dtype, [...X.shape], out)];
}

function layerNorm(node: Node, inputs: Inputs): Tensor[] {
  const X = need(node, inputs, 0, 'X');
  const r = X.shape.length;
  const axis = normAxis(attrInt(node, 'axis', -1), r);
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const normShape = X.shape.slice(axis);
  const scale = expandTo(need(node, inputs, 1, 'Scale'), normShape);
  const B = inputs[2] ? expandTo(inputs[2], normShape) : undefined;
  const rows = prod(X.shape, 0, axis);
  const len = prod(X.shape, axis);
  const x = nums(X);
  const out = new Float64Array(x.length);
  const means = new Float64Array(rows);
  const invs = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let k = 0; k < len; k++) s += x[i * len + k];
    const m = s / len;
    let q = 0;
    for (let k = 0; k < len; k++) q += (x[i * len + k] - m) ** 2;
    const inv = 1 / Math.sqrt(q / len + eps);
    means[i] = m;
    invs[i] = inv;
    for (let k = 0; k < len; k++) out[i * len + k] = (x[i * len + k] - m) * inv * scale[k] + (B ? B[k] : 0);
  }
  const statShape = X.shape.map((d, a) => (a < axis ? d : 1));
  const stash: DType = attrInt(node, 'stash_type', 1) === 1 ? 'float32' : X.dtype;
  return [fromF64(X.dtype, [...X.shape], out), fromF64(stash, statShape, means), fromF64(stash, statShape, invs)];
}

function lrn(node: Node, inputs: Inputs): Tensor[] {
  const X = need(node, inputs, 0, 'X');
  const size = attrInt(node, 'size');
  const alpha = attrFloat(node, 'alpha', 1e-4);
  const beta = attrFloat(node, 'beta', 0.75);
  const bias = attrFloat(node, 'bias', 1);
  const [N, C] = X.shape;
  const plane = prod(X.shape, 2);
  const x = nums(X);
  const out = new Float64Array(x.length);
  const lo = Math.floor((size - 1) / 2);
  const hi = Math.ceil((size - 1) / 2);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let k = 0; k < plane; k++) {
    let sq = 0;
    for (let j = Math.max(0, c - lo); j <= Math.min(C - 1, c + hi); j++) sq += x[(n * C + j) * plane + k] ** 2;
    const at = (n * C + c) * plane + k;
    out[at] = x[at] / (bias + (alpha / size) * sq) ** beta;
  }
  return [fromF64(X.dtype, [...X.shape], out)];
}

// ---- reductions ----------------------------------------------------------------------------------

function reduceOp(name: string): OpImpl {
  const r = reducers[name];
  // ReduceSum took axes as an input from opset 13, the others from opset 18.
  const inputSince = name === 'ReduceSum' ? 13 : 18;
  return (node, inputs, ctx) => {
    const X = need(node, inputs, 0, 'data');
    const given = ctx.opset >= inputSince ? intsOf(inputs[1]) : node.attrs.axes ? attrInts(node, 'axes') : undefined;
    const keep = attrInt(node, 'keepdims', 1) !== 0;
    if ((!given || given.length === 0) && attrInt(node, 'noop_with_empty_axes', 0) !== 0) return [X];
    const axes = normAxes(given ?? [], X.shape.length);
    const { data, keptShape } = reduceAxes(X, axes, r);
    const all = axes.length === 0 ? X.shape.map((_, a) => a) : axes;
    const shape = keep ? keptShape : X.shape.filter((_, a) => !all.includes(a));
    return [fromF64(X.dtype, shape, data)];
  };
}

function argReduce(largest: boolean): OpImpl {
  return (node, inputs) => {
    const X = need(node, inputs, 0, 'data');
    const axis = normAxis(attrInt(node, 'axis', 0), X.shape.length);
    const keep = attrInt(node, 'keepdims', 1) !== 0;
    const last = attrInt(node, 'select_last_index', 0) !== 0;
    const outer = prod(X.shape, 0, axis);
    const inner = prod(X.shape, axis + 1);
    const dim = X.shape[axis];
    const x = nums(X);
    const out = new Float64Array(outer * inner);
    for (let o = 0; o < outer; o++) for (let j = 0; j < inner; j++) {
      let bi = 0;
      let bv = x[o * dim * inner + j];
      for (let i = 1; i < dim; i++) {
        const v = x[(o * dim + i) * inner + j];
        const better = largest ? v > bv : v < bv;
        if (better || (last && v === bv)) {
          bv = v;
          bi = i;
        }
      }
      out[o * inner + j] = bi;
    }
    const shape = keep ? X.shape.map((d, a) => (a === axis ? 1 : d)) : X.shape.filter((_, a) => a !== axis);
    return [fromF64('int64', shape, out)];
  };
}

function topK(node: Node, inputs: Inputs, ctx: { opset: number }): Tensor[] {
  const X = need(node, inputs, 0, 'X');
  const k = ctx.opset < 10 ? attrInt(node, 'k') : nums(need(node, inputs, 1, 'K'))[0];
  const axis = normAxis(attrInt(node, 'axis', -1), X.shape.length);
  const largest = attrInt(node, 'largest', 1) !== 0;
  const dim = X.shape[axis];
  if (k < 0 || k > dim) fail('ShapeMismatch', `TopK k must be in [0, ${dim}], not ${k}`);
  const outer = prod(X.shape, 0, axis);
  const inner = prod(X.shape, axis + 1);
  const x = nums(X);
  const vals = new Float64Array(outer * k * inner);
  const idxs = new Float64Array(outer * k * inner);
  for (let o = 0; o < outer; o++) for (let j = 0; j < inner; j++) {
    const order = Array.from({ length: dim }, (_, i) => i);
    const at = (i: number) => x[(o * dim + i) * inner + j];
    // Ties keep the lower index first (stable), as the spec requires.
    order.sort((a, b) => (largest ? at(b) - at(a) : at(a) - at(b)) || a - b);
    for (let t = 0; t < k; t++) {
      vals[(o * k + t) * inner + j] = at(order[t]);
      idxs[(o * k + t) * inner + j] = order[t];
    }
  }
  const shape = X.shape.map((d, a) => (a === axis ? k : d));
  return [fromF64(X.dtype, shape, vals), fromF64('int64', shape, idxs)];
}

function cumSum(node: Node, inputs: Inputs): Tensor[] {
  const X = need(node, inputs, 0, 'x');
  const axis = normAxis(nums(need(node, inputs, 1, 'axis'))[0], X.shape.length);
  const exclusive = attrInt(node, 'exclusive', 0) !== 0;
  const reverse = attrInt(node, 'reverse', 0) !== 0;
  const outer = prod(X.shape, 0, axis);
  const inner = prod(X.shape, axis + 1);
  const dim = X.shape[axis];
  const x = nums(X);
  const out = new Float64Array(x.length);
  for (let o = 0; o < outer; o++) for (let j = 0; j < inner; j++) {
    let s = 0;
    for (let t = 0; t < dim; t++) {
      const i = reverse ? dim - 1 - t : t;
      const at = (o * dim + i) * inner + j;
      if (exclusive) {
        out[at] = s;
        s += x[at];
      } else {
        s += x[at];
        out[at] = s;
      }
    }
  }
  return [fromF64(X.dtype, [...X.shape], out)];
}

// ---- softmax family ------------------------------------------------------------------------------

/**
 * Softmax, LogSoftmax, Hardmax. Before opset 13 the input is coerced to 2-D at `axis` (default 1)
 * and normalised over the flattened trailing block; from 13 over the single `axis` (default -1).
 */
function softmaxFamily(kind: 'softmax' | 'log' | 'hard'): OpImpl {
  return (node, inputs, ctx) => {
    const X = need(node, inputs, 0, 'input');
    const r = X.shape.length;
    const legacy = ctx.opset < 13;
    const axis = normAxis(attrInt(node, 'axis', legacy ? 1 : -1), r);
    const outer = prod(X.shape, 0, axis);
    const dim = legacy ? prod(X.shape, axis) : X.shape[axis];
    const inner = legacy ? 1 : prod(X.shape, axis + 1);
    const x = nums(X);
    const out = new Float64Array(x.length);
    for (let o = 0; o < outer; o++) for (let j = 0; j < inner; j++) {
      const at = (i: number) => (o * dim + i) * inner + j;
      let mx = -Infinity;
      let arg = 0;
      for (let i = 0; i < dim; i++) if (x[at(i)] > mx) {
        mx = x[at(i)];
        arg = i;
      }
      if (kind === 'hard') {
        for (let i = 0; i < dim; i++) out[at(i)] = i === arg ? 1 : 0;
        continue;
      }
      let s = 0;
      for (let i = 0; i < dim; i++) s += Math.exp(x[at(i)] - mx);
      for (let i = 0; i < dim; i++) out[at(i)] = kind === 'log' ? x[at(i)] - mx - Math.log(s) : Math.exp(x[at(i)] - mx) / s;
    }
    return [fromF64(X.dtype, [...X.shape], out)];
  };
}

// ---- losses (inference-time evaluation) ---------------------------------------------------------

/**
 * NegativeLogLikelihoodLoss on log-probabilities x [N,C,d...] and targets [N,d...]:
 * -x[n, t, d] * weight[t], ignored targets contribute 0 (also to the mean's denominator).
 */
function nllLoss(node: Node, x: ArrayLike<number>, xShape: number[], target: Tensor, weight: Tensor | undefined, dtype: DType): Tensor {
  const [N, C] = xShape;
  const inner = prod(xShape, 2);
  const tv = nums(target);
  const wv = weight ? nums(weight) : undefined;
  const reduction = attrString(node, 'reduction', 'mean');
  const ignore = node.attrs.ignore_index ? attrInt(node, 'ignore_index') : undefined;
  const loss = new Float64Array(N * inner);
  let wsum = 0;
  for (let n = 0; n < N; n++) for (let d = 0; d < inner; d++) {
    const c = tv[n * inner + d];
    if (c === ignore) continue;
    if (c < 0 || c >= C) fail('ShapeMismatch', `${node.op} target ${c} is outside [0, ${C})`);
    const w = wv ? wv[c] : 1;
    loss[n * inner + d] = -x[(n * C + c) * inner + d] * w;
    wsum += w;
  }
  if (reduction === 'none') return fromF64(dtype, [...target.shape], loss);
  const total = loss.reduce((a, b) => a + b, 0);
  if (reduction === 'sum') return fromF64(dtype, [], [total]);
  if (reduction !== 'mean') fail('BadAttribute', `${node.op} reduction must be none, sum or mean, not ${reduction}`);
  return fromF64(dtype, [], [total / wsum]);
}

function logSoftmaxAxis1(x: Tensor): Float64Array {
  const [N, C] = x.shape;
  const inner = prod(x.shape, 2);
  const v = nums(x);
  const out = new Float64Array(v.length);
  for (let n = 0; n < N; n++) for (let d = 0; d < inner; d++) {
    let mx = -Infinity;
    for (let c = 0; c < C; c++) mx = Math.max(mx, v[(n * C + c) * inner + d]);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(v[(n * C + c) * inner + d] - mx);
    const lse = mx + Math.log(s);
    for (let c = 0; c < C; c++) out[(n * C + c) * inner + d] = v[(n * C + c) * inner + d] - lse;
  }
  return out;
}

// ---- small linear algebra, signal windows, unpooling, detection -------------------------------

function det(node: Node, inputs: Inputs): Tensor[] {
  const X = need(node, inputs, 0, 'X');
  const r = X.shape.length;
  const n = X.shape[r - 1];
  if (r < 2 || X.shape[r - 2] !== n) fail('ShapeMismatch', `Det input must end in a square matrix, not ${formatShape(X.shape)}`);
  const x = nums(X);
  const batch = prod(X.shape, 0, r - 2);
  const out = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    const a = Array.from(x.subarray(b * n * n, (b + 1) * n * n));
    let d = 1;
    // Gaussian elimination with partial pivoting.
    for (let c = 0; c < n; c++) {
      let p = c;
      for (let i = c + 1; i < n; i++) if (Math.abs(a[i * n + c]) > Math.abs(a[p * n + c])) p = i;
      if (a[p * n + c] === 0) { d = 0; break; }
      if (p !== c) {
        for (let j = 0; j < n; j++) [a[c * n + j], a[p * n + j]] = [a[p * n + j], a[c * n + j]];
        d = -d;
      }
      d *= a[c * n + c];
      for (let i = c + 1; i < n; i++) {
        const f = a[i * n + c] / a[c * n + c];
        for (let j = c; j < n; j++) a[i * n + j] -= f * a[c * n + j];
      }
    }
    out[b] = d;
  }
  return [fromF64(X.dtype, X.shape.slice(0, r - 2), out)];
}

/** Hann/Hamming/Blackman windows (opset 17): cosine sums over n / N, N = size (periodic) or size - 1. */
function signalWindow(coeffs: number[]): OpImpl {
  return (node, inputs) => {
    const size = nums(need(node, inputs, 0, 'size'))[0];
    const periodic = attrInt(node, 'periodic', 1) !== 0;
    const dtype = dtypeFromOnnx(attrInt(node, 'output_datatype', 1), `${node.op} output_datatype`);
    const N = periodic ? size : size - 1;
    const out = new Float64Array(size);
    for (let i = 0; i < size; i++) out[i] = coeffs.reduce((s, c, k) => s + c * Math.cos((2 * Math.PI * k * i) / N), 0);
    return [fromF64(dtype, [size], out)];
  };
}

function maxUnpool(node: Node, inputs: Inputs): Tensor[] {
  const X = need(node, inputs, 0, 'X');
  const I = nums(need(node, inputs, 1, 'I'));
  const kernel = attrInts(node, 'kernel_shape');
  const rank = kernel.length;
  const stride = attrInts(node, 'strides', kernel.map(() => 1));
  const pads = attrInts(node, 'pads', new Array<number>(2 * rank).fill(0));
  const natural = [X.shape[0], X.shape[1], ...X.shape.slice(2).map((d, i) => (d - 1) * stride[i] + kernel[i] - pads[i] - pads[i + rank])];
  // Indices address the natural (unpadded) output; a larger output_shape extends it at the end.
  const shape = intsOf(inputs[2]) ?? natural;
  if (shape.length !== natural.length || shape.some((d, a) => d < natural[a])) fail('ShapeMismatch', `MaxUnpool output_shape [${shape.join(',')}] must be at least ${formatShape(natural)}`);
  const out = new Float64Array(numel(shape));
  const outStr = strides(shape);
  const idx = new Array<number>(shape.length).fill(0);
  const x = nums(X);
  const n = numel(natural);
  for (let k = 0; k < x.length; k++) {
    if (I[k] < 0 || I[k] >= n) fail('ShapeMismatch', `MaxUnpool index ${I[k]} is outside the unpooled tensor of ${n} elements`);
    unravel(I[k], natural, idx);
    out[idx.reduce((s, c, a) => s + c * outStr[a], 0)] = x[k];
  }
  return [fromF64(X.dtype, shape, out)];
}

/** NonMaxSuppression: per batch and class, greedy selection by score, dropping boxes with IoU > threshold. */
function nonMaxSuppression(node: Node, inputs: Inputs): Tensor[] {
  const boxes = need(node, inputs, 0, 'boxes');
  const scores = need(node, inputs, 1, 'scores');
  const maxOut = inputs[2] && numel(inputs[2].shape) ? nums(inputs[2])[0] : 0;
  const iouTh = inputs[3] && numel(inputs[3].shape) ? nums(inputs[3])[0] : 0;
  const scoreTh = inputs[4] && numel(inputs[4].shape) ? nums(inputs[4])[0] : -Infinity;
  const center = attrInt(node, 'center_point_box', 0) !== 0;
  const [B, Nb] = boxes.shape;
  const C = scores.shape[1];
  const bv = nums(boxes);
  const sv = nums(scores);
  const corners = (b: number, i: number): [number, number, number, number] => {
    const o = (b * Nb + i) * 4;
    if (center) {
      const [xc, yc, w, h] = [bv[o], bv[o + 1], bv[o + 2], bv[o + 3]];
      return [yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2];
    }
    const [y1, x1, y2, x2] = [bv[o], bv[o + 1], bv[o + 2], bv[o + 3]];
    return [Math.min(y1, y2), Math.min(x1, x2), Math.max(y1, y2), Math.max(x1, x2)];
  };
  const iou = (a: number[], b: number[]) => {
    const ih = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
    const iw = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
    const inter = ih * iw;
    const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    return union > 0 ? inter / union : 0;
  };
  const sel: number[] = [];
  for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) {
    const score = (i: number) => sv[(b * C + c) * Nb + i];
    const cand = Array.from({ length: Nb }, (_, i) => i).filter((i) => score(i) > scoreTh).sort((p, q) => score(q) - score(p) || p - q);
    const kept: number[] = [];
    for (const i of cand) {
      if (kept.length >= maxOut) break;
      const bi = corners(b, i);
      if (kept.every((j) => iou(bi, corners(b, j)) <= iouTh)) kept.push(i);
    }
    for (const i of kept) sel.push(b, c, i);
  }
  return [makeTensor('int64', [sel.length / 3, 3], sel)];
}

// ---- recurrent layers -----------------------------------------------------------------------------

function recurrentOp(kind: CellKind): OpImpl {
  return (node, inputs) => {
    const X = need(node, inputs, 0, 'X');
    need(node, inputs, 1, 'W');
    need(node, inputs, 2, 'R');
    const r = recurrent(kind, node, inputs);
    const { seq, batch, hidden, dirs } = r;
    if (attrInt(node, 'layout', 0) === 0) {
      const outs = [fromF64(X.dtype, [seq, dirs, batch, hidden], r.Y), fromF64(X.dtype, [dirs, batch, hidden], r.Yh)];
      return kind === 'LSTM' ? [...outs, fromF64(X.dtype, [dirs, batch, hidden], r.Yc)] : outs;
    }
    // layout 1: Y [batch, seq, dirs, hidden], states [batch, dirs, hidden].
    const y = new Float64Array(r.Y.length);
    for (let t = 0; t < seq; t++) for (let d = 0; d < dirs; d++) for (let b = 0; b < batch; b++) for (let j = 0; j < hidden; j++) {
      y[((b * seq + t) * dirs + d) * hidden + j] = r.Y[((t * dirs + d) * batch + b) * hidden + j];
    }
    const state = (v: Float64Array) => {
      const o = new Float64Array(v.length);
      for (let d = 0; d < dirs; d++) for (let b = 0; b < batch; b++) for (let j = 0; j < hidden; j++) o[(b * dirs + d) * hidden + j] = v[(d * batch + b) * hidden + j];
      return fromF64(X.dtype, [batch, dirs, hidden], o);
    };
    const outs = [fromF64(X.dtype, [batch, seq, dirs, hidden], y), state(r.Yh)];
    return kind === 'LSTM' ? [...outs, state(r.Yc)] : outs;
  };
}

// ---- resizing ------------------------------------------------------------------------------------

function resizeOp(node: Node, inputs: Inputs, ctx: { opset: number }): Tensor[] {
  const X = need(node, inputs, 0, 'X');
  const rank = X.shape.length;
  const legacy = ctx.opset < 11; // Resize-10: (X, scales), asymmetric coordinates
  const scalesT = legacy ? inputs[1] : inputs[2];
  const sizesT = legacy ? undefined : inputs[3];
  let scales = scalesT && numel(scalesT.shape) > 0 ? Array.from(nums(scalesT)) : undefined;
  const sizes = sizesT && numel(sizesT.shape) > 0 ? Array.from(nums(sizesT)) : undefined;
  const axes = node.attrs.axes ? normAxes(attrInts(node, 'axes'), rank) : X.shape.map((_, a) => a);
  let outShape: number[];
  if (sizes) {
    if (sizes.length !== axes.length) fail('ShapeMismatch', `Resize sizes must have ${axes.length} values, not ${sizes.length}`);
    outShape = [...X.shape];
    axes.forEach((a, i) => (outShape[a] = sizes[i]));
    scales = outShape.map((d, a) => d / X.shape[a]);
    const policy = attrString(node, 'keep_aspect_ratio_policy', 'stretch');
    if (policy !== 'stretch') {
      const pick = policy === 'not_larger' ? Math.min : Math.max;
      const s = pick(...axes.map((a) => outShape[a] / X.shape[a]));
      axes.forEach((a) => {
        outShape[a] = Math.round(X.shape[a] * s);
        scales![a] = s;
      });
    }
  } else if (scales) {
    if (scales.length !== axes.length) fail('ShapeMismatch', `Resize scales must have ${axes.length} values, not ${scales.length}`);
    const full = X.shape.map(() => 1);
    axes.forEach((a, i) => (full[a] = scales![i]));
    scales = full;
    outShape = X.shape.map((d, a) => Math.floor(d * scales![a]));
  } else {
    fail('BadAttribute', 'Resize needs scales or sizes');
  }
  if (attrInt(node, 'antialias', 0) !== 0) fail('BadAttribute', 'Resize antialias=1 is not supported');
  const roiT = legacy ? undefined : inputs[1];
  const spec: ResizeSpec = {
    mode: attrString(node, 'mode', 'nearest'),
    coord: legacy ? 'asymmetric' : attrString(node, 'coordinate_transformation_mode', 'half_pixel'),
    nearestMode: legacy ? 'simple' : attrString(node, 'nearest_mode', 'round_prefer_floor'),
    cubicA: attrFloat(node, 'cubic_coeff_a', -0.75),
    excludeOutside: attrInt(node, 'exclude_outside', 0) !== 0,
    extrapolation: attrFloat(node, 'extrapolation_value', 0),
    roi: roiT && numel(roiT.shape) > 0 ? Array.from(nums(roiT)) : undefined,
  };
  return [resize(X, outShape, scales, spec)];
}

function upsample(node: Node, inputs: Inputs, ctx: { opset: number }): Tensor[] {
  const X = need(node, inputs, 0, 'X');
  const scales = ctx.opset < 9 ? attrFloats(node, 'scales') : Array.from(nums(need(node, inputs, 1, 'scales')));
  if (scales.length !== X.shape.length) fail('ShapeMismatch', `Upsample scales must have ${X.shape.length} values, not ${scales.length}`);
  const mode = attrString(node, 'mode', 'nearest');
  const spec: ResizeSpec = {
    mode: mode === 'bilinear' ? 'linear' : mode,
    coord: 'asymmetric', nearestMode: 'floor', cubicA: -0.75, excludeOutside: false, extrapolation: 0,
  };
  return [resize(X, X.shape.map((d, a) => Math.floor(d * scales[a])), scales, spec)];
}

// ---- dropout -------------------------------------------------------------------------------------

function dropout(node: Node, inputs: Inputs, ctx: { opset: number }): Tensor[] {
  const X = need(node, inputs, 0, 'data');
  const ratio = ctx.opset >= 12 ? (inputs[1] ? nums(inputs[1])[0] : 0.5) : attrFloat(node, 'ratio', 0.5);
  const training = ctx.opset >= 12 ? (inputs[2] ? nums(inputs[2])[0] !== 0 : false) : ctx.opset < 7 && attrInt(node, 'is_test', 0) === 0;
  // Training-mode dropout is random; with ratio 0 it is the identity, which kiln can execute.
  if (training && ratio !== 0) fail('BadAttribute', `Dropout in training mode (ratio ${ratio}) is random; kiln executes inference only`);
  const maskType: DType = ctx.opset >= 10 ? 'bool' : X.dtype;
  const mask = makeTensor(maskType, [...X.shape]);
  nums(mask).fill(1);
  return [X, mask];
}

function mvn(node: Node, inputs: Inputs): Tensor[] {
  const X = need(node, inputs, 0, 'X');
  const axes = normAxes(attrInts(node, 'axes', [0, 2, 3]), X.shape.length);
  const m = reduceAxes(X, axes, reducers.ReduceMean);
  const sq = reduceAxes({ ...X, data: Float64Array.from(nums(X), (v) => v * v) }, axes, reducers.ReduceMean);
  const shape = m.keptShape;
  const x = nums(X);
  const meanB = expandTo(makeTensor('float64', shape, m.data), X.shape);
  const sqB = expandTo(makeTensor('float64', shape, sq.data), X.shape);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (x[i] - meanB[i]) / (Math.sqrt(sqB[i] - meanB[i] * meanB[i]) + 1e-9);
  return [fromF64(X.dtype, [...X.shape], out)];
}

export const nnOps: OpTable = {
  Gemm: gemm,
  MatMul: matmul,
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: (node, inputs) => pool(node, need(node, inputs, 0, 'X'), 'max'),
  AveragePool: (node, inputs) => pool(node, need(node, inputs, 0, 'X'), 'avg'),
  GlobalAveragePool: globalPool('avg'),
  GlobalMaxPool: globalPool('max'),
  BatchNormalization: batchNorm,
  InstanceNormalization: instanceNorm,
  LayerNormalization: layerNorm,
  LRN: lrn,
  MeanVarianceNormalization: mvn,
  Softmax: softmaxFamily('softmax'),
  LogSoftmax: softmaxFamily('log'),
  Hardmax: softmaxFamily('hard'),
  ...Object.fromEntries(Object.keys(reducers).map((k) => [k, reduceOp(k)])),
  ArgMax: argReduce(true),
  ArgMin: argReduce(false),
  TopK: topK,
  CumSum: cumSum,
  Resize: resizeOp,
  Upsample: upsample,
  Dropout: dropout,
  TfIdfVectorizer: (node, inputs) => {
    const r = tfidf(node, need(node, inputs, 0, 'X'));
    return [fromF64('float32', r.shape, r.data)];
  },
  DFT: (node, inputs) => {
    const X = need(node, inputs, 0, 'input');
    const len = inputs[1] && numel(inputs[1].shape) ? nums(inputs[1])[0] : undefined;
    const axis = attrInt(node, 'axis', 1);
    const r = dft(X, axis < 0 ? axis + X.shape.length : axis, len, attrInt(node, 'inverse', 0) !== 0, attrInt(node, 'onesided', 0) !== 0);
    return [fromF64(X.dtype, r.shape, r.data)];
  },
  STFT: (node, inputs) => {
    const X = need(node, inputs, 0, 'signal');
    const step = nums(need(node, inputs, 1, 'frame_step'))[0];
    const win = inputs[2] ? nums(inputs[2]) : undefined;
    const frameLength = inputs[3] ? nums(inputs[3])[0] : win ? win.length : fail('BadAttribute', 'STFT needs a window or a frame_length');
    const r = stft(X, step, win, frameLength, attrInt(node, 'onesided', 1) !== 0);
    return [fromF64(X.dtype, r.shape, r.data)];
  },
  MelWeightMatrix: (node, inputs) => {
    const [nm, dl, sr, lo, hi] = [0, 1, 2, 3, 4].map((k) => nums(need(node, inputs, k, 'mel parameter'))[0]);
    const r = melWeightMatrix(nm, dl, sr, lo, hi);
    return [fromF64(dtypeFromOnnx(attrInt(node, 'output_datatype', 1), 'MelWeightMatrix output_datatype'), r.shape, r.data)];
  },
  RoiAlign: (node, inputs, ctx) => {
    const X = need(node, inputs, 0, 'X');
    const r = roiAlign(X, need(node, inputs, 1, 'rois'), need(node, inputs, 2, 'batch_indices'), {
      // opset 16 added coordinate_transformation_mode (default half_pixel); opset 10 behaved as output_half_pixel.
      halfPixel: ctx.opset >= 16 && attrString(node, 'coordinate_transformation_mode', 'half_pixel') === 'half_pixel',
      mode: attrString(node, 'mode', 'avg'),
      outH: attrInt(node, 'output_height', 1),
      outW: attrInt(node, 'output_width', 1),
      samplingRatio: attrInt(node, 'sampling_ratio', 0),
      spatialScale: attrFloat(node, 'spatial_scale', 1),
    });
    return [fromF64(X.dtype, r.shape, r.data)];
  },
  GridSample: (node, inputs) => {
    const X = need(node, inputs, 0, 'X');
    const r = gridSample(X, need(node, inputs, 1, 'grid'), {
      mode: attrString(node, 'mode', 'bilinear'),
      padding: attrString(node, 'padding_mode', 'zeros'),
      alignCorners: attrInt(node, 'align_corners', 0) !== 0,
    });
    return [fromF64(X.dtype, r.shape, r.data)];
  },
  RNN: recurrentOp('RNN'),
  GRU: recurrentOp('GRU'),
  LSTM: recurrentOp('LSTM'),
  Det: det,
  Einsum: (node, inputs) => [einsum(attrString(node, 'equation'), inputs.filter((t): t is Tensor => t !== undefined))],
  HannWindow: signalWindow([0.5, -0.5]),
  HammingWindow: signalWindow([25 / 46, -21 / 46]),
  BlackmanWindow: signalWindow([0.42, -0.5, 0.08]),
  MaxUnpool: maxUnpool,
  NonMaxSuppression: nonMaxSuppression,
  NegativeLogLikelihoodLoss: (node, inputs) => {
    const x = need(node, inputs, 0, 'input');
    return [nllLoss(node, nums(x), x.shape, need(node, inputs, 1, 'target'), inputs[2], x.dtype)];
  },
  SoftmaxCrossEntropyLoss: (node, inputs) => {
    const x = need(node, inputs, 0, 'scores');
    const logp = logSoftmaxAxis1(x);
    const loss = nllLoss(node, logp, x.shape, need(node, inputs, 1, 'labels'), inputs[2], x.dtype);
    return [loss, fromF64(x.dtype, [...x.shape], logp)];
  },
};
