// Reductions over any set of axes (ReduceSum/Mean/Max/…), accumulated in float64.
import { nums, numel, type Tensor } from '../../ir/tensor.ts';

export interface Reducer {
  init: number;
  step: (acc: number, v: number) => number;
  finish?: (acc: number, n: number) => number;
}

export const reducers: Record<string, Reducer> = {
  ReduceSum: { init: 0, step: (a, v) => a + v },
  ReduceMean: { init: 0, step: (a, v) => a + v, finish: (a, n) => a / n },
  ReduceMax: { init: -Infinity, step: (a, v) => (v > a || Number.isNaN(v) ? v : a) },
  ReduceMin: { init: Infinity, step: (a, v) => (v < a || Number.isNaN(v) ? v : a) },
  ReduceProd: { init: 1, step: (a, v) => a * v },
  ReduceL1: { init: 0, step: (a, v) => a + Math.abs(v) },
  ReduceL2: { init: 0, step: (a, v) => a + v * v, finish: (a) => Math.sqrt(a) },
  ReduceSumSquare: { init: 0, step: (a, v) => a + v * v },
  ReduceLogSum: { init: 0, step: (a, v) => a + v, finish: (a) => Math.log(a) },
  ReduceLogSumExp: { init: 0, step: (a, v) => a + Math.exp(v), finish: (a) => Math.log(a) },
};

/** Reduce over `axes` (all when empty); returns float64 results and the reduced shape with kept dims. */
export function reduceAxes(X: Tensor, axes: number[], r: Reducer): { data: Float64Array; keptShape: number[] } {
  const rank = X.shape.length;
  const all = axes.length === 0 ? X.shape.map((_, a) => a) : axes;
  const keptShape = X.shape.map((d, a) => (all.includes(a) ? 1 : d));
  const outN = numel(keptShape);
  const data = new Float64Array(outN).fill(r.init);
  const x = nums(X);
  // Output stride of each input axis (0 on reduced axes).
  const ostr = new Array<number>(rank).fill(0);
  let acc = 1;
  for (let a = rank - 1; a >= 0; a--) {
    ostr[a] = all.includes(a) ? 0 : acc;
    acc *= keptShape[a];
  }
  const ctr = new Array<number>(rank).fill(0);
  let o = 0;
  for (let k = 0; k < x.length; k++) {
    data[o] = r.step(data[o], x[k]);
    for (let a = rank - 1; a >= 0; a--) {
      ctr[a]++;
      o += ostr[a];
      if (ctr[a] < X.shape[a]) break;
      o -= ostr[a] * ctr[a];
      ctr[a] = 0;
    }
  }
  const n = numel(X.shape) / Math.max(outN, 1);
  if (r.finish) for (let i = 0; i < outN; i++) data[i] = r.finish(data[i], n);
  return { data, keptShape };
}
