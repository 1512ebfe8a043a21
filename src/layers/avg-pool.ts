// Average pooling, exactly: the hardware outputs the window SUM, y[p·channels + c] = Σ_k x[(p·window + k)·channels + c],
// and the 1/window scale is not applied here: lowering folds it into the next Threshold / Requant (or the
// output affine), where it is exact, instead of rounding a division in hardware. Input is the window
// stream of a SlidingWindow; GlobalAveragePool is this layer with pixels = 1 and window = h·w read
// straight from the NHWC image stream (which is already in (pixel, channel) order).
// Padding from a Pad layer counts as zeros (ONNX count_include_pad = 1). RTL: hw/window_reduce MODE 1.
import { qtypeName, range } from '../ir/datatype.ts';
import { defineLayer, dtype } from './define.ts';
import { reduceWindows, windowReduceAttrs, windowReduceModel, windowReduceParams, windowReduceRtl, windowReduceStreams } from './common/window-reduce.ts';
import { windowReduceCost } from './cost/window-reduce.ts';

/** Range of a window sum. */
const sumRange = (window: number, t: Parameters<typeof range>[0]): [number, number] => {
  const [lo, hi] = range(t);
  return [window * lo, window * hi];
};

export default defineLayer({
  kind: 'AvgPool',
  attrs: { ...windowReduceAttrs, inType: dtype(), outType: dtype() },
  consts: () => ({}),
  check: (a) => {
    const [lo, hi] = sumRange(a.window, a.inType);
    const [olo, ohi] = range(a.outType);
    if (a.outType.kind !== 'INT') return `outType must be INTn or UINTn, not ${qtypeName(a.outType)}`;
    return lo < olo || hi > ohi ? `outType must hold the window sum range [${lo}, ${hi}], not ${qtypeName(a.outType)}` : undefined;
  },
  ...windowReduceModel,
  streams: (a) => windowReduceStreams(a, a.inType, a.outType),
  execute: (a, [x]) => [reduceWindows(a, x, 0, (s, v) => s + v)],
  cost: windowReduceCost,
  rtl: {
    ...windowReduceRtl,
    params: (a) => windowReduceParams(a, 1, a.inType, a.outType, sumRange(a.window, a.inType)),
  },
});
