// CNN lowering (issue 4): Conv / depthwise / pooling / Pad / flatten → SlidingWindow, MVU, VectorVector,
// MaxPool, AvgPool, Pad, Threshold, Requant. The integer dataflow executor (host quantizer with its
// NCHW → NHWC order → runDataflow → output affine and order) must reproduce the ONNX reference
// executor's output codes and top-1 exactly. Synthetic graphs (power-of-two scales, so the float
// reference is exact) cover the attribute space; real models cover the exporters.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/diag/index.ts';
import { decodeNpy } from '../../src/io/npy.ts';
import { decodeTensorFile } from '../../src/onnx/tensor.ts';
import type { Graph } from '../../src/ir/graph.ts';
import { makeTensor } from '../../src/ir/tensor.ts';
import { loadModel } from '../../src/onnx/load.ts';
import { lowerModel } from '../../src/passes/to-dataflow.ts';
import { cnnBuilder, int, ints } from '../helpers/cnn-builder.ts';
import { rng } from '../helpers/random-mlp.ts';
import { compareLowering, type Comparison } from './streamline-compare.ts';

const root = join(import.meta.dirname, '..', '..');

const builder = (shape: number[], seed = 7) => cnnBuilder(shape, seed);

function inputs(n: number, len: number, seed = 3): Float32Array[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: len }, () => r() * 4 - 2));
}

function expectExact(c: Comparison, vectors = 20): void {
  expect(c.vectors).toBeGreaterThanOrEqual(vectors);
  expect(c.mismatches.slice(0, 5)).toEqual([]);
  expect(c.codesEqual).toBe(c.elements);
  expect(c.top1Equal).toBe(c.vectors);
}

const kinds = (g: Graph) => lowerModel(g).layers.map((l) => l.kind);

