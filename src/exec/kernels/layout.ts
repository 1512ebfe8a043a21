// Data movement without arithmetic: transpose and index-driven gathers, for any element type.
import { fail } from '../../diag/index.ts';
import { makeTensor, numel, strides, type Tensor } from '../../ir/tensor.ts';

/** A new tensor of t's dtype whose flat element k is t's element src(k). */
export function take(t: Tensor, shape: number[], src: (k: number) => number): Tensor {
  const out = makeTensor(t.dtype, shape);
  const n = numel(shape);
  const a = t.data as ArrayLike<unknown> as Float64Array;
  const o = out.data as unknown as Float64Array;
  for (let k = 0; k < n; k++) o[k] = a[src(k)];
  return out;
}

/** Transpose by `perm` (output axis i is input axis perm[i]). */
export function transpose(t: Tensor, perm: number[]): Tensor {
  const rank = t.shape.length;
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== rank || sorted.some((p, i) => p !== i)) {
    fail('BadAttribute', `perm must be a permutation of 0..${rank - 1}, not [${perm.join(',')}]`);
  }
  const shape = perm.map((p) => t.shape[p]);
  const inStr = strides(t.shape);
  const ps = perm.map((p) => inStr[p]);
  const n = numel(shape);
  const out = makeTensor(t.dtype, shape);
  const a = t.data as unknown as Float64Array;
  const o = out.data as unknown as Float64Array;
  const ctr = new Array<number>(rank).fill(0);
  let cur = 0;
  for (let k = 0; k < n; k++) {
    o[k] = a[cur];
    for (let ax = rank - 1; ax >= 0; ax--) {
      ctr[ax]++;
      cur += ps[ax];
      if (ctr[ax] < shape[ax]) break;
      cur -= ps[ax] * ctr[ax];
      ctr[ax] = 0;
    }
  }
  return out;
}

/** Multi-index of flat index k in a tensor of `shape` (row-major). */
export function unravel(k: number, shape: readonly number[], out: number[]): number[] {
  for (let a = shape.length - 1; a >= 0; a--) {
    out[a] = k % shape[a];
    k = Math.floor(k / shape[a]);
  }
  return out;
}
