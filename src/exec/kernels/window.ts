// Sliding-window geometry (Conv, ConvTranspose, pooling): strides, dilations, explicit or automatic
// pads, output sizes. Everything is normalised to 3 spatial dims (1-D and 2-D get leading 1s) so
// one loop nest serves Conv1d/2d/3d.
import { fail } from '../../diag/index.ts';
import { attrInt, attrInts, attrString, type Node } from '../../ir/graph.ts';

export interface Window {
  /** Spatial rank as given (1..3). */
  rank: number;
  kernel: number[];
  strides: number[];
  dilations: number[];
  padsBegin: number[];
  padsEnd: number[];
  inSpatial: number[];
  outSpatial: number[];
}

/**
 * Geometry of a forward window op (Conv, MaxPool, AveragePool): reads auto_pad, pads, strides,
 * dilations (and ceil_mode when `ceilMode` is allowed) from the node.
 */
export function windowOf(node: Node, inSpatial: number[], kernel: number[], allowCeil: boolean): Window {
  const rank = inSpatial.length;
  if (rank < 1 || rank > 3) fail('ShapeMismatch', `${node.op} supports 1 to 3 spatial dims, not ${rank}`);
  if (kernel.length !== rank || kernel.some((k) => !Number.isInteger(k) || k < 1)) fail('BadAttribute', `${node.op} kernel_shape must be ${rank} positive ints, not [${kernel.join(',')}]`);
  const ones = inSpatial.map(() => 1);
  const strides = attrInts(node, 'strides', ones);
  const dilations = attrInts(node, 'dilations', ones);
  for (const [name, v] of [['strides', strides], ['dilations', dilations]] as const) {
    if (v.length !== rank || v.some((s) => !Number.isInteger(s) || s < 1)) fail('BadAttribute', `${node.op} ${name} must be ${rank} positive ints, not [${v.join(',')}]`);
  }
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const ceil = allowCeil && attrInt(node, 'ceil_mode', 0) !== 0;
  const eff = kernel.map((k, i) => (k - 1) * dilations[i] + 1);
  let padsBegin: number[];
  let padsEnd: number[];
  let outSpatial: number[];
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    outSpatial = inSpatial.map((n, i) => Math.ceil(n / strides[i]));
    const total = inSpatial.map((n, i) => Math.max(0, (outSpatial[i] - 1) * strides[i] + eff[i] - n));
    padsBegin = total.map((t) => (autoPad === 'SAME_UPPER' ? Math.floor(t / 2) : Math.ceil(t / 2)));
    padsEnd = total.map((t, i) => t - padsBegin[i]);
  } else if (autoPad === 'VALID' || autoPad === 'NOTSET') {
    const pads = autoPad === 'VALID' ? new Array<number>(2 * rank).fill(0) : attrInts(node, 'pads', new Array<number>(2 * rank).fill(0));
    if (pads.length !== 2 * rank || pads.some((p) => p < 0)) fail('BadAttribute', `${node.op} pads must be ${2 * rank} non-negative ints, not [${pads.join(',')}]`);
    padsBegin = pads.slice(0, rank);
    padsEnd = pads.slice(rank);
    outSpatial = inSpatial.map((n, i) => {
      const span = n + padsBegin[i] + padsEnd[i] - eff[i];
      if (span < 0) fail('ShapeMismatch', `${node.op} window (${eff[i]}) is larger than the padded input (${n + padsBegin[i] + padsEnd[i]}) on spatial axis ${i}`);
      let o = (ceil ? Math.ceil(span / strides[i]) : Math.floor(span / strides[i])) + 1;
      // With ceil_mode, a last window that would start in the end padding is dropped.
      if (ceil && (o - 1) * strides[i] >= n + padsBegin[i]) o--;
      return o;
    });
  } else {
    fail('BadAttribute', `${node.op} auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, not ${autoPad}`);
  }
  return { rank, kernel, strides, dilations, padsBegin, padsEnd, inSpatial, outSpatial };
}