describe('synthetic CNNs (exact: power-of-two scales)', () => {
  it('conv 3×3 pad 1 → MaxPool 2×2 → NCHW flatten → Gemm: FC columns permuted to stream order', () => {
    const b = builder([1, 3, 9, 9]);
    let t = b.quant('x', 0.125, 5, true);
    t = b.act(b.conv(t, 3, 4, [3, 3], { pads: ints([1, 1, 1, 1]) }));
    t = b.op('MaxPool', [t], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) });
    t = b.op('Flatten', [t], { axis: int(1) });
    t = b.op('Gemm', [t, b.weights([5, 64]), b.bias(5)], { transB: int(1) });
    const g = b.done(t);
    expect(kinds(g)).toEqual(['Pad', 'SlidingWindow', 'MVU', 'Threshold', 'SlidingWindow', 'MaxPool', 'MVU']);
    expectExact(compareLowering(g, inputs(20, 243)));
  });

  it('conv 5×5 stride 2 dilation 2 asymmetric pads → AveragePool 2×2 (1/4 folded into the next activation)', () => {
    const b = builder([1, 2, 15, 13]);
    let t = b.quant('x', 0.25, 4, true);
    t = b.act(b.conv(t, 2, 3, [3, 2], { strides: ints([2, 1]), dilations: ints([2, 2]), pads: ints([1, 0, 2, 1]) }));
    t = b.quant(b.op('AveragePool', [t], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) }), 0.25, 5, false);
    t = b.op('Flatten', [t], { axis: int(1) });
    const cols = 3 * Math.floor((Math.floor((15 + 3 - 5) / 2) + 1) / 2) * Math.floor((13 + 1 - 3 + 1) / 2);
    t = b.op('Gemm', [t, b.weights([4, cols]), b.bias(4)], { transB: int(1) });
    const g = b.done(t);
    // The 5-bit quantizer after the pool (31 steps, power-of-two scales) is a half-even Requant.
    expect(kinds(g)).toEqual(['Pad', 'SlidingWindow', 'MVU', 'Threshold', 'SlidingWindow', 'AvgPool', 'Requant', 'MVU']);
    expectExact(compareLowering(g, inputs(20, 2 * 15 * 13)));
  });

  it('depthwise 3×3 (VectorVector) → pointwise 1×1 → GlobalAveragePool → Gemm', () => {
    const b = builder([1, 4, 6, 6]);
    let t = b.quant('x', 0.125, 4, true);
    t = b.act(b.conv(t, 4, 4, [3, 3], { pads: ints([1, 1, 1, 1]) }, 4));
    t = b.act(b.conv(t, 4, 6, [1, 1]));
    t = b.quant(b.op('GlobalAveragePool', [t]), 0.25, 6, false);
    t = b.op('Flatten', [t], { axis: int(1) });
    t = b.op('Gemm', [t, b.weights([3, 6]), b.bias(3)], { transB: int(1) });
    const g = b.done(t);
    // The pointwise conv needs no SlidingWindow: a 1×1 stride-1 window stream is the image stream.
    expect(kinds(g)).toEqual(['Pad', 'SlidingWindow', 'VectorVector', 'Threshold', 'MVU', 'Threshold', 'AvgPool', 'Threshold', 'MVU']);
    expectExact(compareLowering(g, inputs(20, 144)));
  });

  it('explicit Pad node, MaxPool with pads on the output: codes come back in NCHW order', () => {
    const b = builder([1, 2, 7, 7]);
    let t = b.quant('x', 0.25, 4, true);
    b.g.initializers.set('pads', makeTensor('int64', [8], [0, 0, 1, 2, 0, 0, 0, 1]));
    t = b.op('Pad', [t, 'pads'], { mode: { kind: 'string', v: 'constant' } });
    t = b.act(b.conv(t, 2, 3, [2, 2]));
    t = b.op('MaxPool', [t], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) });
    const g = b.done(t);
    expect(kinds(g)).toEqual(['Pad', 'SlidingWindow', 'MVU', 'Threshold', 'Pad', 'SlidingWindow', 'MaxPool']);
    const c = compareLowering(g, inputs(20, 98));
    expect(c.plan.outputAffine.order).toBeDefined();
    expectExact(c);
  });

  it('channels-last input (QKeras Transpose → Conv → Transpose): no host reordering needed', () => {
    const b = builder([1, 6, 5, 3]);
    let t = b.quant('x', 0.25, 4, true);
    t = b.op('Transpose', [t], { perm: ints([0, 3, 1, 2]) });
    t = b.conv(t, 3, 4, [2, 2], { strides: ints([2, 2]) });
    t = b.op('Transpose', [t], { perm: ints([0, 2, 3, 1]) });
    const g = b.done(b.act(t));
    const c = compareLowering(g, inputs(20, 90));
    expect(c.plan.inputQuant.order).toBeUndefined();
    expect(c.plan.outputAffine.order).toBeUndefined();
    expectExact(c);
  });

  it('NCHW input: the host reorders the image to NHWC once (InputQuantizer.order)', () => {
    const b = builder([1, 3, 4, 5]);
    const t = b.act(b.conv(b.quant('x', 0.25, 4, true), 3, 2, [1, 1]));
    const c = compareLowering(b.done(t), inputs(20, 60));
    expect(c.plan.inputQuant.order?.slice(0, 4)).toEqual([0, 20, 40, 1]); // (h0,w0,c0), (h0,w0,c1), …
    expectExact(c);
  });
});

