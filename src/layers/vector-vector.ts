// Vector-vector unit (FINN VVAU): depthwise convolution as a per-channel dot product over the window
// stream of a SlidingWindow (for each pixel, for each of `window` = kh·kw taps, `channels` channels):
//   y[p·channels + c] = Σ_k W[c·window + k] · x[(p·window + k)·channels + c]
// W is channels×window row-major (an ONNX depthwise weight [C][1][kh][kw] flattened). PE channels per
// beat; the RTL (hw/window_reduce, shared with MaxPool and AvgPool, which import the helpers below)
// takes one beat per cycle: pixels·window·channels/pe cycles per inference.
import { bitWidth, qtypeName, range, type QType } from '../ir/datatype.ts';
import { checkValues, codeKind, defineLayer, dtype, encode, int, mustDivide, packHex, packVector, registerStage, signedBits, type ParamValue, type RtlContext } from './define.ts';
import { mvuAccRange } from './mvu.ts';

/** Weight tables bigger than this many bits become a ROM instead of a parameter. */
export const ROM_ABOVE_BITS = 16384;

export interface WindowReduceShape { pixels: number; window: number; channels: number; pe: number }

export const windowReduceAttrs = {
  pixels: int({ min: 1 }),
  window: int({ min: 1 }),
  channels: int({ min: 1 }),
  pe: int({ min: 1, default: 1 }),
};

/** Cycles per inference of hw/window_reduce: one input beat per cycle. */
export const windowReduceCycles = (a: WindowReduceShape): number => (a.pixels * a.window * a.channels) / a.pe;

/** The first output beat leaves the cycle after the first pixel's last tap starts arriving (inputs evenly spaced). */
export function windowReduceTiming(a: WindowReduceShape, first: number, last: number): [number, number] {
  const cf = a.channels / a.pe;
  const inBeats = windowReduceCycles(a);
  const at = (a.window - 1) * cf;
  return [(inBeats > 1 ? first + Math.round((at * (last - first)) / (inBeats - 1)) : first) + 1, last + 1];
}

/** Beat schedule of hw/window_reduce: a pixel's beat cf leaves the cycle after its last tap's beat cf arrives. */
export function windowReduceSchedule(a: WindowReduceShape, [arrivals]: number[][]): { out: number[][] } {
  const cf = a.channels / a.pe;
  const last: number[] = [];
  for (let p = 0; p < a.pixels; p++) for (let f = 0; f < cf; f++) last.push(arrivals[(p * a.window + a.window - 1) * cf + f]);
  return { out: [registerStage(last)] };
}

/** hw/window_reduce parameters without weights (MODE 0 max, 1 sum). */
export function windowReduceParams(a: WindowReduceShape, mode: number, inType: QType, outType: QType, accRange: [number, number]): Record<string, ParamValue> {
  const outW = bitWidth(outType);
  return {
    K: a.window,
    C: a.channels,
    PE: a.pe,
    WI: bitWidth(inType),
    IN_KIND: codeKind(inType),
    MODE: mode,
    ACC_W: Math.max(signedBits(Math.min(accRange[0], -1), Math.max(accRange[1], 1)), outW) + 1,
    OUT_W: outW,
  };
}

/** Weight code kind for the RTL: codeKind, plus 3 = ternary (add/sub/skip, no multiplier). */
const weightKind = (t: QType): number => (t.kind === 'TERNARY' ? 3 : codeKind(t));

function weightParams(a: WindowReduceShape, weightType: QType, weights: readonly number[], ctx: RtlContext): Record<string, ParamValue> {
  const ww = bitWidth(weightType);
  const cf = a.channels / a.pe;
  // Word k·cf + f: the PE weights of tap k for channels f·pe … f·pe + pe − 1 (the beat order).
  const words: number[][] = [];
  for (let k = 0; k < a.window; k++) {
    for (let f = 0; f < cf; f++) words.push(Array.from({ length: a.pe }, (_, p) => encode(weightType, weights[(f * a.pe + p) * a.window + k])));
  }
  const useRom = weights.length * ww > ROM_ABOVE_BITS;
  return {
    WW: ww,
    W_KIND: weightKind(weightType),
    USE_ROM: useRom ? 1 : 0,
    ...(useRom
      ? { WEIGHT_FILE: { verilog: `"${ctx.memFile('weights', words.map((w) => packHex(w, ww)).join('\n') + '\n')}"` } }
      : { WEIGHTS: packVector(words.flat(), ww) }),
  };
}

export default defineLayer({
  kind: 'VectorVector',
  attrs: { ...windowReduceAttrs, inType: dtype(), weightType: dtype(), outType: dtype() },
  consts: (a) => ({ weights: a.channels * a.window }),
  check: (a, { weights }) => {
    const bad = checkValues('weights', a.weightType, weights);
    if (bad) return bad;
    const [lo, hi] = mvuAccRange(a.channels, a.window, a.inType, weights);
    const [olo, ohi] = range(a.outType);
    if (a.outType.kind !== 'INT') return `outType must be INTn or UINTn, not ${qtypeName(a.outType)}`;
    if (lo < olo || hi > ohi) return `outType must hold the accumulator range [${lo}, ${hi}], not ${qtypeName(a.outType)}`;
    return undefined;
  },
  checkFolding: (a) => mustDivide('pe', a.channels, a.pe),
  streams: (a) => ({
    in: [{ qtype: a.inType, elems: a.pixels * a.window * a.channels, fold: a.pe }],
    out: [{ qtype: a.outType, elems: a.pixels * a.channels, fold: a.pe }],
  }),
  execute: (a, [x], { weights }) => {
    const y: number[] = [];
    for (let p = 0; p < a.pixels; p++) {
      for (let c = 0; c < a.channels; c++) {
        let s = 0;
        for (let k = 0; k < a.window; k++) s += weights[c * a.window + k] * x[(p * a.window + k) * a.channels + c];
        y.push(s);
      }
    }
    return [y];
  },
  cycles: windowReduceCycles,
  timing: windowReduceTiming,
  schedule: windowReduceSchedule,
  rtl: {
    module: 'window_reduce',
    files: ['window_reduce/window_reduce.v'],
    params: (a, { weights }, ctx) => ({
      ...windowReduceParams(a, 2, a.inType, a.outType, mvuAccRange(a.channels, a.window, a.inType, weights)),
      ...weightParams(a, a.weightType, weights, ctx),
    }),
  },
});
