// Vector-vector unit (FINN VVAU): depthwise convolution as a per-channel dot product over the window
// stream of a SlidingWindow (for each pixel, for each of `window` = kh·kw taps, `channels` channels):
//   y[p·channels + c] = Σ_k W[c·window + k] · x[(p·window + k)·channels + c]
// W is channels×window row-major (an ONNX depthwise weight [C][1][kh][kw] flattened). PE channels per
// beat; the RTL is hw/window_reduce MODE 2, shared with MaxPool and AvgPool (see common/window-reduce.ts).
import { bitWidth, qtypeName, range, type QType } from '../ir/datatype.ts';
import { checkValues, codeKind, defineLayer, dtype, encode, packHex, packVector, type ParamValue, type RtlContext } from './define.ts';
import { mvuAccRange } from './mvu.ts';
import { reduceWindows, windowReduceAttrs, windowReduceModel, windowReduceParams, windowReduceRtl, windowReduceStreams, type WindowReduceShape } from './common/window-reduce.ts';
import { windowReduceCost } from './cost/window-reduce.ts';

/** Weight tables bigger than this many bits become a ROM instead of a parameter. */
export const ROM_ABOVE_BITS = 16384;

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
  ...windowReduceModel,
  streams: (a) => windowReduceStreams(a, a.inType, a.outType),
  execute: (a, [x], { weights }) => [reduceWindows(a, x, 0, (s, v, c, k) => s + weights[c * a.window + k] * v)],
  cost: windowReduceCost,
  rtl: {
    ...windowReduceRtl,
    params: (a, { weights }, ctx) => ({
      ...windowReduceParams(a, 2, a.inType, a.outType, mvuAccRange(a.channels, a.window, a.inType, weights)),
      ...weightParams(a, a.weightType, weights, ctx),
    }),
  },
});