describe('unsupported attribute combinations are coded errors naming the node', () => {
  const lowerError = (g: Graph): KilnError => {
    try {
      lowerModel(g);
    } catch (e) {
      if (e instanceof KilnError) return e;
      throw e;
    }
    throw new Error('lowering did not fail');
  };

  it('AveragePool ceil_mode = 1 that changes the output size (a MaxPool lowers: extra end padding)', () => {
    const b = builder([1, 2, 7, 7]);
    let t = b.act(b.conv(b.quant('x', 0.25, 4, true), 2, 2, [1, 1]));
    t = b.quant(b.op('AveragePool', [t], { kernel_shape: ints([2, 2]), strides: ints([2, 2]), ceil_mode: int(1) }), 0.25, 4, false);
    const e = lowerError(b.done(t));
    expect(e.code).toBe('KLN2001');
    expect(e.diagnostics[0].node).toBe(b.g.nodes.find((n) => n.op === 'AveragePool')!.name);
    expect(e.message).toContain('ceil_mode = 1 changes the output to 4×4 (floor gives 3×3)');
    const m = builder([1, 2, 7, 7]);
    const p = m.op('MaxPool', [m.act(m.conv(m.quant('x', 0.25, 4, true), 2, 2, [1, 1]))], { kernel_shape: ints([2, 2]), strides: ints([2, 2]), ceil_mode: int(1) });
    expectExact(compareLowering(m.done(p), inputs(20, 98)));
  });

  it('ceil_mode = 1 that changes nothing is accepted', () => {
    const b = builder([1, 2, 8, 8]);
    let t = b.act(b.conv(b.quant('x', 0.25, 4, true), 2, 2, [1, 1]));
    t = b.op('MaxPool', [t], { kernel_shape: ints([2, 2]), strides: ints([2, 2]), ceil_mode: int(1) });
    expectExact(compareLowering(b.done(t), inputs(20, 128)));
  });

  it('grouped convolution (group 2 of 4 → 6 channels) lowers as a block-diagonal MVU, exactly', () => {
    const b = builder([1, 4, 5, 5]);
    const t = b.act(b.conv(b.quant('x', 0.25, 4, true), 4, 6, [3, 3], {}, 2));
    const g = b.done(t);
    const df = lowerModel(g);
    const mvu = df.layers.find((l) => l.kind === 'MVU')!;
    // Row 0 (group 0) has no weight on input channel 2 or 3 at any tap: columns (k·4 + c), c ≥ 2.
    expect(Array.from({ length: 9 }, (_, k) => [mvu.consts.weights[k * 4 + 2], mvu.consts.weights[k * 4 + 3]]).flat().every((w) => w === 0)).toBe(true);
    expectExact(compareLowering(g, inputs(20, 100)));
  });

  it('depthwise with a channel multiplier (group = C, 2 outputs per channel) lowers too', () => {
    const b = builder([1, 3, 5, 5]);
    const t = b.act(b.conv(b.quant('x', 0.25, 4, true), 3, 6, [3, 3], { pads: ints([1, 1, 1, 1]) }, 3));
    expectExact(compareLowering(b.done(t), inputs(20, 75)));
  });

  it('AveragePool with padding and count_include_pad = 0', () => {
    const b = builder([1, 2, 6, 6]);
    let t = b.act(b.conv(b.quant('x', 0.25, 4, true), 2, 2, [1, 1]));
    t = b.quant(b.op('AveragePool', [t], { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) }), 0.25, 4, false);
    const e = lowerError(b.done(t));
    expect(e.message).toContain('count_include_pad = 0');
  });

  it('a residual Add straight from the graph input (the host quantizer has no Duplicate)', () => {
    const b = builder([1, 2, 6, 6]);
    const x = b.quant('x', 0.25, 4, true);
    const y = b.act(b.conv(x, 2, 2, [3, 3], { pads: ints([1, 1, 1, 1]) }));
    const e = lowerError(b.done(b.op('Add', [x, y])));
    expect(e.code).toBe('KLN2001');
    expect(e.message).toContain('the graph input fans out before its first layer');
  });

  it('a residual Add of branches whose scales are not integer multiples (0.3 vs 0.25)', () => {
    const b = builder([1, 2, 6, 6]);
    const a0 = b.act(b.conv(b.quant('x', 0.25, 4, true), 2, 2, [1, 1]));
    const a1 = b.quant(b.conv(a0, 2, 2, [3, 3], { pads: ints([1, 1, 1, 1]) }), 0.3, 4, true);
    const e = lowerError(b.done(b.quant(b.op('Add', [a1, a0]), 0.5, 4, false)));
    expect(e.code).toBe('KLN2001');
    expect(e.message).toMatch(/branch scales 0\.3\d* and 0\.5 are not integer multiples|not integer multiples/);
  });
});

