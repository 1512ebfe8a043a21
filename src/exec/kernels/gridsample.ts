// GridSample (opset 16, 4-D): sample X at normalised grid points with nearest, bilinear or
// bicubic interpolation and zeros/border/reflection padding, as onnxruntime does.
import { fail } from '../../diag/index.ts';
import { nums, type Tensor } from '../../ir/tensor.ts';
import { roundHalfEven } from './round.ts';

export interface GridSampleSpec {
  mode: string;
  padding: string;
  alignCorners: boolean;
}

/** Reflect x into [lo, hi] (repeatedly, like a mirror pair). */
function reflect(x: number, lo: number, hi: number): number {
  const span = hi - lo;
  if (span <= 0) return lo;
  let d = Math.abs(x - lo);
  const flips = Math.floor(d / span);
  d -= flips * span;
  return flips % 2 === 0 ? lo + d : hi - d;
}

function cubicWeights(t: number): number[] {
  const A = -0.75;
  const w0 = ((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A;
  const w1 = ((A + 2) * t - (A + 3)) * t * t + 1;
  const u = 1 - t;
  const w2 = ((A + 2) * u - (A + 3)) * u * u + 1;
  const w3 = ((A * (u + 1) - 5 * A) * (u + 1) + 8 * A) * (u + 1) - 4 * A;
  return [w0, w1, w2, w3];
}

export function gridSample(X: Tensor, grid: Tensor, spec: GridSampleSpec): { data: Float64Array; shape: number[] } {
  if (X.shape.length !== 4 || grid.shape.length !== 4 || grid.shape[3] !== 2) fail('ShapeMismatch', `GridSample supports X [N,C,H,W] with grid [N,Ho,Wo,2], not [${X.shape}] and [${grid.shape}]`);
  const [N, C, H, W] = X.shape;
  const [, Ho, Wo] = grid.shape;
  const x = nums(X);
  const gv = nums(grid);
  const out = new Float64Array(N * C * Ho * Wo);
  const unnorm = (g: number, size: number) => (spec.alignCorners ? ((g + 1) / 2) * (size - 1) : ((g + 1) * size - 1) / 2);
  const [loX, hiX, loY, hiY] = spec.alignCorners ? [0, W - 1, 0, H - 1] : [-0.5, W - 0.5, -0.5, H - 0.5];
  const pixel = (base: number, yi: number, xi: number): number => {
    if (spec.padding === 'zeros') return yi < 0 || yi >= H || xi < 0 || xi >= W ? 0 : x[base + yi * W + xi];
    if (spec.padding === 'reflection' && spec.mode === 'bicubic') {
      xi = Math.round(reflect(xi, loX, hiX));
      yi = Math.round(reflect(yi, loY, hiY));
    }
    const cy = Math.min(Math.max(yi, 0), H - 1);
    const cx = Math.min(Math.max(xi, 0), W - 1);
    return x[base + cy * W + cx];
  };
  for (let n = 0; n < N; n++) for (let oy = 0; oy < Ho; oy++) for (let ox = 0; ox < Wo; ox++) {
    const g = ((n * Ho + oy) * Wo + ox) * 2;
    let sx = unnorm(gv[g], W);
    let sy = unnorm(gv[g + 1], H);
    if (spec.mode !== 'bicubic') {
      if (spec.padding === 'border') {
        sx = Math.min(Math.max(sx, 0), W - 1);
        sy = Math.min(Math.max(sy, 0), H - 1);
      } else if (spec.padding === 'reflection') {
        sx = reflect(sx, loX, hiX);
        sy = reflect(sy, loY, hiY);
      }
    }
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * H * W;
      let v: number;
      if (spec.mode === 'nearest') {
        v = pixel(base, roundHalfEven(sy), roundHalfEven(sx));
      } else if (spec.mode === 'bilinear') {
        const x0 = Math.floor(sx);
        const y0 = Math.floor(sy);
        const tx = sx - x0;
        const ty = sy - y0;
        v = (1 - ty) * ((1 - tx) * pixel(base, y0, x0) + tx * pixel(base, y0, x0 + 1)) + ty * ((1 - tx) * pixel(base, y0 + 1, x0) + tx * pixel(base, y0 + 1, x0 + 1));
      } else if (spec.mode === 'bicubic') {
        const x0 = Math.floor(sx);
        const y0 = Math.floor(sy);
        const wx = cubicWeights(sx - x0);
        const wy = cubicWeights(sy - y0);
        v = 0;
        for (let i = 0; i < 4; i++) {
          let row = 0;
          for (let j = 0; j < 4; j++) row += wx[j] * pixel(base, y0 - 1 + i, x0 - 1 + j);
          v += wy[i] * row;
        }
      } else {
        fail('BadAttribute', `GridSample mode must be bilinear, nearest or bicubic, not ${spec.mode}`);
      }
      out[((n * C + c) * Ho + oy) * Wo + ox] = v;
    }
  }
  return { data: out, shape: [N, C, Ho, Wo] };
}
