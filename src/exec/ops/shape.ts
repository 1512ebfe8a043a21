// Shape and data-movement ONNX ops. Per-opset differences (attributes that became inputs) follow
// the ONNX operator changelog; every index may be negative and counts from the end.
import { fail } from '../../diag/index.ts';
import { attrInt, attrInts, attrString, attrTensor, type Node } from '../../ir/graph.ts';
import { formatShape, makeTensor, numel, nums, strides, type DType, type Tensor } from '../../ir/tensor.ts';
import { constantValue } from '../../onnx/load.ts';
import { dtypeFromOnnx } from '../../onnx/tensor.ts';
import { broadcastIndex, broadcastShapes } from '../kernels/broadcast.ts';
import { take, transpose, unravel } from '../kernels/layout.ts';
import { intsOf, need, normAxes, normAxis, prod, reshaped, storer } from '../kernels/util.ts';
import type { OpImpl, OpTable } from '../op-types.ts';

type Inputs = (Tensor | undefined)[];

function int64(values: number[], shape = [values.length]): Tensor {
  return makeTensor('int64', shape, values);
}

/** An attribute before `sinceOpset`, an optional input from then on (Squeeze axes, Pad pads, …). */
function attrOrInput(node: Node, inputs: Inputs, opset: number, sinceOpset: number, attr: string, k: number): number[] | undefined {
  if (opset < sinceOpset) return node.attrs[attr] !== undefined ? attrInts(node, attr) : undefined;
  return intsOf(inputs[k]);
}

/** Reshape target with 0 (copy the input dim, unless allowzero) and one -1 (inferred). */
export function reshapeTarget(inShape: readonly number[], target: number[], allowZero: boolean): number[] {
  const out = target.map((d, i) => {
    if (d === 0 && !allowZero) {
      if (i >= inShape.length) fail('ShapeMismatch', `Reshape target [${target.join(',')}] copies dim ${i} (0) but the input has rank ${inShape.length}`);
      return inShape[i];
    }
    return d;
  });
  const neg = out.filter((d) => d === -1).length;
  if (neg > 1 || out.some((d) => d < -1)) fail('ShapeMismatch', `Reshape target must have at most one -1 and no other negative dims, not [${target.join(',')}]`);
  const total = numel(inShape);
  if (neg === 1) {
    const known = prod(out.filter((d) => d !== -1));
    if (known === 0 || total % known !== 0) fail('ShapeMismatch', `cannot reshape ${formatShape(inShape)} to [${target.join(',')}]`);
    out[out.indexOf(-1)] = total / known;
  }
  if (numel(out) !== total) fail('ShapeMismatch', `cannot reshape ${formatShape(inShape)} (${total} elements) to [${target.join(',')}]`);
  return out;
}

/** Start/end/step of one Slice axis after the spec's clamping rules. */
function sliceRange(start: number, end: number, step: number, dim: number): [number, number] {
  if (step === 0) fail('BadAttribute', 'Slice steps must not be 0');
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) return [Math.min(Math.max(start, 0), dim), Math.min(Math.max(end, 0), dim)];
  return [Math.min(Math.max(start, 0), dim - 1), Math.min(Math.max(end, -1), dim - 1)];
}

/** Slice by per-axis (start, step, count). Shared by Slice and Split. */
function sliceBy(x: Tensor, starts: number[], steps: number[], counts: number[]): Tensor {
  const str = strides(x.shape);
  const idx = new Array<number>(x.shape.length).fill(0);
  return take(x, counts, (k) => {
    unravel(k, counts, idx);
    let off = 0;
    for (let a = 0; a < idx.length; a++) off += (starts[a] + idx[a] * steps[a]) * str[a];
    return off;
  });
}

