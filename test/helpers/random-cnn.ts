// Seeded random quantized QONNX CNNs for the CNN fuzzer (test/sim/fuzz-cnn.test.ts): conv (1×1,
// 3×3, strided), depthwise conv, max pooling, explicit Pad, residual Add and channel Concat blocks,
// random channel counts, image sizes and activation bit widths, then Flatten → Gemm. Only what kiln
// lowers: the graph input feeds one conv; branches join tensors of the same activation scale.
import type { Graph } from '../../src/ir/graph.ts';
import { cnnBuilder, int, ints } from './cnn-builder.ts';
import { rng } from './random-mlp.ts';

export interface RandomCnn {
  graph: Graph;
  inputs: Float32Array[];
  description: string;
}

const BLOCKS = ['conv', 'conv1', 'strided', 'depthwise', 'pool', 'pad', 'residual', 'concat'] as const;

export function randomCnn(seed: number, vectors = 8): RandomCnn {
  const r = rng(seed * 104729 + 7);
  const int_ = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const c0 = int_(1, 3);
  let h = pick([4, 6, 8]); // spatial size (square) after each block
  const b = cnnBuilder([1, c0, h, h], seed, `random_cnn_${seed}`);
  const inBits = int_(3, 6);
  const act = (x: string) => b.quant(b.op('Relu', [x]), 0.5, pick([2, 3, 4, 5]), false);
  const parts: string[] = [`in ${c0}×${h}×${h} int${inBits}`];
  // The graph input feeds exactly one conv (the host quantizer cannot fan out).
  let c = pick([2, 3, 4]);
  let t = act(b.conv(b.quant('x', 0.25, inBits, true), c0, c, [3, 3], { pads: ints([1, 1, 1, 1]) }));
  parts.push(`conv3 ${c}`);
  for (let k = int_(1, 3); k > 0; k--) {
    const block = pick(BLOCKS);
    if (block === 'conv' || block === 'conv1') {
      const m = pick([2, 3, 4, 6]);
      const kk = block === 'conv' && h >= 3 ? 3 : 1;
      const padded = kk === 1 || h < 4 || r() < 0.5;
      t = act(b.conv(t, c, m, [kk, kk], kk === 3 && padded ? { pads: ints([1, 1, 1, 1]) } : {}));
      if (!padded) h -= 2;
      c = m;
      parts.push(`conv${kk}${padded ? '' : ' valid'} ${m}`);
    } else if (block === 'strided' && h >= 4) {
      const m = pick([2, 4]);
      t = act(b.conv(t, c, m, [3, 3], { pads: ints([1, 1, 1, 1]), strides: ints([2, 2]) }));
      h = Math.floor((h - 1) / 2) + 1;
      c = m;
      parts.push(`conv3/2 ${m}`);
    } else if (block === 'depthwise') {
      t = act(b.conv(t, c, c, [3, 3], { pads: ints([1, 1, 1, 1]) }, c));
      parts.push(`dw3 ${c}`);
    } else if (block === 'pool' && h >= 4 && h % 2 === 0) {
      t = b.op('MaxPool', [t], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) });
      h /= 2;
      parts.push('maxpool2');
    } else if (block === 'pad') {
      t = act(b.conv(b.pad(t, [0, 0, 1, 1, 0, 0, 1, 1]), c, c, [3, 3]));
      parts.push(`pad+conv3 ${c}`);
    } else if (block === 'residual') {
      const a = act(b.conv(t, c, c, [3, 3], { pads: ints([1, 1, 1, 1]) }));
      t = act(b.op('Add', [a, t]));
      parts.push(`residual ${c}`);
    } else if (block === 'concat') {
      const m1 = pick([1, 2]), m2 = pick([1, 2, 3]);
      const p = act(b.conv(t, c, m1, [1, 1]));
      const q = act(b.conv(t, c, m2, [3, 3], { pads: ints([1, 1, 1, 1]) }));
      // Requantized after the join: Pad and MaxPool take quantized tensors only.
      t = b.quant(b.op('Concat', [p, q], { axis: int(1) }), 0.5, 5, false);
      c = m1 + m2;
      parts.push(`concat ${m1}+${m2}`);
    }
  }
  const flat = b.op('Flatten', [t], { axis: int(1) });
  const graph = b.done(b.op('Gemm', [flat, b.weights([3, c * h * h]), b.bias(3)], { transB: int(1) }));
  const lo = -(2 ** (inBits - 1)) * 0.25, hi = (2 ** (inBits - 1) - 1) * 0.25;
  const per = c0 * (b.g.inputs[0].shape![2] as number) ** 2;
  const inputs = Array.from({ length: vectors }, () => Float32Array.from({ length: per }, () => lo + r() * (hi - lo)));
  return { graph, inputs, description: `seed ${seed}: ${parts.join(' → ')} → gemm 3` };
}
