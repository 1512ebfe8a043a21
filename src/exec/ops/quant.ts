// Quantizers, emulated exactly:
//  - QONNX Quant/IntQuant, BipolarQuant, Trunc (v1 and v2) and FINN MultiThreshold, following the
//    numpy reference implementations in qonnx (src/qonnx/custom_op/general/*.py): float32
//    arithmetic step by step, clip BEFORE round, round half to even by default.
//  - ONNX QuantizeLinear / DequantizeLinear (opsets 10–21): per-tensor, per-axis and blocked,
//    computed the way onnxruntime's CPU kernels do (x/s in float32, round half to even, saturate).
//  - qonnx channels_last Conv/MaxPool/BatchNormalization/AveragePool wrappers (NHWC data, OHWI
//    weights): transpose to channels-first, run the standard op, transpose back.
import { fail } from '../../diag/index.ts';
import { attrFloat, attrInt, attrString, type Node } from '../../ir/graph.ts';
import { INT_RANGES, makeTensor, numel, nums, sameShape, strides, type DType, type Tensor } from '../../ir/tensor.ts';
import { broadcastIndex, broadcastShapes, expandTo } from '../kernels/broadcast.ts';
import { transpose } from '../kernels/layout.ts';
import { roundHalfEven } from '../kernels/round.ts';
import { need } from '../kernels/util.ts';
import type { ExecContext, OpImpl, OpTable } from '../op-types.ts';

// ---- shared helpers (also used by qoperator.ts) -------------------------------------------------

/** Rounds a float32 result; identity when the computation is float64 (as numpy would do it). */
export type FloatRound = (v: number) => number;
const identity: FloatRound = (v) => v;

/** numpy's result precision for arithmetic on these tensors: float64 if any is float64. */
export function floatRoundFor(...ts: Tensor[]): FloatRound {
  return ts.some((t) => t.dtype === 'float64') ? identity : Math.fround;
}

/**
 * The rounding modes of qonnx's resolve_rounding_mode (case-insensitive). ROUND_TO_ZERO is Brevitas'
 * name for DOWN. HALF_UP/HALF_DOWN add ±0.5 in the working precision, exactly as numpy does.
 */
export function roundingFunction(mode: string, f: FloatRound, node?: Node): (v: number) => number {
  switch (mode.toUpperCase()) {
    case 'ROUND': case 'HALF_EVEN': return roundHalfEven;
    case 'CEIL': return Math.ceil;
    case 'FLOOR': return Math.floor;
    case 'UP': return (v) => Math.sign(v) * Math.ceil(Math.abs(v));
    case 'DOWN': case 'ROUND_TO_ZERO': return Math.trunc;
    case 'HALF_UP': return (v) => Math.sign(v) * Math.floor(f(Math.abs(v) + 0.5));
    case 'HALF_DOWN': return (v) => Math.sign(v) * Math.ceil(f(Math.abs(v) - 0.5));
    default:
      fail('BadAttribute', `attribute 'rounding_mode' of ${node?.op ?? 'Quant'} must be one of ROUND, HALF_EVEN, CEIL, FLOOR, UP, DOWN, ROUND_TO_ZERO, HALF_UP, HALF_DOWN, not '${mode}'`, node?.name);
  }
}

/** qonnx min_int/max_int: the integer range of a (signed, narrow) bit width. */
export function qonnxIntRange(signed: boolean, narrow: boolean, bits: number): [number, number] {
  const lo = signed ? -(2 ** (bits - 1)) + (narrow ? 1 : 0) : 0;
  const hi = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1 - (narrow ? 1 : 0);
  return [lo, hi];
}

/** How an operand broadcast to `shape` is read at flat index i: a constant, element i, or via an index. */
export function reader(t: Tensor, shape: number[]): (i: number) => number {
  const v = nums(t);
  if (v.length === 1) {
    const c = v[0];
    return () => c;
  }
  if (sameShape(t.shape, shape)) return (i) => v[i];
  const idx = broadcastIndex(t.shape, shape);
  return (i) => v[idx[i]];
}