function slice(node: Node, inputs: Inputs, ctx: { opset: number }): Tensor[] {
  const x = need(node, inputs, 0, 'data');
  const rank = x.shape.length;
  let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
  if (ctx.opset < 10) {
    starts = attrInts(node, 'starts');
    ends = attrInts(node, 'ends');
    axes = node.attrs.axes ? attrInts(node, 'axes') : undefined;
  } else {
    starts = intsOf(need(node, inputs, 1, 'starts'))!;
    ends = intsOf(need(node, inputs, 2, 'ends'))!;
    axes = intsOf(inputs[3]);
    steps = intsOf(inputs[4]);
  }
  axes = normAxes(axes ?? starts.map((_, i) => i), rank);
  if (ends.length !== starts.length || axes.length !== starts.length || (steps && steps.length !== starts.length)) {
    fail('ShapeMismatch', `Slice starts, ends, axes and steps must have the same length, not ${starts.length}, ${ends.length}, ${axes.length}, ${steps?.length ?? '-'}`);
  }
  const st = new Array<number>(rank).fill(0);
  const sp = new Array<number>(rank).fill(1);
  const cnt = [...x.shape];
  axes.forEach((a, i) => {
    const step = steps?.[i] ?? 1;
    const [b, e] = sliceRange(starts[i], ends[i], step, x.shape[a]);
    st[a] = b;
    sp[a] = step;
    cnt[a] = Math.max(0, Math.ceil((e - b) / step));
  });
  return [sliceBy(x, st, sp, cnt)];
}

function split(node: Node, inputs: Inputs, ctx: { opset: number }): Tensor[] {
  const x = need(node, inputs, 0, 'input');
  const axis = normAxis(attrInt(node, 'axis', 0), x.shape.length);
  const dim = x.shape[axis];
  const nOut = node.outputs.length;
  let sizes = attrOrInput(node, inputs, ctx.opset, 13, 'split', 1);
  if (!sizes || sizes.length === 0) {
    const parts = ctx.opset >= 18 ? attrInt(node, 'num_outputs', nOut) : nOut;
    const chunk = ctx.opset >= 18 ? Math.ceil(dim / parts) : dim / parts;
    if (!Number.isInteger(chunk)) fail('ShapeMismatch', `Split of dim ${dim} into ${parts} equal parts is not possible`);
    sizes = Array.from({ length: parts }, (_, i) => Math.max(0, Math.min(chunk, dim - i * chunk)));
  }
  if (sizes.reduce((a, b) => a + b, 0) !== dim) fail('ShapeMismatch', `Split sizes [${sizes.join(',')}] must sum to the axis dim ${dim}`);
  let off = 0;
  return sizes.map((s) => {
    const st = x.shape.map((_, a) => (a === axis ? off : 0));
    const cnt = x.shape.map((d, a) => (a === axis ? s : d));
    off += s;
    return sliceBy(x, st, x.shape.map(() => 1), cnt);
  });
}

function concat(node: Node, inputs: Inputs, ctx: { opset: number }): Tensor[] {
  const xs = inputs.filter((t): t is Tensor => t !== undefined);
  if (xs.length === 0) fail('BadAttribute', 'Concat needs at least one input');
  const rank = xs[0].shape.length;
  // Concat-1 had an optional axis defaulting to 1; it is required from opset 4.
  const axis = normAxis(ctx.opset < 4 ? attrInt(node, 'axis', 1) : attrInt(node, 'axis'), rank);
  for (const t of xs) {
    if (t.shape.length !== rank || t.shape.some((d, a) => a !== axis && d !== xs[0].shape[a])) {
      fail('ShapeMismatch', `Concat inputs must agree on every dim but axis ${axis}, not ${xs.map((u) => formatShape(u.shape)).join(' and ')}`);
    }
  }
  const shape = [...xs[0].shape];
  shape[axis] = xs.reduce((a, t) => a + t.shape[axis], 0);
  const out = makeTensor(xs[0].dtype, shape);
  const outer = prod(shape, 0, axis);
  const inner = prod(shape, axis + 1);
  const o = out.data as unknown as Float64Array;
  let pos = 0;
  const rowOut = shape[axis] * inner;
  for (const t of xs) {
    const rowIn = t.shape[axis] * inner;
    const a = t.data as unknown as Float64Array;
    for (let i = 0; i < outer; i++) for (let j = 0; j < rowIn; j++) o[i * rowOut + pos + j] = a[i * rowIn + j];
    pos += rowIn;
  }
  return [out];
}

