// Rule conv: a Conv is a sliding window and a MAC over each window: group 1 (and other groupings, as
// block-diagonal weights) → SlidingWindow + MVU, one vector per output pixel with columns in
// (ky, kx, c) order; depthwise → VectorVector. Any kernel, stride, dilation and padding (the pads are
// the code of float 0, the input zero point); the bias folds into the activation's β.
import { KilnError } from '../../diag/index.ts';
import { attrInt, type Node } from '../../ir/graph.ts';
import { toNumbers } from '../../ir/tensor.ts';
import type { InSide, MacWeights } from '../plan.ts';
import { window2d } from '../spatial.ts';
import { constOf } from '../support.ts';
import { cannotLower, type GraphView } from '../view.ts';
import { integerWeights } from './integer-weights.ts';
import { windowInput } from './layout.ts';
import { runtimeFirst, type LayerRule } from './rule.ts';

export const convRule: LayerRule = {
  name: 'conv',
  doc: 'A 2-D Conv is SlidingWindow + MVU (group 1 or block-diagonal groups) or VectorVector (depthwise), padding with the input zero point.',
  matches: 'Conv with constant integer-grid weights [M, C/group, kh, kw], any kernel/stride/dilation/pads/group, optional bias',
  emits: 'Pad (when padded) → SlidingWindow → MVU, or → VectorVector for depthwise',
  tests: ['test/e2e/cnn-models.test.ts', 'test/passes/streamline-passes.test.ts'],
  ops: new Set(['Conv']),
  operand: runtimeFirst('weights must be the second input, the run-time vector the first'),
  weights: convWeights,
};

/** Conv (group 1 or depthwise) as rows × window-column weights. */
function convWeights(v: GraphView, mac: Node, input: InSide, notes: string[]): MacWeights {
  const { dims, padCode } = windowInput(v, mac, input);
  const [C] = dims;
  const iw = integerWeights(v, mac.inputs[1], mac, notes);
  if (iw.shape.length !== 4) throw new KilnError(cannotLower(mac, `only 2-D convolutions lower, not weights of rank ${iw.shape.length}`, { rule: 'conv', fix: 'use a 2-D convolution on [1, C, H, W] (a 1-D one as H = 1)' }));
  const [M, Cg, kh, kw] = iw.shape;
  const group = attrInt(mac, 'group', 1);
  const depthwise = group > 1 && group === C && M === C && Cg === 1;
  if (C !== Cg * group || M % group !== 0) throw new KilnError(cannotLower(mac, `group = ${group} does not divide ${C} input and ${M} output channels`, { rule: 'conv', fix: 'use a group count that divides both channel counts' }));
  // Other groupings (1 < group, or depthwise with a channel multiplier) become one MVU with a
  // block-diagonal weight matrix: exact; the zeros cost no logic unrolled, but cycles when folded.
  if (group > 1 && !depthwise) notes.push(`${mac.name}: group = ${group} convolution as an MVU with block-diagonal weights (${group}× the MACs of a grouped unit when folded)`);
  const window = window2d(mac, dims, [kh, kw]);
  const K = kh * kw;
  const cols = depthwise ? K : K * C;
  const W = new Array<number>(M * cols).fill(0);
  const sw = new Array<number>(M);
  for (let r = 0; r < M; r++) {
    const c0 = depthwise ? 0 : Math.floor(r / (M / group)) * Cg; // first input channel of r's group
    for (let c = 0; c < Cg; c++) {
      for (let k = 0; k < K; k++) {
        const i = (r * Cg + c) * K + k;
        // SlidingWindow order: tap-major, channel-minor ((ky·kw + kx)·C + c).
        W[r * cols + (depthwise ? k : k * C + c0 + c)] = iw.w[i];
        if (c === 0 && k === 0) sw[r] = iw.s[i];
        else if (iw.s[i] !== sw[r]) throw new KilnError(cannotLower(mac, 'weight scale varies within an output channel', { rule: 'conv', fix: 'quantize the weights with one scale per output channel' }));
      }
    }
  }
  const bias = mac.inputs[2] ? toNumbers(constOf(v, mac.inputs[2], mac)) : undefined;
  return { rows: M, cols, W, sw, unit: depthwise ? 'depthwise' : 'mvu', window, padCode, bias };
}