/** The first `count` inputs, each required (names for the error message). */
export function needAll(node: Node, inputs: (Tensor | undefined)[], names: string[]): Tensor[] {
  return names.map((what, k) => need(node, inputs, k, what));
}

// ---- QONNX --------------------------------------------------------------------------------------

/** Bit widths kiln's quantizers take (qonnx leaves them open; wider ones lose exactness in float). */
export const QUANT_BITS = { min: 1, max: 32 };

/** Trunc's inputs by count: v1 (5), qonnx v2 (6: with out_scale), kiln's 7 (and out_zeropt). */
const TRUNC_INPUTS: Record<number, string[]> = {
  5: ['x', 'scale', 'zeropt', 'in_bitwidth', 'out_bitwidth'],
  6: ['x', 'scale', 'zeropt', 'in_bitwidth', 'out_scale', 'out_bitwidth'],
  7: ['x', 'scale', 'zeropt', 'in_bitwidth', 'out_scale', 'out_zeropt', 'out_bitwidth'],
};

/** Where each quantizer keeps its scales, zero points and bit widths: input indices, and the inputs' names. */
export function quantizerParams(node: Node): { scales: number[]; zeroPoints: number[]; bits: number[]; names: string[] } | undefined {
  const idx = (names: string[], pick: (n: string) => boolean) => names.flatMap((n, i) => (pick(n) ? [i] : []));
  const of = (names: string[], zeroPoints: number[] = []) => ({ scales: idx(names, (n) => n.endsWith('scale')), zeroPoints, bits: idx(names, (n) => n.endsWith('bitwidth')), names });
  switch (node.op) {
    case 'Quant': case 'IntQuant': return of(['x', 'scale', 'zeropt', 'bitwidth']);
    case 'BipolarQuant': return of(['x', 'scale']);
    case 'Trunc': return TRUNC_INPUTS[node.inputs.length] && of(TRUNC_INPUTS[node.inputs.length]);
    // ONNX: the zero point is stored in the quantized type itself, so its type must be one kiln has.
    case 'QuantizeLinear': return of(['x', 'y_scale', 'y_zero_point'], [2]);
    case 'DequantizeLinear': return of(['x', 'x_scale', 'x_zero_point'], [2]);
    default: return undefined;
  }
}

/** The first bad value among a quantizer's scale (positive, finite), zero point (in its integer type's range) or bit width (integer in range) inputs. */
export function quantizerProblem(node: Node, input: number, t: Tensor): string | undefined {
  const p = quantizerParams(node);
  if (!p || t.dtype === 'string') return undefined;
  const what = p.names[input] === 'bitwidth' ? 'bit width' : p.names[input];
  const values = nums(t);
  if (p.zeroPoints.includes(input)) {
    const range = INT_RANGES[t.dtype];
    if (!range) return `${what} of ${node.op} must be an integer tensor (${Object.keys(INT_RANGES).join(', ')}), not ${t.dtype}`;
    const v = Array.prototype.find.call(values, (x: number) => !(Number.isInteger(x) && x >= range[0] && x <= range[1])) as number | undefined;
    return v === undefined ? undefined : `${what} of ${node.op} must be in ${t.dtype}'s range ${range[0]} to ${range[1]}, not ${v}`;
  }
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (p.scales.includes(input) && !(Number.isFinite(v) && v > 0)) return `${what} of ${node.op} must be positive and finite, not ${v}`;
    if (p.bits.includes(input) && !(Number.isInteger(v) && v >= QUANT_BITS.min && v <= QUANT_BITS.max)) {
      return `${what} of ${node.op} must be an integer from ${QUANT_BITS.min} to ${QUANT_BITS.max}, not ${v}`;
    }
  }
  return undefined;
}