function pad(node: Node, inputs: Inputs, ctx: { opset: number }): Tensor[] {
  const x = need(node, inputs, 0, 'data');
  const rank = x.shape.length;
  const mode = attrString(node, 'mode', 'constant');
  if (!['constant', 'reflect', 'edge', 'wrap'].includes(mode)) fail('BadAttribute', `Pad mode must be constant, reflect, edge or wrap, not ${mode}`);
  let pads: number[];
  let value = 0;
  if (ctx.opset < 11) {
    pads = attrInts(node, ctx.opset < 2 && node.attrs.paddings ? 'paddings' : 'pads');
    value = node.attrs.value ? (node.attrs.value as { v: number }).v : 0;
  } else {
    pads = intsOf(need(node, inputs, 1, 'pads'))!;
    if (inputs[2] && nums(inputs[2]).length > 0) value = nums(inputs[2])[0];
    const axes = intsOf(inputs[3]);
    if (axes) {
      const ax = normAxes(axes, rank);
      if (pads.length !== 2 * ax.length) fail('ShapeMismatch', `Pad pads must have 2 values per axis (${2 * ax.length}), not ${pads.length}`);
      const full = new Array<number>(2 * rank).fill(0);
      ax.forEach((a, i) => {
        full[a] = pads[i];
        full[a + rank] = pads[i + ax.length];
      });
      pads = full;
    }
  }
  if (pads.length !== 2 * rank) fail('ShapeMismatch', `Pad pads must have 2*rank = ${2 * rank} values, not ${pads.length}`);
  const shape = x.shape.map((d, a) => d + pads[a] + pads[a + rank]);
  if (shape.some((d) => d < 0)) fail('ShapeMismatch', `Pad pads [${pads.join(',')}] crop ${formatShape(x.shape)} below zero`);
  if (mode !== 'constant' && x.shape.some((d, a) => d === 0 && shape[a] > 0)) fail('ShapeMismatch', `Pad mode ${mode} cannot pad an empty axis`);
  const str = strides(x.shape);
  const idx = new Array<number>(rank).fill(0);
  // Map an out-of-range coordinate back into [0, n) per mode; -1 means "the constant".
  const inside = (c: number, n: number): number => {
    if (c >= 0 && c < n) return c;
    switch (mode) {
      case 'edge': return c < 0 ? 0 : n - 1;
      case 'wrap': return ((c % n) + n) % n;
      case 'reflect': {
        if (n === 1) return 0;
        const period = 2 * (n - 1);
        const m = ((c % period) + period) % period;
        return m < n ? m : period - m;
      }
      default: return -1;
    }
  };
  const out = makeTensor(x.dtype, shape);
  const o = out.data as unknown as Float64Array;
  const a = x.data as unknown as Float64Array;
  const st = storer(x.dtype);
  const fillValue = st ? st(value) : value;
  for (let k = 0; k < o.length; k++) {
    unravel(k, shape, idx);
    let off = 0;
    let outside = false;
    for (let ax = 0; ax < rank; ax++) {
      const c = inside(idx[ax] - pads[ax], x.shape[ax]);
      if (c < 0) {
        outside = true;
        break;
      }
      off += c * str[ax];
    }
    o[k] = outside ? fillValue : a[off];
  }
  return [out];
}