describe('residual blocks (Duplicate → branches → AddStreams, analytic bypass FIFO)', () => {
  it('identity bypass, branch scale 2× the bypass: ×2 folded into the branch Threshold; exact', () => {
    const b = builder([1, 2, 6, 6]);
    const a0 = b.act(b.conv(b.quant('x', 0.25, 4, true), 2, 3, [3, 3], { pads: ints([1, 1, 1, 1]) }));
    const b1 = b.act(b.conv(a0, 3, 3, [3, 3], { pads: ints([1, 1, 1, 1]) }));
    const b2 = b.quant(b.conv(b1, 3, 3, [3, 3], { pads: ints([1, 1, 1, 1]) }), 1, 5, true);
    const g = b.done(b.act(b.op('Add', [b2, a0])));
    const df = lowerModel(g);
    expect(df.layers.map((l) => l.kind)).toEqual([
      'Pad', 'SlidingWindow', 'MVU', 'Duplicate', 'Threshold', 'Threshold', 'Fifo', // FIFO on the bypass codes, not the accumulator
      'Pad', 'SlidingWindow', 'MVU', 'Threshold', 'Pad', 'SlidingWindow', 'MVU', 'Threshold', 'AddStreams', 'Threshold',
    ]);
    const join = df.layers.find((l) => l.kind === 'AddStreams')!;
    const scaled = df.layers.find((l) => l.outputs[0] === join.inputs[0])!;
    expect(scaled.attrs).toMatchObject({ outScale: 2 }); // 1 / 0.5: codes × 2 on the branch
    const fifo = df.layers.find((l) => l.kind === 'Fifo')!;
    const unfifoed = lowerModel(g);
    expect(fifo.attrs.depth).toBeGreaterThanOrEqual(16);
    expect(unfifoed.layers.find((l) => l.kind === 'Fifo')!.attrs.depth).toBe(fifo.attrs.depth); // deterministic
    expectExact(compareLowering(g, inputs(20, 72)));
  });

  it('downsampling bypass (1×1 stride-2 conv) next to a stride-2 3×3 branch', () => {
    const b = builder([1, 3, 8, 8]);
    const a0 = b.act(b.conv(b.quant('x', 0.25, 4, true), 3, 4, [3, 3], { pads: ints([1, 1, 1, 1]) }));
    const b1 = b.act(b.conv(a0, 4, 4, [3, 3], { pads: ints([1, 1, 1, 1]), strides: ints([2, 2]) }));
    const b2 = b.quant(b.conv(b1, 4, 4, [3, 3], { pads: ints([1, 1, 1, 1]) }), 0.5, 5, true);
    const d = b.quant(b.conv(a0, 4, 4, [1, 1], { strides: ints([2, 2]) }), 0.25, 5, true);
    let t = b.act(b.op('Add', [b2, d]));
    t = b.op('Flatten', [b.op('MaxPool', [t], { kernel_shape: ints([4, 4]) })], { axis: int(1) });
    const g = b.done(b.op('Gemm', [t, b.weights([3, 4]), b.bias(3)], { transB: int(1) }));
    const kindsOf = kinds(g);
    expect(kindsOf.filter((k) => k === 'Duplicate')).toHaveLength(1);
    expect(kindsOf.filter((k) => k === 'Fifo')).toHaveLength(1);
    expectExact(compareLowering(g, inputs(20, 192)));
  });
});

describe('Concat of two branches (channel axis)', () => {
  it('1×1 and 3×3 branches concatenated, then a conv: Concat layer, codes exact', () => {
    const b = builder([1, 2, 6, 6]);
    const a0 = b.act(b.conv(b.quant('x', 0.25, 4, true), 2, 3, [1, 1]));
    const p = b.act(b.conv(a0, 3, 2, [1, 1]));
    const q = b.quant(b.op('Relu', [b.conv(a0, 3, 3, [3, 3], { pads: ints([1, 1, 1, 1]) })]), 1, 4, false); // scale 2× → codes × 2
    const cat = b.op('Concat', [p, q], { axis: int(1) });
    const g = b.done(b.act(b.conv(cat, 5, 2, [3, 3])));
    const ks = kinds(g);
    expect(ks).toContain('Concat');
    expect(ks.filter((k) => k === 'Duplicate')).toHaveLength(1);
    expectExact(compareLowering(g, inputs(20, 72)));
  });

  it('Concat on a spatial axis is refused', () => {
    const b = builder([1, 2, 4, 4]);
    const a0 = b.act(b.conv(b.quant('x', 0.25, 4, true), 2, 2, [1, 1]));
    const p = b.act(b.conv(a0, 2, 2, [1, 1]));
    const q = b.act(b.conv(a0, 2, 2, [1, 1]));
    const g = b.done(b.act(b.conv(b.op('Concat', [p, q], { axis: int(2) }), 2, 2, [1, 1])));
    expect(() => lowerModel(g)).toThrow("KLN2001 cannot lower op 'Concat' (rule join: Concat on axis 2 (only the channel axis 1 lowers); fix: concatenate on the channel axis 1)");
  });
});