/** Throws the first bad scale or bit width among a quantizer's inputs. */
function checkQuantizer(node: Node, inputs: (Tensor | undefined)[]): void {
  const p = quantizerParams(node);
  if (!p) return;
  for (const k of [...p.scales, ...p.zeroPoints, ...p.bits]) {
    const t = inputs[k];
    const problem = t && quantizerProblem(node, k, t);
    if (problem) fail('BadAttribute', problem, node.name);
  }
}

/** QONNX Quant / IntQuant: y = (round(clip(x/s + z, min, max)) − z)·s, per qonnx int_quant(). */
const quantOp: OpImpl = (node, inputs) => {
  const [x, s, z, b] = needAll(node, inputs, ['x', 'scale', 'zeropt', 'bitwidth']);
  checkQuantizer(node, inputs);
  const signed = attrInt(node, 'signed', 1) !== 0;
  const narrow = attrInt(node, 'narrow', 0) !== 0;
  const f = floatRoundFor(x, s, z);
  const round = roundingFunction(attrString(node, 'rounding_mode', 'ROUND'), f, node);
  // Validate each distinct bit width once; lo > hi marks the bipolar case.
  const ranges = new Map<number, [number, number]>();
  for (const bits of nums(b)) {
    if (ranges.has(bits)) continue;
    // qonnx: a 1-bit signed Quant is bipolar (±1), not {-1, 0}.
    ranges.set(bits, bits === 1 && signed ? [1, -1] : qonnxIntRange(signed, narrow, bits));
  }
  const shape = broadcastShapes([x.shape, s.shape, z.shape, b.shape]);
  const [xr, sr, zr, br] = [x, s, z, b].map((t) => reader(t, shape));
  const out = makeTensor('float32', shape);
  const y = out.data as Float32Array;
  const only = ranges.size === 1 ? [...ranges.values()][0] : undefined;
  let lo = only ? only[0] : 0, hi = only ? only[1] : 0;
  for (let i = 0; i < y.length; i++) {
    if (!only) [lo, hi] = ranges.get(br(i))!;
    const sv = sr(i), zv = zr(i);
    let q = f(f(xr(i) / sv) + zv);
    if (lo > hi) q = q >= 0 ? 1 : -1;
    else q = round(q > hi ? hi : q < lo ? lo : q);
    y[i] = f(f(q - zv) * sv);
  }
  return [out];
};

/** QONNX BipolarQuant: y = (x >= 0 ? +1 : −1)·s. */
const bipolarQuantOp: OpImpl = (node, inputs) => {
  const [x, s] = needAll(node, inputs, ['x', 'scale']);
  checkQuantizer(node, inputs);
  const f = floatRoundFor(x, s);
  const shape = broadcastShapes([x.shape, s.shape]);
  const [xv, sv] = [x, s].map((t) => expandTo(t, shape));
  const out = makeTensor(x.dtype === 'float64' || s.dtype === 'float64' ? 'float64' : 'float32', shape);
  const y = nums(out);
  for (let i = 0; i < y.length; i++) y[i] = f((xv[i] >= 0 ? 1 : -1) * sv[i]);
  return [out];
};

/**
 * QONNX Trunc. v1 (5 inputs: x, scale, zeropt, in_bits, out_bits): drop in_bits − out_bits LSBs,
 * rescale by the INPUT scale (as qonnx's reference does). v2 (7 inputs: …, in_bits, out_scale,
 * out_zeropt, out_bits; attrs signed, narrow): trunc scale = 2^round(log2(out_scale/scale)),
 * clip to the output range before rounding, rescale by out_scale.
 */