function gather(node: Node, inputs: Inputs): Tensor[] {
  const x = need(node, inputs, 0, 'data');
  const ind = need(node, inputs, 1, 'indices');
  const axis = normAxis(attrInt(node, 'axis', 0), x.shape.length);
  const dim = x.shape[axis];
  const iv = Array.from(nums(ind), (i) => {
    if (i < -dim || i >= dim) fail('ShapeMismatch', `Gather index ${i} is out of range for axis ${axis} of size ${dim}`);
    return i < 0 ? i + dim : i;
  });
  const inner = prod(x.shape, axis + 1);
  const shape = [...x.shape.slice(0, axis), ...ind.shape, ...x.shape.slice(axis + 1)];
  const ni = iv.length;
  return [take(x, shape, (k) => {
    const j = k % inner;
    const r = Math.floor(k / inner);
    const q = r % ni;
    const o = Math.floor(r / ni);
    return (o * dim + iv[q]) * inner + j;
  })];
}

function gatherElements(node: Node, inputs: Inputs): Tensor[] {
  const x = need(node, inputs, 0, 'data');
  const ind = need(node, inputs, 1, 'indices');
  const rank = x.shape.length;
  const axis = normAxis(attrInt(node, 'axis', 0), rank);
  if (ind.shape.length !== rank) fail('ShapeMismatch', `GatherElements indices must have rank ${rank}, not ${ind.shape.length}`);
  const str = strides(x.shape);
  const iv = nums(ind);
  const idx = new Array<number>(rank).fill(0);
  const dim = x.shape[axis];
  return [take(x, [...ind.shape], (k) => {
    unravel(k, ind.shape, idx);
    let i = iv[k];
    if (i < -dim || i >= dim) fail('ShapeMismatch', `GatherElements index ${i} is out of range for axis ${axis} of size ${dim}`);
    if (i < 0) i += dim;
    idx[axis] = i;
    return idx.reduce((s, c, a) => s + c * str[a], 0);
  })];
}

function gatherND(node: Node, inputs: Inputs): Tensor[] {
  const x = need(node, inputs, 0, 'data');
  const ind = need(node, inputs, 1, 'indices');
  const b = attrInt(node, 'batch_dims', 0);
  const q = ind.shape.length;
  const last = ind.shape[q - 1];
  const shape = [...ind.shape.slice(0, q - 1), ...x.shape.slice(b + last)];
  const inner = prod(x.shape, b + last);
  const batch = prod(x.shape, 0, b);
  const perBatchIdx = prod(ind.shape, b, q - 1);
  const xStr = strides(x.shape);
  const iv = nums(ind);
  const batchStride = prod(x.shape, b);
  return [take(x, shape, (k) => {
    const j = k % inner;
    const t = Math.floor(k / inner); // which index tuple
    const bi = Math.floor(t / perBatchIdx) % Math.max(batch, 1);
    let off = bi * batchStride;
    for (let d = 0; d < last; d++) {
      const dim = x.shape[b + d];
      let i = iv[t * last + d];
      if (i < 0) i += dim;
      off += i * xStr[b + d];
    }
    return off + j;
  })];
}

type Reduction = (old: number, upd: number) => number;
function reduction(node: Node): Reduction {
  const r = attrString(node, 'reduction', 'none');
  switch (r) {
    case 'none': return (_o, u) => u;
    case 'add': return (o, u) => o + u;
    case 'mul': return (o, u) => o * u;
    case 'max': return Math.max;
    case 'min': return Math.min;
    default: fail('BadAttribute', `reduction must be none, add, mul, max or min, not ${r}`);
  }
}

function scatterElements(node: Node, inputs: Inputs): Tensor[] {
  const x = need(node, inputs, 0, 'data');
  const ind = need(node, inputs, 1, 'indices');
  const upd = need(node, inputs, 2, 'updates');
  const rank = x.shape.length;
  const axis = normAxis(attrInt(node, 'axis', 0), rank);
  const red = reduction(node);
  const out = reshaped(x, x.shape);
  const o = nums(out);
  const str = strides(x.shape);
  const iv = nums(ind);
  const uv = nums(upd);
  const idx = new Array<number>(rank).fill(0);
  const dim = x.shape[axis];
  for (let k = 0; k < iv.length; k++) {
    unravel(k, ind.shape, idx);
    let i = iv[k];
    if (i < -dim || i >= dim) fail('ShapeMismatch', `scatter index ${i} is out of range for axis ${axis} of size ${dim}`);
    if (i < 0) i += dim;
    idx[axis] = i;
    const off = idx.reduce((s, c, a) => s + c * str[a], 0);
    o[off] = red(o[off], uv[k]);
  }
  return [out];
}