// ---- real models --------------------------------------------------------------------------------

const zoo = (m: string, f: string) => join(root, 'test/fixtures/zoo', m, f);
const corpus = (f: string) => join(root, 'test/fixtures/corpus/qonnx-test-artifacts', f);

function npyRows(path: string): Float32Array[] {
  const t = decodeNpy(readFileSync(path));
  const per = t.shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: t.shape[0] }, (_, k) => Float32Array.from((t.data as Float32Array).subarray(k * per, (k + 1) * per)));
}

/** Seeded vectors on the default host input grid (INT16, 10 fractional bits) for float-input QKeras models. */
function gridInputs(n: number, len: number, seed: number): Float32Array[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: len }, () => Math.floor((r() * 16 - 8) * 1024) / 1024));
}

describe('zoo CNNs (QDQ / QCDQ, NCHW)', () => {
  for (const m of ['lenet5_int8_qdq', 'lenet5_w4a4_qdq', 'cnv_small_w2a2']) {
    it(`${m}: every fixture vector (≥ 20) has equal output codes and top-1`, () => {
      const c = compareLowering(loadModel(zoo(m, 'model.onnx')), npyRows(zoo(m, 'inputs.npy')));
      expectExact(c);
      expect(c.plan.inputQuant.order).toBeUndefined(); // one input channel: NCHW = NHWC
    }, 120_000);
  }

  it('lenet5_structpruned (float): activations quantize, but float weights are not on a grid → refused clearly', () => {
    const g = loadModel(zoo('lenet5_structpruned', 'model.onnx'));
    const calibration = npyRows(zoo('lenet5_structpruned', 'inputs.npy')).slice(0, 4);
    try {
      lowerModel(g, { quantizeActivations: { calibration, input: { scale: 1 / 255, bits: 8, signed: false } } });
      throw new Error('lowered');
    } catch (e) {
      expect(e).toBeInstanceOf(KilnError);
      const k = e as KilnError;
      expect(k.code).toBe('KLN2001');
      expect(k.diagnostics.map((d) => d.node)).toContain('/conv1/Conv');
      expect(k.message).toContain('are not on an integer grid');
    }
  }, 60_000);
});

describe('nn2fpga resnet8 (QONNX, three residual blocks, downsampling bypasses)', () => {
  it('golden input + 4 random CIFAR-range vectors: codes and top-1 exact', () => {
    const g = loadModel(join(root, 'test/fixtures/corpus/nn2fpga/resnet8.onnx'));
    const pb = join(root, 'test/fixtures/corpus/nn2fpga/resnet8/test_data_set_0/input_0.pb');
    const golden = Float32Array.from(decodeTensorFile(readFileSync(pb), pb).data as Float32Array);
    const c = compareLowering(g, [golden, ...inputs(4, 3 * 32 * 32, 21)]);
    expectExact(c, 5);
    expect(c.plan.branches?.filter((n) => n.plan?.unit === 'add')).toHaveLength(3);
    // One analytically sized bypass FIFO per residual block (full-rate depth ≥ the deadlock bound).
    const fifos = c.plan.notes.filter((n) => n.startsWith('fifo after'));
    expect(fifos).toHaveLength(3);
    for (const f of fifos) {
      const [, full, dl] = /depth (\d+) \(deadlock-free from (\d+)\)/.exec(f)!.map(Number);
      expect(full).toBeGreaterThanOrEqual(dl);
    }
  }, 300_000);
});

describe('QKeras channels-last convolutions (qonnx test artifacts)', () => {
  for (let i = 0; i <= 6; i++) {
    it(`qkeras_qconv2d_${i}: 20 grid vectors, codes exact`, () => {
      expectExact(compareLowering(loadModel(corpus(`qkeras_qconv2d_${i}.onnx`)), gridInputs(20, 28 * 28 * 3, i)));
    });
  }
  it('qkeras_qconv2d_conversion: conv → conv without a quantizer (integer bias add), NHWC flatten → MatMul; Softmax dropped', () => {
    const c = compareLowering(loadModel(corpus('qkeras_qconv2d_conversion.onnx')), gridInputs(20, 784, 9));
    expectExact(c);
    expect(c.plan.dropped).toEqual(['Softmax_0']);
  }, 60_000);
});