const truncOp: OpImpl = (node, inputs) => {
  const v2 = node.inputs.length >= 7;
  const ts = needAll(node, inputs, v2 ? ['x', 'scale', 'zeropt', 'in_bitwidth', 'out_scale', 'out_zeropt', 'out_bitwidth'] : ['x', 'scale', 'zeropt', 'in_bitwidth', 'out_bitwidth']);
  const [x, s, z, inBits] = ts;
  checkQuantizer(node, inputs);
  const outScale = v2 ? ts[4] : undefined;
  const outBits = v2 ? ts[6] : ts[4];
  const f = floatRoundFor(x, s, z);
  const round = roundingFunction(attrString(node, 'rounding_mode', 'FLOOR'), f, node);
  const signed = attrInt(node, 'signed', 1) !== 0;
  const narrow = attrInt(node, 'narrow', 0) !== 0;
  const operands = v2 ? [x, s, z, inBits, outScale!, outBits] : [x, s, z, inBits, outBits];
  const shape = broadcastShapes(operands.map((t) => t.shape));
  const xv = expandTo(x, shape), sv = expandTo(s, shape), zv = expandTo(z, shape);
  const ibv = expandTo(inBits, shape), obv = expandTo(outBits, shape);
  const osv = outScale ? expandTo(outScale, shape) : undefined;
  const out = makeTensor('float32', shape);
  const y = out.data as Float32Array;
  for (let i = 0; i < y.length; i++) {
    let q = roundHalfEven(f(f(xv[i] / sv[i]) + zv[i]));
    if (osv) {
      const truncScale = 2 ** roundHalfEven(Math.log2(f(osv[i] / sv[i])));
      q = f(q / truncScale);
      const [lo, hi] = qonnxIntRange(signed, narrow, obv[i]);
      q = round(q > hi ? hi : q < lo ? lo : q);
      y[i] = f(f(q - f(zv[i] / truncScale)) * osv[i]);
    } else {
      q = round(f(q / 2 ** (ibv[i] - obv[i])));
      y[i] = f(f(q - zv[i]) * sv[i]);
    }
  }
  return [out];
};

/**
 * FINN MultiThreshold: y = out_scale·#{i : x >= T[c][i]} + out_bias, channel c on axis 1 (NCHW),
 * axis 3 for 4-D NHWC, and the last axis for inputs that are neither 2-D nor 4-D (as qonnx does).
 */
const multiThresholdOp: OpImpl = (node, inputs) => {
  const [x, t] = needAll(node, inputs, ['x', 'thresholds']);
  const layout = attrString(node, 'data_layout', 'NCHW');
  const outScale = attrFloat(node, 'out_scale', 1);
  const outBias = attrFloat(node, 'out_bias', 0);
  const rank = x.shape.length;
  const axis = rank === 4 ? (layout === 'NHWC' ? 3 : 1) : rank === 2 ? 1 : rank - 1;
  if (t.shape.length !== 2) fail('ShapeMismatch', `thresholds of MultiThreshold must be 2-D [channels, steps], not [${t.shape.join(',')}]`, node.name);
  const [tc, steps] = t.shape;
  const channels = x.shape[axis];
  if (tc !== channels && tc !== 1) fail('ShapeMismatch', `MultiThreshold has ${tc} threshold rows for ${channels} channels`, node.name);
  const inner = numel(x.shape.slice(axis + 1));
  const xv = nums(x), tv = nums(t);
  const out = makeTensor('float32', x.shape);
  const y = out.data as Float32Array;
  for (let i = 0; i < y.length; i++) {
    const c = tc === 1 ? 0 : Math.floor(i / inner) % channels;
    let count = 0;
    for (let k = 0; k < steps; k++) if (xv[i] >= tv[c * steps + k]) count++;
    y[i] = outScale * count + outBias;
  }
  return [out];
};

// ---- ONNX QuantizeLinear / DequantizeLinear -----------------------------------------------------

