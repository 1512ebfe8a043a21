// The per-op shape rules of shape inference (./infer-shapes.ts): an op's output dtypes and shapes
// from its attributes and its input types ('?' for an unknown dimension); undefined when the op has
// no rule, which leaves it to infer-shapes' execution on zeros.
import { attrFloats, attrInt, attrInts, attrString, tensorType, type Dim, type Graph, type Node, type TensorType } from '../ir/graph.ts';
import { numel, toNumbers, type DType } from '../ir/tensor.ts';

const UNKNOWN = '?';
export const isNum = (d: Dim | undefined): d is number => typeof d === 'number';

function broadcast(shapes: Dim[][]): Dim[] {
  const r = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const x = s[i - (r - s.length)];
      if (x === undefined || x === 1) continue;
      if (d === 1) d = x;
      else if (d !== x) d = isNum(d) && isNum(x) ? Math.max(d, x) : UNKNOWN;
    }
    out.push(d);
  }
  return out;
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Output size of one spatial axis of a convolution or pooling window. */
function windowOut(inp: Dim, k: number, stride: number, dil: number, padBegin: number, padEnd: number, autoPad: string, ceil: boolean): Dim {
  if (!isNum(inp)) return UNKNOWN;
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return Math.ceil(inp / stride);
  const ek = dil * (k - 1) + 1;
  const span = autoPad === 'VALID' ? inp - ek : inp + padBegin + padEnd - ek;
  return (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
}

function windowed(n: Node, x: Dim[], kernel: number[], channelsLast: boolean, outChannels: Dim, ceil: boolean): Dim[] {
  const sp = kernel.length;
  const strides = attrInts(n, 'strides', new Array(sp).fill(1));
  const dil = attrInts(n, 'dilations', new Array(sp).fill(1));
  const pads = attrInts(n, 'pads', new Array(2 * sp).fill(0));
  const autoPad = attrString(n, 'auto_pad', 'NOTSET');
  const spatialIn = channelsLast ? x.slice(1, 1 + sp) : x.slice(2);
  const spatial = spatialIn.map((d, i) => windowOut(d, kernel[i], strides[i], dil[i], pads[i], pads[i + sp], autoPad, ceil));
  return channelsLast ? [x[0], ...spatial, outChannels] : [x[0], outChannels, ...spatial];
}

function matmulShape(a: Dim[], b: Dim[]): Dim[] {
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  const batch = broadcast([a2.slice(0, -2), b2.slice(0, -2)]);
  const out = [...batch, a2[a2.length - 2], b2[b2.length - 1]];
  if (a.length === 1) out.splice(out.length - 2, 1);
  if (b.length === 1) out.splice(out.length - 1, 1);
  return out;
}

/** The constant value of an input (an initializer), as numbers. */
function constValues(g: Graph, name: string | undefined): number[] | undefined {
  if (!name) return undefined;
  const t = g.initializers.get(name);
  return t ? toNumbers(t) : undefined;
}

function isChannelsLast(n: Node): boolean {
  return n.domain.includes('channels_last');
}

const SAME_SHAPE = new Set([
  'Relu', 'LeakyRelu', 'Sigmoid', 'Softmax', 'LogSoftmax', 'Sign', 'Identity', 'Tanh', 'Abs', 'Neg',
  'Exp', 'Log', 'Sqrt', 'Erf', 'Selu', 'Elu', 'HardSigmoid', 'HardSwish', 'Floor', 'Ceil', 'Round',
  'Reciprocal', 'Not', 'Dropout', 'Clip', 'BatchNormalization', 'Quant', 'IntQuant', 'BipolarQuant',
  'Trunc', 'DebugMarker', 'Softplus', 'Softsign', 'LRN', 'InstanceNormalization',
]);
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'PRelu', 'Mod', 'And', 'Or', 'Xor', 'BitShift']);
const COMPARE = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual']);

const ONNX_DTYPE: Record<number, DType> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string',
  9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 16: 'bfloat16',
};

