// The target models lower exactly: on ≥ 100 input vectors the integer dataflow executor (host input
// quantizer → runDataflow → output affine) reproduces the ONNX reference executor's output codes and
// top-1 class. Where a model's float input is not quantized in the graph (QKeras exports), inputs
// are drawn on the documented default input grid (INT16, 10 fractional bits).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeNpy } from '../../src/io/npy.ts';
import { loadModel } from '../../src/onnx/load.ts';
import { rng } from '../helpers/random-mlp.ts';
import { argmax, compareLowering, type Comparison } from './streamline-compare.ts';
import { quantizeFloatActivations } from '../../src/lower/rules/float-activations.ts';
import { runGraph } from '../../src/exec/run.ts';
import { makeTensor } from '../../src/ir/tensor.ts';

const root = join(import.meta.dirname, '..', '..');
const corpus = (f: string) => join(root, 'test/fixtures/corpus', f);
const zoo = (f: string) => join(root, 'test/fixtures/zoo', f);

/** The first 100 MNIST test digits, x = pixel/255 (examples/tfc_w1a1/README.md). */
function mnist100(): Float32Array[] {
  const t = decodeNpy(readFileSync(join(root, 'examples/tfc_w1a1/digits100.npy')));
  const per = t.shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: t.shape[0] }, (_, k) => Float32Array.from((t.data as Float32Array).subarray(k * per, (k + 1) * per)));
}

/** Seeded vectors on the 2^-10 grid in [-8, 8): exactly representable by the default input quantizer. */
function gridInputs(n: number, len: number, seed: number): Float32Array[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: len }, () => Math.floor((r() * 16 - 8) * 1024) / 1024));
}

function uniformInputs(n: number, len: number, seed: number): Float32Array[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: len }, () => r() * 2 - 1));
}

function expectExact(c: Comparison): void {
  expect(c.vectors).toBeGreaterThanOrEqual(100);
  expect(c.mismatches).toEqual([]);
  expect(c.codesEqual).toBe(c.elements);
  expect(c.top1Equal).toBe(c.vectors);
  // Float reconstruction of an affine output (host float64 vs ONNX float32 chain): a few float32 ulps.
  expect(c.maxRelError).toBeLessThan(2 ** -20);
}

const kinds = (c: Comparison) => c.plan.layers.map((l) => `${l.weightType.kind === 'INT' ? 'int' : l.weightType.kind.toLowerCase()}/${l.act.kind}`);

describe('qonnx-model-zoo TFC (Brevitas QONNX, BatchNorm, flatten subgraph, input Mul/Sub)', () => {
  for (const name of ['TFC_1W1A', 'TFC_1W2A', 'TFC_2W2A']) {
    it(`${name}: 100 MNIST digits, codes and top-1 exact`, () => {
      const c = compareLowering(loadModel(corpus(`qonnx-model-zoo/${name}.onnx`)), mnist100());
      expectExact(c);
      expect(c.plan.layers.map((l) => l.act.kind)).toEqual(['threshold', 'threshold', 'threshold', 'none']);
      expect(c.plan.inputQuant.scale).toEqual([0.5]); // Mul 2, Sub 1 folded into the host quantizer
    });
  }
});