function scatterND(node: Node, inputs: Inputs): Tensor[] {
  const x = need(node, inputs, 0, 'data');
  const ind = need(node, inputs, 1, 'indices');
  const upd = need(node, inputs, 2, 'updates');
  const red = reduction(node);
  const out = reshaped(x, x.shape);
  const o = nums(out);
  const q = ind.shape.length;
  const last = ind.shape[q - 1];
  const inner = prod(x.shape, last);
  const str = strides(x.shape);
  const iv = nums(ind);
  const uv = nums(upd);
  const nIdx = prod(ind.shape, 0, q - 1);
  for (let t = 0; t < nIdx; t++) {
    let off = 0;
    for (let d = 0; d < last; d++) {
      let i = iv[t * last + d];
      if (i < 0) i += x.shape[d];
      off += i * str[d];
    }
    for (let j = 0; j < inner; j++) o[off + j] = red(o[off + j], uv[t * inner + j]);
  }
  return [out];
}

function depthToSpace(node: Node, inputs: Inputs): Tensor[] {
  const x = need(node, inputs, 0, 'input');
  const bs = attrInt(node, 'blocksize');
  const mode = attrString(node, 'mode', 'DCR');
  if (x.shape.length !== 4) fail('ShapeMismatch', `DepthToSpace input must be 4-D, not ${formatShape(x.shape)}`);
  const [b, c, h, w] = x.shape;
  if (c % (bs * bs) !== 0) fail('ShapeMismatch', `DepthToSpace channels ${c} must be a multiple of blocksize^2 = ${bs * bs}`);
  const c2 = c / (bs * bs);
  const t = mode === 'CRD'
    ? transpose({ ...x, shape: [b, c2, bs, bs, h, w] }, [0, 1, 4, 2, 5, 3])
    : transpose({ ...x, shape: [b, bs, bs, c2, h, w] }, [0, 3, 4, 1, 5, 2]);
  return [{ ...t, shape: [b, c2, h * bs, w * bs] }];
}

function spaceToDepth(node: Node, inputs: Inputs): Tensor[] {
  const x = need(node, inputs, 0, 'input');
  const bs = attrInt(node, 'blocksize');
  if (x.shape.length !== 4) fail('ShapeMismatch', `SpaceToDepth input must be 4-D, not ${formatShape(x.shape)}`);
  const [b, c, h, w] = x.shape;
  if (h % bs || w % bs) fail('ShapeMismatch', `SpaceToDepth spatial dims ${h}x${w} must be multiples of blocksize ${bs}`);
  const t = transpose({ ...x, shape: [b, c, h / bs, bs, w / bs, bs] }, [0, 3, 5, 1, 2, 4]);
  return [{ ...t, shape: [b, c * bs * bs, h / bs, w / bs] }];
}

function tile(node: Node, inputs: Inputs): Tensor[] {
  const x = need(node, inputs, 0, 'input');
  const reps = intsOf(need(node, inputs, 1, 'repeats'))!;
  if (reps.length !== x.shape.length) fail('ShapeMismatch', `Tile repeats must have one value per axis (${x.shape.length}), not ${reps.length}`);
  const shape = x.shape.map((d, a) => d * reps[a]);
  const str = strides(x.shape);
  const idx = new Array<number>(shape.length).fill(0);
  return [take(x, shape, (k) => {
    unravel(k, shape, idx);
    return idx.reduce((s, c, a) => s + (c % x.shape[a]) * str[a], 0);
  })];
}