/** TensorProto.DataType codes accepted by QuantizeLinear's output_dtype (opset 21). */
const ONNX_INT_DTYPES: Record<number, DType> = { 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32' };

/**
 * For each element of x, the index of its scale/zero point: per-tensor (one scale), per-axis (1-D
 * scale along `axis`) or blocked (opset 21 block_size: scale has x's rank, axis dim divided by block).
 */
function quantParamIndex(node: Node, xShape: number[], scale: Tensor): Int32Array | undefined {
  if (numel(scale.shape) === 1 && scale.shape.length <= 1) return undefined;
  const rank = xShape.length;
  let axis = attrInt(node, 'axis', 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) fail('BadAttribute', `attribute 'axis' of ${node.op} must be in [${-rank}, ${rank - 1}], not ${attrInt(node, 'axis', 1)}`, node.name);
  const block = attrInt(node, 'block_size', 0);
  const n = numel(xShape);
  const idx = new Int32Array(n);
  const inner = numel(xShape.slice(axis + 1));
  if (block <= 0) {
    if (scale.shape.length !== 1 || scale.shape[0] !== xShape[axis]) {
      fail('ShapeMismatch', `${node.op} scale of shape [${scale.shape.join(',')}] does not match dimension ${axis} (size ${xShape[axis]}) of input [${xShape.join(',')}]`, node.name);
    }
    for (let i = 0; i < n; i++) idx[i] = Math.floor(i / inner) % xShape[axis];
    return idx;
  }
  const want = xShape.map((d, k) => (k === axis ? Math.ceil(d / block) : d));
  if (scale.shape.length !== rank || scale.shape.some((d, k) => d !== want[k])) {
    fail('ShapeMismatch', `${node.op} blocked scale must have shape [${want.join(',')}], not [${scale.shape.join(',')}]`, node.name);
  }
  const sStr = strides(want), xStr = strides(xShape);
  for (let i = 0; i < n; i++) {
    let rem = i, off = 0;
    for (let k = 0; k < rank; k++) {
      const c = Math.floor(rem / xStr[k]);
      rem -= c * xStr[k];
      off += (k === axis ? Math.floor(c / block) : c) * sStr[k];
    }
    idx[i] = off;
  }
  return idx;
}

/** QuantizeLinear: y = saturate(round_half_even(x / s) + zp), x/s in float32 (onnxruntime's MLAS). */
const quantizeLinearOp: OpImpl = (node, inputs) => {
  const [x, s] = needAll(node, inputs, ['x', 'y_scale']);
  checkQuantizer(node, inputs);
  const zp = inputs[2];
  const outputDtype = attrInt(node, 'output_dtype', 0);
  const dtype: DType = zp ? zp.dtype : outputDtype ? ONNX_INT_DTYPES[outputDtype] ?? fail('UnsupportedDType', `QuantizeLinear output_dtype ${outputDtype} is not supported (supported: uint8, int8, uint16, int16, int32)`, node.name) : 'uint8';
  const range = INT_RANGES[dtype] ?? fail('UnsupportedDType', `QuantizeLinear to ${dtype} is not supported`, node.name);
  const idx = quantParamIndex(node, x.shape, s);
  if (zp && numel(zp.shape) !== numel(s.shape)) fail('ShapeMismatch', `QuantizeLinear zero point [${zp.shape.join(',')}] and scale [${s.shape.join(',')}] differ in size`, node.name);
  const xv = nums(x), sv = nums(s), zv = zp ? nums(zp) : undefined;
  const out = makeTensor(dtype, x.shape);
  const y = nums(out);
  for (let i = 0; i < y.length; i++) {
    const k = idx ? idx[i] : 0;
    const q = roundHalfEven(Math.fround(Math.fround(xv[i]) / sv[k])) + (zv ? zv[k] : 0);
    y[i] = q < range[0] ? range[0] : q > range[1] ? range[1] : q;
  }
  return [out];
};

/** DequantizeLinear: y = (x − zp)·s, in float32 like onnxruntime (int32 difference, then one product). */
const dequantizeLinearOp: OpImpl = (node, inputs) => {
  const [x, s] = needAll(node, inputs, ['x', 'x_scale']);
  checkQuantizer(node, inputs);
  const zp = inputs[2];
  const idx = quantParamIndex(node, x.shape, s);
  const xv = nums(x), sv = nums(s), zv = zp ? nums(zp) : undefined;
  const out = makeTensor(s.dtype === 'float64' || s.dtype === 'float16' ? s.dtype : 'float32', x.shape);
  const y = nums(out);
  for (let i = 0; i < y.length; i++) {
    const k = idx ? idx[i] : 0;
    y[i] = Math.fround(Math.fround(xv[i] - (zv ? zv[k] : 0)) * sv[k]);
  }
  return [out];
};

/**
 * DynamicQuantizeLinear: uint8 with scale (max(0,x) − min(0,x))/255 and zero point
 * round(clip(−min/scale, 0, 255)), all in float32 (outputs y, y_scale, y_zero_point).
 */
const dynamicQuantizeLinearOp: OpImpl = (node, inputs) => {
  const x = need(node, inputs, 0, 'x');
  const xv = nums(x);
  let lo = 0, hi = 0;
  for (const v of xv) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = Math.fround(Math.fround(hi - lo) / 255);
  const zp = scale === 0 ? 0 : roundHalfEven(Math.min(255, Math.max(0, Math.fround(0 - Math.fround(lo / scale)))));
  const out = makeTensor('uint8', x.shape);
  const y = nums(out);
  for (let i = 0; i < y.length; i++) {
    const q = scale === 0 ? zp : roundHalfEven(Math.fround(xv[i] / scale)) + zp;
    y[i] = q < 0 ? 0 : q > 255 ? 255 : q;
  }
  return [out, makeTensor('float32', [], [scale]), makeTensor('uint8', [], [zp])];
};

// ---- qonnx channels_last wrappers ---------------------------------------------------------------

/** [0, r-1, 1, …, r-2]: channels-last → channels-first. */
const toChannelsFirst = (r: number) => [0, r - 1, ...Array.from({ length: r - 2 }, (_, i) => i + 1)];
/** [0, 2, …, r-1, 1]: channels-first → channels-last. */
const toChannelsLast = (r: number) => [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1];

/** The ops qonnx wraps in its channels_last domain (qonnx ChannelsLastWrappedOp). */
export const CHANNELS_LAST_OPS = new Set(['Conv', 'MaxPool', 'BatchNormalization', 'AveragePool']);

/**
 * A qonnx channels_last op: its first input (and, for Conv, the OHWI weight) is transposed to
 * channels-first, the standard op runs, and its output is transposed back (qonnx base_wrapped_op).
 */
export function channelsLast(op: string, standard: OpImpl): OpImpl {
  return (node: Node, inputs: (Tensor | undefined)[], ctx: ExecContext) => {
    const x = need(node, inputs, 0, 'X');
    const r = x.shape.length;
    if (r < 3) fail('ShapeMismatch', `channels_last ${op} needs an input of rank >= 3, not [${x.shape.join(',')}]`, node.name);
    const ins = inputs.map((t, i) => (t && (i === 0 || (op === 'Conv' && i === 1)) ? transpose(t, toChannelsFirst(t.shape.length)) : t));
    const outs = standard({ ...node, domain: '' }, ins, ctx);
    return [transpose(outs[0], toChannelsLast(outs[0].shape.length)), ...outs.slice(1)];
  };
}

export const quantOps: OpTable = {
  Quant: quantOp,
  IntQuant: quantOp,
  BipolarQuant: bipolarQuantOp,
  Trunc: truncOp,
  MultiThreshold: multiThresholdOp,
  QuantizeLinear: quantizeLinearOp,
  DequantizeLinear: dequantizeLinearOp,
  DynamicQuantizeLinear: dynamicQuantizeLinearOp,
};
