// Multidirectional (numpy) broadcasting and the elementwise maps built on it.
import { fail } from '../../diag/index.ts';
import { formatShape, makeTensor, nums, sameShape, strides, type DType, type Tensor } from '../../ir/tensor.ts';
import { storer } from './util.ts';

/** The numpy broadcast of several shapes; refused when two dims differ and neither is 1. */
export function broadcastShapes(shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    const off = rank - s.length;
    s.forEach((d, i) => {
      const o = out[off + i];
      if (o === d || d === 1) return;
      if (o === 1) out[off + i] = d;
      else fail('ShapeMismatch', `input shapes must be broadcastable, not ${shapes.map(formatShape).join(' and ')}`);
    });
  }
  return out;
}

/** For every flat index of `outShape`, the flat index of the element of `shape` it reads. */
export function broadcastIndex(shape: readonly number[], outShape: readonly number[]): Int32Array {
  const rank = outShape.length;
  const off = rank - shape.length;
  const inStr = strides(shape);
  // Stride per output axis, 0 where the input is broadcast.
  const bs = outShape.map((_, i) => (i < off || shape[i - off] === 1 ? 0 : inStr[i - off]));
  let n = 1;
  for (const d of outShape) n *= d;
  const idx = new Int32Array(n);
  const ctr = new Array<number>(rank).fill(0);
  let cur = 0;
  for (let k = 0; k < n; k++) {
    idx[k] = cur;
    for (let a = rank - 1; a >= 0; a--) {
      ctr[a]++;
      cur += bs[a];
      if (ctr[a] < outShape[a]) break;
      cur -= bs[a] * ctr[a];
      ctr[a] = 0;
    }
  }
  return idx;
}

/** Unidirectional broadcast check: `shape` can be broadcast to `target`. */
export function canBroadcastTo(shape: readonly number[], target: readonly number[]): boolean {
  if (shape.length > target.length) return false;
  const off = target.length - shape.length;
  return shape.every((d, i) => d === 1 || d === target[off + i]);
}

/** Read `t` broadcast to `outShape` as a fresh Float64Array. */
export function expandTo(t: Tensor, outShape: readonly number[]): Float64Array {
  const src = nums(t);
  if (sameShape(t.shape, outShape)) return Float64Array.from(src);
  const idx = broadcastIndex(t.shape, outShape);
  const out = new Float64Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = src[idx[i]];
  return out;
}

export function unaryMap(x: Tensor, outDtype: DType, f: (a: number) => number): Tensor {
  const out = makeTensor(outDtype, x.shape);
  const a = nums(x);
  const o = nums(out);
  const st = storer(outDtype);
  if (st) for (let i = 0; i < o.length; i++) o[i] = st(f(a[i]));
  else for (let i = 0; i < o.length; i++) o[i] = f(a[i]);
  return out;
}

export function binaryMap(x: Tensor, y: Tensor, outDtype: DType, f: (a: number, b: number) => number): Tensor {
  const shape = broadcastShapes([x.shape, y.shape]);
  const out = makeTensor(outDtype, shape);
  const a = nums(x);
  const b = nums(y);
  const o = nums(out);
  const st = storer(outDtype) ?? ((v: number) => v);
  if (sameShape(x.shape, y.shape)) {
    for (let i = 0; i < o.length; i++) o[i] = st(f(a[i], b[i]));
  } else if (b.length === 1 && sameShape(x.shape, shape)) {
    const bv = b[0];
    for (let i = 0; i < o.length; i++) o[i] = st(f(a[i], bv));
  } else {
    const ia = broadcastIndex(x.shape, shape);
    const ib = broadcastIndex(y.shape, shape);
    for (let i = 0; i < o.length; i++) o[i] = st(f(a[ia[i]], b[ib[i]]));
  }
  return out;
}

export function ternaryMap(x: Tensor, y: Tensor, z: Tensor, outDtype: DType, f: (a: number, b: number, c: number) => number): Tensor {
  const shape = broadcastShapes([x.shape, y.shape, z.shape]);
  const out = makeTensor(outDtype, shape);
  const [a, b, c] = [nums(x), nums(y), nums(z)];
  const [ia, ib, ic] = [broadcastIndex(x.shape, shape), broadcastIndex(y.shape, shape), broadcastIndex(z.shape, shape)];
  const o = nums(out);
  const st = storer(outDtype) ?? ((v: number) => v);
  for (let i = 0; i < o.length; i++) o[i] = st(f(a[ia[i]], b[ib[i]], c[ic[i]]));
  return out;
}