function expand(node: Node, inputs: Inputs): Tensor[] {
  const x = need(node, inputs, 0, 'input');
  const shape = broadcastShapes([x.shape, intsOf(need(node, inputs, 1, 'shape'))!]);
  const idx = broadcastIndex(x.shape, shape);
  return [take(x, shape, (k) => idx[k])];
}

function range(node: Node, inputs: Inputs): Tensor[] {
  const [s, l, d] = [0, 1, 2].map((k) => nums(need(node, inputs, k, ['start', 'limit', 'delta'][k]))[0]);
  const start = need(node, inputs, 0, 'start');
  if (d === 0) fail('BadAttribute', 'Range delta must not be 0');
  const n = Math.max(Math.ceil((l - s) / d), 0);
  const out = makeTensor(start.dtype, [n]);
  const o = nums(out);
  for (let i = 0; i < n; i++) o[i] = s + i * d;
  return [out];
}

function trilu(node: Node, inputs: Inputs): Tensor[] {
  const x = need(node, inputs, 0, 'input');
  const k = inputs[1] ? nums(inputs[1])[0] : 0;
  const upper = attrInt(node, 'upper', 1) !== 0;
  const r = x.shape.length;
  if (r < 2) fail('ShapeMismatch', `Trilu input must have rank >= 2, not ${r}`);
  const [h, w] = x.shape.slice(r - 2);
  const out = reshaped(x, x.shape);
  const o = nums(out);
  for (let i = 0; i < o.length; i++) {
    const col = i % w;
    const row = Math.floor(i / w) % h;
    const keep = upper ? col - row >= k : col - row <= k;
    if (!keep) o[i] = 0;
  }
  return [out];
}

function eyeLike(node: Node, inputs: Inputs): Tensor[] {
  const x = need(node, inputs, 0, 'input');
  if (x.shape.length !== 2) fail('ShapeMismatch', `EyeLike input must be 2-D, not ${formatShape(x.shape)}`);
  const dtype: DType = node.attrs.dtype ? dtypeFromOnnx(attrInt(node, 'dtype'), 'EyeLike dtype') : x.dtype;
  const k = attrInt(node, 'k', 0);
  const out = makeTensor(dtype, x.shape);
  const o = nums(out);
  const [h, w] = x.shape;
  for (let i = 0; i < h; i++) if (i + k >= 0 && i + k < w) o[i * w + i + k] = 1;
  return [out];
}

function oneHot(node: Node, inputs: Inputs): Tensor[] {
  const ind = need(node, inputs, 0, 'indices');
  const depth = Math.trunc(nums(need(node, inputs, 1, 'depth'))[0]);
  const values = need(node, inputs, 2, 'values');
  const [off, on] = nums(values);
  const rank = ind.shape.length + 1;
  const axis = normAxis(attrInt(node, 'axis', -1), rank);
  const shape = [...ind.shape.slice(0, axis), depth, ...ind.shape.slice(axis)];
  const inner = prod(ind.shape, axis);
  const iv = nums(ind);
  const out = makeTensor(values.dtype, shape);
  const o = nums(out);
  for (let k = 0; k < o.length; k++) {
    const j = k % inner;
    const d = Math.floor(k / inner) % depth;
    const outer = Math.floor(k / (inner * depth));
    let i = iv[outer * inner + j];
    if (i < 0) i += depth;
    o[k] = i === d ? on : off;
  }
  return [out];
}

function compress(node: Node, inputs: Inputs): Tensor[] {
  const x0 = need(node, inputs, 0, 'input');
  const cond = nums(need(node, inputs, 1, 'condition'));
  const flat = node.attrs.axis === undefined;
  const x = flat ? { ...x0, shape: [numel(x0.shape)] } : x0;
  const axis = flat ? 0 : normAxis(attrInt(node, 'axis'), x.shape.length);
  const keep: number[] = [];
  for (let i = 0; i < Math.min(cond.length, x.shape[axis]); i++) if (cond[i]) keep.push(i);
  const inner = prod(x.shape, axis + 1);
  const shape = x.shape.map((d, a) => (a === axis ? keep.length : d));
  return [take(x, shape, (k) => {
    const j = k % inner;
    const q = Math.floor(k / inner) % keep.length;
    const o = Math.floor(k / (inner * keep.length));
    return (o * x.shape[axis] + keep[q]) * inner + j;
  })];
}

