// Resize (and Upsample) as separable 1-D interpolations, one axis at a time, in float64.
// Coordinate transforms, nearest rounding modes and cubic coefficients follow the ONNX reference.
import { fail } from '../../diag/index.ts';
import { makeTensor, nums, type Tensor } from '../../ir/tensor.ts';
import { unravel } from './layout.ts';
import { roundHalfEven } from './round.ts';
import { prod, storer } from './util.ts';

export interface ResizeSpec {
  mode: string; // nearest | linear | cubic
  coord: string; // coordinate_transformation_mode
  nearestMode: string; // round_prefer_floor | round_prefer_ceil | floor | ceil | simple (opset 10)
  cubicA: number;
  excludeOutside: boolean;
  extrapolation: number;
  roi?: number[];
}

interface Taps {
  idx: number[][];
  w: number[][];
  outside: boolean[];
}

function sourceCoord(x: number, scale: number, inLen: number, spec: ResizeSpec, axis: number, rank: number): number {
  // The reference uses the unfloored output length in * scale (equal to the size when sizes are given).
  const outLen = inLen * scale;
  switch (spec.coord) {
    case 'half_pixel': return (x + 0.5) / scale - 0.5;
    case 'pytorch_half_pixel': return outLen > 1 ? (x + 0.5) / scale - 0.5 : 0;
    case 'align_corners': return outLen === 1 ? 0 : (x * (inLen - 1)) / (outLen - 1);
    case 'asymmetric': return x / scale;
    case 'tf_half_pixel_for_nn': return (x + 0.5) / scale;
    case 'tf_crop_and_resize': {
      const roi = spec.roi ?? [];
      const start = roi[axis] ?? 0;
      const end = roi[axis + rank] ?? 1;
      return outLen > 1 ? start * (inLen - 1) + (x * (end - start) * (inLen - 1)) / (outLen - 1) : 0.5 * (start + end) * (inLen - 1);
    }
    default: fail('BadAttribute', `Resize coordinate_transformation_mode ${spec.coord} is not one of half_pixel, pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn, tf_crop_and_resize`);
  }
}

function nearestIndex(x: number, scale: number, mode: string): number {
  switch (mode) {
    case 'round_prefer_floor': return x - Math.floor(x) === 0.5 ? Math.floor(x) : Math.round(x);
    case 'round_prefer_ceil': return Math.round(x);
    case 'floor': return Math.floor(x);
    case 'ceil': return Math.ceil(x);
    case 'simple': return scale < 1 ? Math.ceil(x) : Math.floor(x);
    case 'round_half_even': return roundHalfEven(x);
    default: fail('BadAttribute', `Resize nearest_mode ${mode} is not one of round_prefer_floor, round_prefer_ceil, floor, ceil`);
  }
}

function cubicCoeffs(t: number, A: number): number[] {
  const u = 1 - t;
  return [
    ((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A,
    ((A + 2) * t - (A + 3)) * t * t + 1,
    ((A + 2) * u - (A + 3)) * u * u + 1,
    ((A * (u + 1) - 5 * A) * (u + 1) + 8 * A) * (u + 1) - 4 * A,
  ];
}

function tapsFor(inLen: number, outLen: number, scale: number, spec: ResizeSpec, axis: number, rank: number): Taps {
  const taps: Taps = { idx: [], w: [], outside: [] };
  const clampI = (i: number) => Math.min(Math.max(i, 0), inLen - 1);
  for (let o = 0; o < outLen; o++) {
    const x = sourceCoord(o, scale, inLen, spec, axis, rank);
    taps.outside.push(spec.coord === 'tf_crop_and_resize' && (x < 0 || x > inLen - 1));
    if (spec.mode === 'nearest') {
      taps.idx.push([clampI(nearestIndex(x, scale, spec.nearestMode))]);
      taps.w.push([1]);
    } else if (spec.mode === 'linear') {
      const xc = Math.min(Math.max(x, 0), inLen - 1);
      const x0 = Math.floor(xc);
      const t = xc - x0;
      taps.idx.push([x0, clampI(x0 + 1)]);
      taps.w.push([1 - t, t]);
    } else if (spec.mode === 'cubic') {
      const x0 = Math.floor(x);
      const t = x - x0;
      const raw = [x0 - 1, x0, x0 + 1, x0 + 2];
      let w = cubicCoeffs(t, spec.cubicA);
      if (spec.excludeOutside) {
        w = w.map((c, k) => (raw[k] < 0 || raw[k] >= inLen ? 0 : c));
        const s = w.reduce((a, b) => a + b, 0);
        w = w.map((c) => c / s);
      }
      taps.idx.push(raw.map(clampI));
      taps.w.push(w);
    } else {
      fail('BadAttribute', `Resize mode must be nearest, linear or cubic, not ${spec.mode}`);
    }
  }
  return taps;
}

/** Resize x to outShape; scales[a] is the (possibly derived) scale factor of axis a. */
export function resize(x: Tensor, outShape: number[], scales: number[], spec: ResizeSpec): Tensor {
  const rank = x.shape.length;
  let shape = [...x.shape];
  let data = Float64Array.from(nums(x));
  const outside: boolean[][] = [];
  for (let a = 0; a < rank; a++) {
    const taps = tapsFor(x.shape[a], outShape[a], scales[a], spec, a, rank);
    outside.push(taps.outside);
    const identity = outShape[a] === shape[a] && taps.idx.every((ix, o) => ix.length === 1 ? ix[0] === o : false);
    if (identity) continue;
    const outer = prod(shape, 0, a);
    const inner = prod(shape, a + 1);
    const inLen = shape[a];
    const outLen = outShape[a];
    const next = new Float64Array(outer * outLen * inner);
    for (let p = 0; p < outer; p++) {
      for (let o = 0; o < outLen; o++) {
        const ix = taps.idx[o];
        const w = taps.w[o];
        const dst = (p * outLen + o) * inner;
        for (let t = 0; t < ix.length; t++) {
          const src = (p * inLen + ix[t]) * inner;
          const wt = w[t];
          if (wt === 0) continue;
          for (let j = 0; j < inner; j++) next[dst + j] += wt * data[src + j];
        }
      }
    }
    data = next;
    shape = shape.map((d, k) => (k === a ? outLen : d));
  }
  if (outside.some((o) => o.some(Boolean))) {
    const idx = new Array<number>(rank).fill(0);
    for (let k = 0; k < data.length; k++) {
      unravel(k, shape, idx);
      if (idx.some((c, a) => outside[a][c])) data[k] = spec.extrapolation;
    }
  }
  const out = makeTensor(x.dtype, shape);
  const o = nums(out);
  const st = storer(x.dtype);
  // Integer outputs round to nearest (the reference rounds interpolated values for int types).
  const isInt = x.dtype !== 'float32' && x.dtype !== 'float64' && x.dtype !== 'float16' && x.dtype !== 'bfloat16';
  for (let k = 0; k < data.length; k++) {
    const v = isInt ? Math.round(data[k]) : data[k];
    o[k] = st ? st(v) : v;
  }
  return out;
}
