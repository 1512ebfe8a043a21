// Convolution-shaped dataflow graphs for the sim and lint tests: [Pad →] SlidingWindow → MVU /
// VectorVector / MaxPool / AvgPool, and an independent direct convolution to check them against.
import { expect } from 'vitest';
import { parseQType, qtypeName, range } from '../../src/ir/datatype.ts';
import type { DataflowGraph, Layer } from '../../src/ir/dataflow.ts';
import { mvuOutType } from '../../src/layers/mvu.ts';
import { windowOutput } from '../../src/layers/sliding-window.ts';
import { rng } from '../unit/layers-helpers.ts';
import { randomValues } from './layer-matrix.ts';

export interface ConvSpec {
  label: string;
  ih: number; iw: number; c: number; m: number; kh: number; kw: number;
  sh: number; sw: number; dh: number; dw: number;
  pads: [number, number, number, number]; // top, bottom, left, right
  /** 'conv' (MVU), 'depthwise' (VectorVector, m = c), 'max' / 'sum' pooling. */
  op: 'conv' | 'depthwise' | 'max' | 'sum';
  /** SlidingWindow taps per beat (kh·kw = a whole window; needs pe = c). */
  taps?: number;
  /** Conv groups: an MVU with block-diagonal weights (output channel m sees input channels of its group). */
  groups?: number;
  inType: string; weightType: string;
  /** Channels per beat of Pad/SlidingWindow and of the reducer / MVU pe, simd. */
  pe: number; mvuPe: number; simd: number;
}

/** Independent direct convolution / pooling on an NHWC image, zero (value 0) padding. */
export function direct(s: ConvSpec, x: number[], w: number[]): number[] {
  const ph = s.ih + s.pads[0] + s.pads[1];
  const pw = s.iw + s.pads[2] + s.pads[3];
  const at = (y: number, xx: number, c: number) => {
    const iy = y - s.pads[0];
    const ix = xx - s.pads[2];
    return iy < 0 || iy >= s.ih || ix < 0 || ix >= s.iw ? 0 : x[(iy * s.iw + ix) * s.c + c];
  };
  const [oh, ow] = windowOutput({ ih: ph, iw: pw, kh: s.kh, kw: s.kw, sh: s.sh, sw: s.sw, dh: s.dh, dw: s.dw });
  const out: number[] = [];
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      for (let m = 0; m < s.m; m++) {
        let acc = s.op === 'max' ? -Infinity : 0;
        for (let ky = 0; ky < s.kh; ky++) {
          for (let kx = 0; kx < s.kw; kx++) {
            const y = oy * s.sh + ky * s.dh;
            const xx = ox * s.sw + kx * s.dw;
            const cg = s.c / (s.groups ?? 1); // input channels per group; ONNX weight [m][cg][ky][kx]
            const g = Math.floor(m / (s.m / (s.groups ?? 1)));
            if (s.op === 'conv') for (let c = 0; c < cg; c++) acc += w[((m * cg + c) * s.kh + ky) * s.kw + kx] * at(y, xx, g * cg + c);
            else if (s.op === 'depthwise') acc += w[(m * s.kh + ky) * s.kw + kx] * at(y, xx, m);
            else if (s.op === 'max') acc = Math.max(acc, at(y, xx, m));
            else acc += at(y, xx, m);
          }
        }
        out.push(acc);
      }
    }
  }
  return out;
}

