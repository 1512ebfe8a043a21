// Rule avgpool: AveragePool and GlobalAveragePool are window SUMS in hardware; the 1/k scale folds
// into α of the activation after them (so the activation rule reproduces the float average exactly).
import { KilnError } from '../../diag/index.ts';
import { attrInt, type Node } from '../../ir/graph.ts';
import { POOL_SUMS } from '../ops.ts';
import type { InSide, MacWeights } from '../plan.ts';
import { poolKernel, window2d, type Window2d } from '../spatial.ts';
import { cannotLower, type GraphView } from '../view.ts';
import { windowInput } from './layout.ts';
import { runtimeFirst, type LayerRule } from './rule.ts';

export const avgpoolRule: LayerRule = {
  name: 'avgpool',
  doc: 'Average pooling is a window sum (SlidingWindow + AvgPool, or one sum per channel for GlobalAveragePool); 1/k moves into the next activation.',
  matches: 'AveragePool (padding only with count_include_pad = 1), GlobalAveragePool',
  emits: 'SlidingWindow → AvgPool (window sums), or a global window sum',
  tests: ['test/e2e/cnn-models.test.ts'],
  ops: POOL_SUMS,
  operand: runtimeFirst('weights must be the second input, the run-time vector the first'),
  weights: poolWeights,
};

/** AveragePool / GlobalAveragePool as rows × window-column weights of ones. */
function poolWeights(v: GraphView, mac: Node, input: InSide): MacWeights {
  const { dims, padCode } = windowInput(v, mac, input);
  const [C, H, Wd] = dims;
  const ones = (n: number) => new Array<number>(n).fill(1);
  if (mac.op === 'GlobalAveragePool') {
    const window: Window2d = { ih: H, iw: Wd, channels: C, kh: H, kw: Wd, sh: 1, sw: 1, dh: 1, dw: 1, pads: [0, 0, 0, 0], oh: 1, ow: 1 };
    return { rows: C, cols: H * Wd, W: ones(C * H * Wd), sw: ones(C), unit: 'avgpool', window, global: true, padCode };
  }
  const window = window2d(mac, dims, poolKernel(mac));
  if (window.pads.some((p) => p > 0) && attrInt(mac, 'count_include_pad', 0) === 0) {
    throw new KilnError(cannotLower(mac, 'padding with count_include_pad = 0 (border windows divide by fewer taps; only count_include_pad = 1 is exact here)', { rule: 'avgpool', fix: 'use count_include_pad = 1, or no padding' }));
  }
  const K = window.kh * window.kw;
  return { rows: C, cols: K, W: ones(C * K), sw: ones(C), unit: 'avgpool', window, padCode };
}