/** Output types of n by its op's rule; undefined when there is no rule or an input is unknown. */
export function shapeRule(g: Graph, n: Node, opset: number): TensorType[] | undefined {
  const t = (i: number) => (n.inputs[i] ? tensorType(g, n.inputs[i]) : undefined);
  const x = t(0);
  const xs = x?.shape;
  const op = n.op;
  if (SAME_SHAPE.has(op)) {
    if (!x) return undefined;
    const dtype = op === 'Not' ? 'bool' : x.dtype;
    const outs: TensorType[] = [{ dtype, shape: xs }];
    if (op === 'Dropout' && n.outputs.length > 1) outs.push({ dtype: 'bool', shape: xs });
    return outs;
  }
  if (op === 'Cast') return x ? [{ dtype: ONNX_DTYPE[attrInt(n, 'to')] ?? x.dtype, shape: xs }] : undefined;
  if (op === 'MultiThreshold') return x ? [{ dtype: 'float32', shape: xs }] : undefined;
  if (op === 'QuantizeLinear') return x ? [{ dtype: t(2)?.dtype ?? 'uint8', shape: xs }] : undefined;
  if (op === 'DequantizeLinear') return x ? [{ dtype: 'float32', shape: xs }] : undefined;
  if (BROADCAST.has(op) || COMPARE.has(op) || op === 'Where') {
    const ins = n.inputs.map((_, i) => t(i));
    if (ins.some((i) => !i?.shape)) return undefined;
    const dtype = COMPARE.has(op) ? 'bool' : op === 'Where' ? ins[1]!.dtype : ins[0]!.dtype;
    return [{ dtype, shape: broadcast(ins.map((i) => i!.shape!)) }];
  }
  if (op === 'QLinearAdd' || op === 'QLinearMul') {
    const a = t(0), b = t(3);
    return a?.shape && b?.shape ? [{ dtype: a.dtype, shape: broadcast([a.shape, b.shape]) }] : undefined;
  }
  if (op === 'MatMul' || op === 'MatMulInteger' || op === 'QLinearMatMul') {
    const a = t(0), b = t(op === 'QLinearMatMul' ? 3 : 1);
    if (!a?.shape || !b?.shape) return undefined;
    const dtype = op === 'MatMul' ? a.dtype : op === 'MatMulInteger' ? 'int32' : (t(7)?.dtype ?? a.dtype);
    return [{ dtype, shape: matmulShape(a.shape, b.shape) }];
  }
  if (op === 'Gemm') {
    const a = t(0), b = t(1);
    if (!a?.shape || !b?.shape || a.shape.length !== 2 || b.shape.length !== 2) return undefined;
    const m = attrInt(n, 'transA', 0) ? a.shape[1] : a.shape[0];
    const nn = attrInt(n, 'transB', 0) ? b.shape[0] : b.shape[1];
    return [{ dtype: a.dtype, shape: [m, nn] }];
  }
  if (op === 'Conv' || op === 'ConvInteger' || op === 'QLinearConv') {
    const w = t(op === 'QLinearConv' ? 3 : 1);
    if (!xs || !w?.shape) return undefined;
    const cl = isChannelsLast(n);
    const kernel = (n.attrs.kernel_shape ? attrInts(n, 'kernel_shape') : (cl ? w.shape.slice(1, -1) : w.shape.slice(2))) as Dim[];
    if (!kernel.every(isNum)) return undefined;
    const dtype = op === 'Conv' ? x!.dtype : op === 'ConvInteger' ? 'int32' : (t(7)?.dtype ?? x!.dtype);
    return [{ dtype, shape: windowed(n, xs, kernel as number[], cl, w.shape[0], false) }];
  }
  if (op === 'MaxPool' || op === 'AveragePool' || op === 'LpPool') {
    if (!xs) return undefined;
    const cl = isChannelsLast(n);
    const shape = windowed(n, xs, attrInts(n, 'kernel_shape'), cl, cl ? xs[xs.length - 1] : xs[1], attrInt(n, 'ceil_mode', 0) === 1);
    const outs: TensorType[] = [{ dtype: x!.dtype, shape }];
    if (n.outputs.length > 1) outs.push({ dtype: 'int64', shape });
    return outs;
  }
  if (op === 'GlobalAveragePool' || op === 'GlobalMaxPool') {
    return xs ? [{ dtype: x!.dtype, shape: [xs[0], xs[1], ...xs.slice(2).map(() => 1)] }] : undefined;
  }
  if (op === 'Flatten') {
    if (!xs) return undefined;
    const axis = normAxis(attrInt(n, 'axis', 1), xs.length);
    const prod = (ds: Dim[]): Dim => (ds.every(isNum) ? numel(ds as number[]) : UNKNOWN);
    return [{ dtype: x!.dtype, shape: [prod(xs.slice(0, axis)), prod(xs.slice(axis))] }];
  }
  if (op === 'Reshape') {
    const target = opset >= 5 ? constValues(g, n.inputs[1]) : attrInts(n, 'shape', []);
    if (!x || !target) return undefined;
    const allowZero = attrInt(n, 'allowzero', 0) === 1;
    const out: Dim[] = target.map((d, i) => (d === 0 && !allowZero ? (xs?.[i] ?? UNKNOWN) : d));
    const minus = out.indexOf(-1);
    if (minus >= 0) {
      const known = out.filter((d, i) => i !== minus);
      if (xs && xs.every(isNum) && known.every(isNum)) out[minus] = numel(xs as number[]) / numel(known as number[]);
      else out[minus] = UNKNOWN;
    }
    return [{ dtype: x.dtype, shape: out }];
  }
  if (op === 'Transpose') {
    if (!xs) return undefined;
    const perm = attrInts(n, 'perm', xs.map((_, i) => xs.length - 1 - i));
    return [{ dtype: x!.dtype, shape: perm.map((p) => xs[p]) }];
  }
  if (op === 'Squeeze' || op === 'Unsqueeze') {
    if (!xs) return undefined;
    const axes = n.attrs.axes ? attrInts(n, 'axes') : n.inputs[1] ? constValues(g, n.inputs[1]) : undefined;
    if (op === 'Squeeze') {
      if (axes === undefined && n.inputs[1]) return undefined;
      const drop = new Set((axes ?? xs.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)).map((a) => normAxis(a, xs.length)));
      return [{ dtype: x!.dtype, shape: xs.filter((_, i) => !drop.has(i)) }];
    }
    if (!axes) return undefined;
    const rank = xs.length + axes.length;
    const ins = new Set(axes.map((a) => normAxis(a, rank)));
    const out: Dim[] = [];
    let k = 0;
    for (let i = 0; i < rank; i++) out.push(ins.has(i) ? 1 : xs[k++]);
    return [{ dtype: x!.dtype, shape: out }];
  }
  if (op === 'Concat') {
    const ins = n.inputs.map((_, i) => t(i));
    if (ins.some((i) => !i?.shape)) return undefined;
    const first = ins[0]!.shape!;
    const axis = normAxis(attrInt(n, 'axis'), first.length);
    const along = ins.map((i) => i!.shape![axis]);
    const out = [...first];
    out[axis] = along.every(isNum) ? (along as number[]).reduce((a, b) => a + b, 0) : UNKNOWN;
    return [{ dtype: ins[0]!.dtype, shape: out }];
  }
  if (op === 'Pad') {
    const pads = opset >= 11 ? constValues(g, n.inputs[1]) : attrInts(n, 'pads', undefined as unknown as number[]);
    if (!xs || !pads) return undefined;
    const r = xs.length;
    return [{ dtype: x!.dtype, shape: xs.map((d, i) => (isNum(d) ? d + pads[i] + pads[i + r] : UNKNOWN)) }];
  }
  if (op === 'Shape') {
    if (!xs) return undefined;
    const r = xs.length;
    const start = Math.min(Math.max(normAxis(attrInt(n, 'start', 0), r), 0), r);
    const end = Math.min(Math.max(normAxis(attrInt(n, 'end', r), r), 0), r);
    return [{ dtype: 'int64', shape: [Math.max(end - start, 0)] }];
  }
  if (op === 'Resize' || op === 'Upsample') {
    if (!xs || !xs.every(isNum)) return undefined;
    const dims = xs as number[];
    const legacy = op === 'Upsample' || opset < 11;
    const sizes = legacy ? undefined : constValues(g, n.inputs[3]);
    let scales = op === 'Upsample' && opset < 9 ? attrFloats(n, 'scales') : constValues(g, n.inputs[legacy ? 1 : 2]);
    const axes = n.attrs.axes ? attrInts(n, 'axes').map((a) => normAxis(a, dims.length)) : dims.map((_, a) => a);
    if (sizes && sizes.length > 0) {
      if (attrString(n, 'keep_aspect_ratio_policy', 'stretch') !== 'stretch' || sizes.length !== axes.length) return undefined;
      const out = [...dims];
      axes.forEach((a, i) => (out[a] = sizes[i]));
      return [{ dtype: x!.dtype, shape: out }];
    }
    if (!scales || scales.length !== axes.length) return undefined;
    const full = dims.map(() => 1);
    axes.forEach((a, i) => (full[a] = scales![i]));
    scales = full;
    return [{ dtype: x!.dtype, shape: dims.map((d, a) => Math.floor(d * scales![a])) }];
  }
  if (op === 'DepthToSpace' || op === 'SpaceToDepth') {
    if (!xs || xs.length !== 4) return undefined;
    const b = attrInt(n, 'blocksize');
    const [nb, c, h, w] = xs;
    const mul = (d: Dim, f: number): Dim => (isNum(d) ? d * f : UNKNOWN);
    return [{ dtype: x!.dtype, shape: op === 'DepthToSpace' ? [nb, mul(c, 1 / (b * b)), mul(h, b), mul(w, b)] : [nb, mul(c, b * b), mul(h, 1 / b), mul(w, 1 / b)] }];
  }
  if (op === 'Slice') {
    if (!xs) return undefined;
    const r = xs.length;
    const starts = opset < 10 ? attrInts(n, 'starts') : constValues(g, n.inputs[1]);
    const ends = opset < 10 ? attrInts(n, 'ends') : constValues(g, n.inputs[2]);
    const axesIn = opset < 10 ? (n.attrs.axes ? attrInts(n, 'axes') : undefined) : n.inputs[3] ? constValues(g, n.inputs[3]) : undefined;
    const steps = opset < 10 || !n.inputs[4] ? undefined : constValues(g, n.inputs[4]);
    if (!starts || !ends || (opset >= 10 && n.inputs[3] && !axesIn) || (opset >= 10 && n.inputs[4] && !steps)) return undefined;
    const axes = (axesIn ?? starts.map((_, i) => i)).map((a) => normAxis(a, r));
    const out = [...xs];
    for (let i = 0; i < axes.length; i++) {
      const dim = xs[axes[i]];
      if (!isNum(dim)) {
        out[axes[i]] = UNKNOWN;
        continue;
      }
      const step = steps?.[i] ?? 1;
      const clampTo = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
      let st = starts[i] < 0 ? starts[i] + dim : starts[i];
      let en = ends[i] < 0 ? ends[i] + dim : ends[i];
      if (step > 0) {
        st = clampTo(st, 0, dim);
        en = clampTo(en, 0, dim);
      } else {
        st = clampTo(st, 0, dim - 1);
        en = clampTo(en, -1, dim - 1);
      }
      out[axes[i]] = Math.max(0, Math.ceil((en - st) / step));
    }
    return [{ dtype: x!.dtype, shape: out }];
  }
  if (op.startsWith('Reduce') || op === 'ArgMax' || op === 'ArgMin') {
    if (!xs) return undefined;
    const r = xs.length;
    const keep = attrInt(n, 'keepdims', 1) === 1;
    let axes: number[] | undefined;
    if (op === 'ArgMax' || op === 'ArgMin') axes = [attrInt(n, 'axis', 0)];
    else if (n.attrs.axes) axes = attrInts(n, 'axes');
    else if (n.inputs[1]) {
      axes = constValues(g, n.inputs[1]);
      if (!axes) return undefined;
    }
    if (!axes || axes.length === 0) {
      if (attrInt(n, 'noop_with_empty_axes', 0) === 1) return [{ dtype: x!.dtype, shape: xs }];
      axes = xs.map((_, i) => i);
    }
    const set = new Set(axes.map((a) => normAxis(a, r)));
    const shape = keep ? xs.map((d, i) => (set.has(i) ? 1 : d)) : xs.filter((_, i) => !set.has(i));
    return [{ dtype: op.startsWith('Arg') ? 'int64' : x!.dtype, shape }];
  }
  if (op === 'ConvTranspose') {
    const w = t(1)?.shape;
    if (!xs || !w || !w.every(isNum)) return undefined;
    const sp = xs.length - 2;
    const k = n.attrs.kernel_shape ? attrInts(n, 'kernel_shape') : (w.slice(2) as number[]);
    const strides = attrInts(n, 'strides', new Array(sp).fill(1));
    const dil = attrInts(n, 'dilations', new Array(sp).fill(1));
    const pads = attrInts(n, 'pads', new Array(2 * sp).fill(0));
    const outPad = attrInts(n, 'output_padding', new Array(sp).fill(0));
    const autoPad = attrString(n, 'auto_pad', 'NOTSET');
    const explicit = n.attrs.output_shape ? attrInts(n, 'output_shape') : undefined;
    const spatial = xs.slice(2).map((d, i): Dim => {
      if (explicit) return explicit[explicit.length - sp + i];
      if (!isNum(d)) return UNKNOWN;
      if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return d * strides[i];
      return strides[i] * (d - 1) + outPad[i] + (k[i] - 1) * dil[i] + 1 - pads[i] - pads[i + sp];
    });
    return [{ dtype: x!.dtype, shape: [xs[0], (w[1] as number) * attrInt(n, 'group', 1), ...spatial] }];
  }
  if (op === 'Gather') {
    const idx = t(1);
    if (!xs || !idx?.shape) return undefined;
    const axis = normAxis(attrInt(n, 'axis', 0), xs.length);
    return [{ dtype: x!.dtype, shape: [...xs.slice(0, axis), ...idx.shape, ...xs.slice(axis + 1)] }];
  }
  return undefined;
}
