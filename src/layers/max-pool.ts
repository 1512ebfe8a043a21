// Max pooling over the window stream of a SlidingWindow (kernel = window taps, stride and dilation
// are the SlidingWindow's): for each pixel p and channel c, y[p·channels + c] = max_k x[(p·window + k)·channels + c].
// Same datatype in and out. RTL: hw/window_reduce MODE 0, pixels·window·channels/pe cycles.
import { range } from '../ir/datatype.ts';
import { defineLayer, dtype, mustDivide } from './define.ts';
import { windowReduceAttrs, windowReduceCycles, windowReduceParams, windowReduceSchedule, windowReduceTiming } from './vector-vector.ts';

export default defineLayer({
  kind: 'MaxPool',
  attrs: { ...windowReduceAttrs, qtype: dtype() },
  consts: () => ({}),
  checkFolding: (a) => mustDivide('pe', a.channels, a.pe),
  streams: (a) => ({
    in: [{ qtype: a.qtype, elems: a.pixels * a.window * a.channels, fold: a.pe }],
    out: [{ qtype: a.qtype, elems: a.pixels * a.channels, fold: a.pe }],
  }),
  execute: (a, [x]) => {
    const y: number[] = [];
    for (let p = 0; p < a.pixels; p++) {
      for (let c = 0; c < a.channels; c++) {
        let m = -Infinity;
        for (let k = 0; k < a.window; k++) m = Math.max(m, x[(p * a.window + k) * a.channels + c]);
        y.push(m);
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
    params: (a) => windowReduceParams(a, 0, a.qtype, a.qtype, range(a.qtype)),
  },
});