describe('zoo', () => {
  it('tfc_w1a1 (±1 MatMul + BatchNormalization + Sign): 100 MNIST digits exact', () => {
    const c = compareLowering(loadModel(zoo('tfc_w1a1/model.onnx')), mnist100());
    expectExact(c);
    expect(c.plan.inputQuant.mode).toBe('sign');
    // Sign never sees an exact zero after BatchNorm over the accumulator range: hidden streams are bipolar.
    expect(c.plan.layers.slice(0, 3).map((l) => l.act.kind !== 'none' && l.act.outType.kind)).toEqual(['BIPOLAR', 'BIPOLAR', 'BIPOLAR']);
  });

  it('mlp_pruned90_int8_qdq (QDQ int8, per-channel weight scales, zero point 213 output): 100 digits', () => {
    const c = compareLowering(loadModel(zoo('mlp_pruned90_int8_qdq/model.onnx')), mnist100());
    // Arbitrary float scales: the ONNX float Gemm sum may round differently from the exact integer
    // accumulator; a code could then differ by one at a rounding tie. Observed: none on these digits.
    expect(c.codesEqual / c.elements).toBeGreaterThanOrEqual(0.999);
    expect(c.top1Equal).toBe(c.vectors);
    expect(c.vectors).toBe(100);
    expect(kinds(c)).toEqual(['int/threshold', 'int/threshold', 'int/requant']);
    expect(c.plan.outputAffine.offset[0]).toBeCloseTo(-213 * c.plan.outputAffine.scale[0], 6);
  });

  it('mlp_ternary (float activations) is refused as is, naming the layer and the reason', () => {
    expect(() => compareLowering(loadModel(zoo('mlp_ternary/model.onnx')), mnist100().slice(0, 1))).toThrow(/KLN2001 cannot lower op 'Gemm' \(rule integer-composition: the next layer's input is not quantized \(no quantizer after this layer\), and its output is float: row \d+ is /);
  });

  it('mlp_ternary after documented 8-bit activation quantization: exact vs the quantized graph, same top-1 as float', () => {
    const float = loadModel(zoo('mlp_ternary/model.onnx'));
    const digits = mnist100();
    // Input: uint8 with scale 1/255 (meta.json: x = pixel/255, so the codes are the pixel bytes);
    // hidden: 8-bit unsigned, power-of-two scales calibrated on the first 20 digits.
    const { graph, inserted } = quantizeFloatActivations(float, { bits: 8, calibration: digits.slice(0, 20), input: { scale: Math.fround(1 / 255), bits: 8, signed: false } });
    expect(inserted.map((q) => q.before)).toEqual(['/fcs.0/Gemm', '/fcs.1/Gemm', '/fcs.2/Gemm']);
    const c = compareLowering(graph, digits);
    // The 1/255 input scale is not a power of two, so the ONNX float Gemm may round differently from
    // the exact accumulator at a tie; observed: every code equal.
    expect(c.codesEqual / c.elements).toBeGreaterThanOrEqual(0.999);
    expect(c.top1Equal).toBe(100);
    expect(c.plan.layers.map((l) => l.weightType.kind)).toEqual(['TERNARY', 'TERNARY', 'TERNARY']);
    // Against the float original: the activation quantization changes no top-1 on these digits.
    let agree = 0;
    for (const x of digits) {
      const run = (g: typeof float) => runGraph(g, new Map([['input', makeTensor('float32', [1, 784], x)]])).get('logits')!.data as Float32Array;
      if (argmax(run(float)) === argmax(run(graph))) agree++;
    }
    expect(agree).toBe(100);
  });
});

describe('QKeras exports (float input, 6/8-bit Quant, MatMul + Add + Relu)', () => {
  it('qkeras_jettagging: 100 grid vectors exact, Softmax dropped', () => {
    const c = compareLowering(loadModel(corpus('qonnx-model-zoo/qkeras_jettagging.onnx')), gridInputs(100, 16, 7));
    expectExact(c);
    expect(c.plan.dropped).toEqual(['Softmax_0']);
    expect(c.plan.outputTensor).toBe('Add_3_out0');
    expect(c.plan.inputQuant).toMatchObject({ scale: [2 ** -10], qtype: { kind: 'INT', bits: 16, signed: true } });
  });

  const qdense = readdirSync(corpus('qonnx-test-artifacts')).filter((f) => /^qkeras_qdense_\d+\.onnx$/.test(f)).sort();
  it('finds the qkeras_qdense_* artifacts', () => expect(qdense.length).toBeGreaterThanOrEqual(13));
  it.each(qdense)('%s: 100 grid vectors exact', (f) => {
    expectExact(compareLowering(loadModel(corpus(`qonnx-test-artifacts/${f}`)), gridInputs(100, 16, 11)));
  });
});

describe('hls4ml', () => {
  it('bnn_model_fc_1layer (BipolarQuant in/weights/out, 4-bit Quant bias on Gemm): 100 vectors exact', () => {
    const c = compareLowering(loadModel(corpus('hls4ml-example-models/bnn_model_fc_1layer.onnx')), uniformInputs(100, 3, 5));
    expectExact(c);
    expect(kinds(c)).toEqual(['bipolar/threshold']);
  });
});