export function buildConv(s: ConvSpec, seed: number): { df: DataflowGraph; onnxWeights: number[] } {
  const r = rng(seed);
  const ph = s.ih + s.pads[0] + s.pads[1];
  const pw = s.iw + s.pads[2] + s.pads[3];
  const geo = { ih: ph, iw: pw, kh: s.kh, kw: s.kw, sh: s.sh, sw: s.sw, dh: s.dh, dw: s.dw };
  const [oh, ow] = windowOutput(geo);
  const window = s.kh * s.kw;
  const streams: DataflowGraph['streams'] = new Map();
  const add = (name: string, qtype: string, elems: number) => streams.set(name, { name, qtype: parseQType(qtype), shape: [elems] });
  const layers: Layer[] = [];
  add('x', s.inType, s.ih * s.iw * s.c);
  let from = 'x';
  if (s.pads.some((p) => p > 0)) {
    add('padded', s.inType, ph * pw * s.c);
    const [top, bottom, left, right] = s.pads;
    layers.push({ name: 'pad', kind: 'Pad', attrs: { ih: s.ih, iw: s.iw, channels: s.c, top, bottom, left, right, pe: s.pe, qtype: s.inType }, consts: {}, inputs: ['x'], outputs: ['padded'], origin: [s.label] });
    from = 'padded';
  }
  add('windows', s.inType, oh * ow * window * s.c);
  layers.push({ name: 'swg', kind: 'SlidingWindow', attrs: { ...geo, channels: s.c, pe: s.pe, taps: s.taps ?? 1, qtype: s.inType }, consts: {}, inputs: [from], outputs: ['windows'], origin: [s.label] });
  let onnxWeights: number[] = [];
  if (s.op === 'conv') {
    const groups = s.groups ?? 1;
    const cg = s.c / groups;
    onnxWeights = randomValues(s.weightType, s.m * cg * window, r);
    // MVU column (ky·kw + kx)·c + ch  ←  ONNX weight [m][ch − group start][ky][kx], 0 outside m's group.
    const weights: number[] = [];
    for (let m = 0; m < s.m; m++) {
      const g = Math.floor(m / (s.m / groups));
      for (let k = 0; k < window; k++) {
        for (let c = 0; c < s.c; c++) weights.push(Math.floor(c / cg) === g ? onnxWeights[(m * cg + c - g * cg) * window + k] : 0);
      }
    }
    const outType = qtypeName(mvuOutType(s.m, window * s.c, parseQType(s.inType), weights));
    add('y', outType, oh * ow * s.m);
    layers.push({ name: 'mvu', kind: 'MVU', attrs: { rows: s.m, cols: window * s.c, vectors: oh * ow, pe: s.mvuPe, simd: s.simd, inType: s.inType, weightType: s.weightType, outType }, consts: { weights }, inputs: ['windows'], outputs: ['y'], origin: [s.label] });
  } else if (s.op === 'depthwise') {
    onnxWeights = randomValues(s.weightType, s.c * window, r); // [c][1][ky][kx] = VectorVector's [c][k]
    const outType = qtypeName(mvuOutType(s.c, window, parseQType(s.inType), onnxWeights));
    add('y', outType, oh * ow * s.c);
    layers.push({ name: 'dw', kind: 'VectorVector', attrs: { pixels: oh * ow, window, channels: s.c, pe: s.mvuPe, inType: s.inType, weightType: s.weightType, outType }, consts: { weights: onnxWeights }, inputs: ['windows'], outputs: ['y'], origin: [s.label] });
  } else if (s.op === 'max') {
    add('y', s.inType, oh * ow * s.c);
    layers.push({ name: 'pool', kind: 'MaxPool', attrs: { pixels: oh * ow, window, channels: s.c, pe: s.mvuPe, qtype: s.inType }, consts: {}, inputs: ['windows'], outputs: ['y'], origin: [s.label] });
  } else {
    const [lo, hi] = range(parseQType(s.inType));
    const outType = qtypeName(mvuOutType(1, window, parseQType(s.inType), new Array(window).fill(1)));
    expect(range(parseQType(outType))[0]).toBeLessThanOrEqual(window * lo);
    expect(range(parseQType(outType))[1]).toBeGreaterThanOrEqual(window * hi);
    add('y', outType, oh * ow * s.c);
    layers.push({ name: 'pool', kind: 'AvgPool', attrs: { pixels: oh * ow, window, channels: s.c, pe: s.mvuPe, inType: s.inType, outType }, consts: {}, inputs: ['windows'], outputs: ['y'], origin: [s.label] });
  }
  const df: DataflowGraph = { name: `conv_${s.label}`, source: `${s.label}.onnx`, streams, layers, inputs: ['x'], outputs: ['y'], inputQuant: [], outputAffine: [] };
  return { df, onnxWeights };
}