function nonZero(node: Node, inputs: Inputs): Tensor[] {
  const x = need(node, inputs, 0, 'X');
  const v = nums(x);
  const hits: number[] = [];
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) hits.push(i);
  const r = x.shape.length;
  const out = makeTensor('int64', [r, hits.length]);
  const o = nums(out);
  const idx = new Array<number>(r).fill(0);
  hits.forEach((h, j) => {
    unravel(h, x.shape, idx);
    for (let a = 0; a < r; a++) o[a * hits.length + j] = idx[a];
  });
  return [out];
}

function reverseSequence(node: Node, inputs: Inputs): Tensor[] {
  const x = need(node, inputs, 0, 'input');
  const lens = nums(need(node, inputs, 1, 'sequence_lens'));
  const bAx = attrInt(node, 'batch_axis', 1);
  const tAx = attrInt(node, 'time_axis', 0);
  const str = strides(x.shape);
  const idx = new Array<number>(x.shape.length).fill(0);
  return [take(x, [...x.shape], (k) => {
    unravel(k, x.shape, idx);
    const t = idx[tAx];
    const len = lens[idx[bAx]];
    if (t < len) idx[tAx] = len - 1 - t;
    return idx.reduce((s, c, a) => s + c * str[a], 0);
  })];
}

/** Unique: distinct elements (or slices along axis), sorted or in first-occurrence order. */
function unique(node: Node, inputs: Inputs): Tensor[] {
  const x0 = need(node, inputs, 0, 'X');
  const flat = node.attrs.axis === undefined;
  const x = flat ? { ...x0, shape: [numel(x0.shape)] } : x0;
  const axis = flat ? 0 : normAxis(attrInt(node, 'axis'), x.shape.length);
  const dim = x.shape[axis];
  const inner = prod(x.shape, axis + 1);
  const outer = prod(x.shape, 0, axis);
  const v = nums(x);
  const sliceOf = (i: number) => {
    const s: number[] = [];
    for (let o = 0; o < outer; o++) for (let j = 0; j < inner; j++) s.push(v[(o * dim + i) * inner + j]);
    return s;
  };
  const slices = Array.from({ length: dim }, (_, i) => sliceOf(i));
  const firstOf = new Map<string, number>();
  const counts = new Map<string, number>();
  slices.forEach((s, i) => {
    const k = s.join(',');
    if (!firstOf.has(k)) firstOf.set(k, i);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  });
  let order = [...firstOf.values()];
  if (attrInt(node, 'sorted', 1) !== 0) {
    const lex = (a: number[], b: number[]) => {
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
      return 0;
    };
    order = order.sort((a, b) => lex(slices[a], slices[b]));
  }
  const rank = new Map(order.map((i, r) => [slices[i].join(','), r]));
  const shape = x.shape.map((d, a) => (a === axis ? order.length : d));
  const Y = take(x, shape, (k) => {
    const j = k % inner;
    const q = Math.floor(k / inner) % order.length;
    const o = Math.floor(k / (inner * order.length));
    return (o * dim + order[q]) * inner + j;
  });
  return [
    Y,
    int64(order),
    int64(slices.map((s) => rank.get(s.join(','))!)),
    int64(order.map((i) => counts.get(slices[i].join(','))!)),
  ];
}

const identity: OpImpl = (node, inputs) => [need(node, inputs, 0, 'input')];

