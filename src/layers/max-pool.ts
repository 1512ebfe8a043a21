// Max pooling over the window stream of a SlidingWindow (kernel = window taps, stride and dilation
// are the SlidingWindow's): for each pixel p and channel c, y[p·channels + c] = max_k x[(p·window + k)·channels + c].
// Same datatype in and out. RTL: hw/window_reduce MODE 0, pixels·window·channels/pe cycles.
import { range } from '../ir/datatype.ts';
import { defineLayer, dtype } from './define.ts';
import { reduceWindows, windowReduceAttrs, windowReduceModel, windowReduceParams, windowReduceRtl, windowReduceStreams } from './common/window-reduce.ts';
import { windowReduceCost } from './cost/window-reduce.ts';

export default defineLayer({
  kind: 'MaxPool',
  attrs: { ...windowReduceAttrs, qtype: dtype() },
  consts: () => ({}),
  ...windowReduceModel,
  streams: (a) => windowReduceStreams(a, a.qtype, a.qtype),
  execute: (a, [x]) => [reduceWindows(a, x, -Infinity, (m, v) => Math.max(m, v))],
  cost: windowReduceCost,
  rtl: {
    ...windowReduceRtl,
    params: (a) => windowReduceParams(a, 0, a.qtype, a.qtype, range(a.qtype)),
  },
});