/** Pad a spatial list to 3 dims with leading fill values. */
export function to3(xs: number[], fillValue: number): [number, number, number] {
  const r = [...new Array<number>(3 - xs.length).fill(fillValue), ...xs];
  return [r[0], r[1], r[2]];
}

type Triple = [number, number, number];

/** A window's geometry with every list normalised to 3 spatial dims (the form the loop nests read). */
export interface Window3 { inS: Triple; outS: Triple; kernel: Triple; strides: Triple; dilations: Triple; padsBegin: Triple; padsEnd: Triple }

export function window3(win: Omit<Window, 'rank'>): Window3 {
  return {
    inS: to3(win.inSpatial, 1),
    outS: to3(win.outSpatial, 1),
    kernel: to3(win.kernel, 1),
    strides: to3(win.strides, 1),
    dilations: to3(win.dilations, 1),
    padsBegin: to3(win.padsBegin, 0),
    padsEnd: to3(win.padsEnd, 0),
  };
}

/**
 * Conv accumulators: out[n][m][o] = bias[m] + Σ x[n][c][i] * w[m][c'][k] (float64, exact for
 * integer operands below 2^53). Integer convolutions (ConvInteger, QLinearConv) can pass
 * zero-point-adjusted operands and reuse it. x: [N,C,...spatial], w: [M,C/group,...kernel].
 */
export function convAccumulate(
  xIn: ArrayLike<number>, xShape: number[], wIn: ArrayLike<number>, wShape: number[],
  bias: ArrayLike<number> | undefined, win: Window, group: number,
): Float64Array {
  // One concrete array type keeps the hot loop monomorphic (callers pass Float32Array, Int8Array, …).
  const x = Float64Array.from(xIn);
  const w = Float64Array.from(wIn);
  const [N, C] = xShape;
  const [M, Cg] = wShape;
  if (C !== Cg * group || M % group !== 0) {
    fail('ShapeMismatch', `Conv with group=${group} needs input channels ${Cg * group} (weight [${wShape.join(',')}]) and output channels divisible by ${group}, not input channels ${C}`);
  }
  const Mg = M / group;
  const { inS: [D, H, W], outS: [OD, OH, OW], kernel: [KD, KH, KW], strides: [sd, sh, sw], dilations: [dd, dh, dw], padsBegin: [pd, ph, pw] } = window3(win);
  const outPlane = OD * OH * OW;
  const inPlane = D * H * W;
  const out = new Float64Array(N * M * outPlane);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const g = Math.floor(m / Mg);
      const ob = (n * M + m) * outPlane;
      if (bias) out.fill(bias[m], ob, ob + outPlane);
      for (let c = 0; c < Cg; c++) {
        const xb = (n * C + g * Cg + c) * inPlane;
        const wb = (m * Cg + c) * KD * KH * KW;
        for (let kd = 0; kd < KD; kd++) {
          for (let kh = 0; kh < KH; kh++) {
            for (let kw = 0; kw < KW; kw++) {
              const wv = w[wb + (kd * KH + kh) * KW + kw];
              // Output columns whose input column lies inside [0, W).
              const off = kw * dw - pw;
              const owLo = Math.max(0, Math.ceil(-off / sw));
              const owHi = Math.min(OW, Math.floor((W - 1 - off) / sw) + 1);
              for (let od = 0; od < OD; od++) {
                const id = od * sd - pd + kd * dd;
                if (id < 0 || id >= D) continue;
                for (let oh = 0; oh < OH; oh++) {
                  const ih = oh * sh - ph + kh * dh;
                  if (ih < 0 || ih >= H) continue;
                  const xr = xb + (id * H + ih) * W + off;
                  const or = ob + (od * OH + oh) * OW;
                  for (let ow = owLo; ow < owHi; ow++) out[or + ow] += wv * x[xr + ow * sw];
                }
              }
            }
          }
        }
      }
    }
  }
  return out;
}