export const shapeOps: OpTable = {
  Identity: identity,
  // qonnx DebugMarker: a named tap that passes its input through unchanged.
  DebugMarker: identity,
  Constant: (node) => [constantValue(node)],
  Shape: (node, inputs) => {
    const x = need(node, inputs, 0, 'data');
    const r = x.shape.length;
    const clampIdx = (i: number) => Math.min(Math.max(i < 0 ? i + r : i, 0), r);
    const start = clampIdx(attrInt(node, 'start', 0));
    const end = node.attrs.end ? clampIdx(attrInt(node, 'end')) : r;
    return [int64(x.shape.slice(start, Math.max(start, end)))];
  },
  Size: (node, inputs) => [int64([numel(need(node, inputs, 0, 'data').shape)], [])],
  Reshape: (node, inputs, ctx) => {
    const x = need(node, inputs, 0, 'data');
    const target = ctx.opset < 5 ? attrInts(node, 'shape') : intsOf(need(node, inputs, 1, 'shape'))!;
    return [{ ...x, shape: reshapeTarget(x.shape, target, attrInt(node, 'allowzero', 0) !== 0) }];
  },
  Flatten: (node, inputs) => {
    const x = need(node, inputs, 0, 'input');
    const r = x.shape.length;
    const axis = attrInt(node, 'axis', 1);
    if (axis < -r || axis > r) fail('BadAttribute', `Flatten axis must be in [${-r}, ${r}], not ${axis}`);
    const a = axis < 0 ? axis + r : axis;
    return [{ ...x, shape: [prod(x.shape, 0, a), prod(x.shape, a)] }];
  },
  Transpose: (node, inputs) => {
    const x = need(node, inputs, 0, 'data');
    const perm = node.attrs.perm ? attrInts(node, 'perm') : x.shape.map((_, i) => x.shape.length - 1 - i);
    return [transpose(x, perm)];
  },
  Squeeze: (node, inputs, ctx) => {
    const x = need(node, inputs, 0, 'data');
    const given = attrOrInput(node, inputs, ctx.opset, 13, 'axes', 1);
    const axes = given ? normAxes(given, x.shape.length) : x.shape.flatMap((d, a) => (d === 1 ? [a] : []));
    for (const a of axes) if (x.shape[a] !== 1) fail('ShapeMismatch', `Squeeze axis ${a} must have size 1, not ${x.shape[a]} (shape ${formatShape(x.shape)})`);
    return [{ ...x, shape: x.shape.filter((_, a) => !axes.includes(a)) }];
  },
  Unsqueeze: (node, inputs, ctx) => {
    const x = need(node, inputs, 0, 'data');
    const given = attrOrInput(node, inputs, ctx.opset, 13, 'axes', 1);
    if (!given) fail('BadAttribute', 'Unsqueeze needs axes');
    const r = x.shape.length + given.length;
    const axes = normAxes(given, r);
    const shape: number[] = [];
    let k = 0;
    for (let a = 0; a < r; a++) shape.push(axes.includes(a) ? 1 : x.shape[k++]);
    return [{ ...x, shape }];
  },
  Concat: concat,
  Pad: pad,
  Gather: gather,
  GatherElements: gatherElements,
  GatherND: gatherND,
  ScatterElements: scatterElements,
  Scatter: scatterElements,
  ScatterND: scatterND,
  Slice: slice,
  Split: split,
  Expand: expand,
  Tile: tile,
  ConstantOfShape: (node, inputs) => {
    const shape = intsOf(need(node, inputs, 0, 'input'))!;
    const v = attrTensor(node, 'value') ?? makeTensor('float32', [1], [0]);
    const out = makeTensor(v.dtype, shape);
    nums(out).fill(nums(v)[0]);
    return [out];
  },
  Range: range,
  DepthToSpace: depthToSpace,
  SpaceToDepth: spaceToDepth,
  Trilu: trilu,
  EyeLike: eyeLike,
  OneHot: oneHot,
  Compress: compress,
  NonZero: nonZero,
  ReverseSequence: reverseSequence,
  Unique: unique,
};
