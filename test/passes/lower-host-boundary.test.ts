// Host boundary rule (issue 12): clamps (Relu, Clip, scalar Max/Min) and scalar affine ops before the
// input quantizer lower exactly — a Relu before an unsigned Quant (QKeras quantized_relu inputs) is
// dropped, a Clip inside the quantizer's range becomes a host code clip. Checked against the ONNX executor.
import { describe, expect, it } from 'vitest';
import { lowerModel } from '../../src/passes/to-dataflow.ts';
import { cnnBuilder, ints } from '../helpers/cnn-builder.ts';
import { rng } from '../helpers/random-mlp.ts';
import { compareLowering } from './streamline-compare.ts';

function inputs(n: number, len: number): Float32Array[] {
  const r = rng(5);
  return Array.from({ length: n }, () => Float32Array.from({ length: len }, () => r() * 6 - 3));
}

describe('host boundary: clamps before the input quantizer', () => {
  it('Relu before an unsigned Quant is redundant: dropped, outputs equal', () => {
    const b = cnnBuilder([1, 2, 5, 5], 11);
    let t = b.quant(b.op('Relu', ['x']), 0.25, 4, false);
    t = b.act(b.conv(t, 2, 3, [3, 3], { pads: ints([1, 1, 1, 1]) }));
    const c = compareLowering(b.done(t), inputs(20, 50));
    expect(c.mismatches.slice(0, 3)).toEqual([]);
    expect(c.codesEqual).toBe(c.elements);
    expect(c.plan.notes.join('\n')).toMatch(/redundant \(the quantizer clips there\): dropped/);
  });

  it('Mul then Clip(-1, 1.5) before a signed Quant becomes a host code clip, outputs equal', () => {
    const b = cnnBuilder([1, 2, 4, 4], 12);
    const s = b.op('Mul', ['x', b.c([0.5], [])]);
    const cl = b.op('Clip', [s, b.c([-1], []), b.c([1.5], [])]);
    let t = b.quant(cl, 0.125, 6, true);
    t = b.act(b.conv(t, 2, 2, [1, 1]));
    const c = compareLowering(b.done(t), inputs(20, 32));
    expect(c.mismatches.slice(0, 3)).toEqual([]);
    expect(c.codesEqual).toBe(c.elements);
    expect(c.plan.inputQuant.clip).toEqual([-8, 12]);
  });
});

describe('float models', () => {
  it('a model without any quantizer is refused with the kiln compress command', () => {
    const b = cnnBuilder([1, 2, 4, 4], 13);
    const g = b.done(b.op('Relu', [b.op('Conv', ['x', b.c([0.3, -0.7, 0.1, 0.9], [2, 2, 1, 1])], { kernel_shape: ints([1, 1]) })]));
    expect(() => lowerModel(g, { source: 'models/cnn.onnx' })).toThrow(
      "KLN2001 cannot lower op 'Conv' (rule integer-weights: this model is float (no quantizer anywhere, and weights 'c0' are on no integer grid); fix: quantize it first with `kiln compress cnn.onnx -o cnn_int8.onnx --bits 8 --calib <inputs.npy>`) at node 'Conv_2'",
    );
  });
});
