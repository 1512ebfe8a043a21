// Streamlining and lowering, pass by pass, in the qonnx pattern: execute the ONNX graph, transform,
// assert the folded ops are gone (only MVU / Threshold / Requant / LabelSelect remain), execute the
// result, compare. Plus the pure math (threshold search, requant fit) against brute force, and the
// coded errors.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/diag/index.ts';
import { runDataflow } from '../../src/exec/dataflow.ts';
import { runGraph } from '../../src/exec/run.ts';
import { emptyGraph, type AttrValue, type Graph } from '../../src/ir/graph.ts';
import { makeTensor } from '../../src/ir/tensor.ts';
import { quantizeInput } from '../../src/lower/host.ts';
import { requantValue } from '../../src/layers/common/requant-value.ts';
import { fitRequant } from '../../src/lower/requant-fit.ts';
import { reachedCodes, searchThresholds, type ChannelRange } from '../../src/lower/thresholds.ts';
import { loadModel } from '../../src/onnx/load.ts';
import { streamline } from '../../src/passes/streamline.ts';
import { lowerModel } from '../../src/passes/to-dataflow.ts';
import { rng } from '../helpers/random-mlp.ts';
import { argmax, compareLowering } from './streamline-compare.ts';

const root = join(import.meta.dirname, '..', '..');
const Q = 'qonnx.custom_op.general';

/** A tiny graph builder: tensors by name, constants as initializers. */
function builder(inputLen: number) {
  const g = emptyGraph('t');
  g.opsets = { '': 13, [Q]: 1 };
  g.inputs = [{ name: 'x', dtype: 'float32', shape: [1, inputLen] }];
  let k = 0;
  const c = (v: number[] | number, shape?: number[]) => {
    const name = `c${k++}`;
    const vals = Array.isArray(v) ? v : [v];
    g.initializers.set(name, makeTensor('float32', shape ?? (Array.isArray(v) ? [vals.length] : []), vals));
    return name;
  };
  const op = (type: string, inputs: string[], attrs: Record<string, AttrValue> = {}, domain = '') => {
    const out = `t${k++}`;
    g.nodes.push({ name: `${type}_${k}`, op: type, domain, inputs, outputs: [out], attrs });
    return out;
  };
  const quant = (x: string, scale: number, bits: number, signed: boolean, narrow = false) =>
    op('Quant', [x, c(scale), c(0), c(bits)], { signed: { kind: 'int', v: signed ? 1 : 0 }, narrow: { kind: 'int', v: narrow ? 1 : 0 }, rounding_mode: { kind: 'string', v: 'ROUND' } }, Q);
  const done = (out: string, len: number): Graph => {
    g.outputs = [{ name: out, dtype: 'float32', shape: [1, len] }];
    return g;
  };
  return { g, c, op, quant, done };
}

function randomInputs(n: number, len: number, lo: number, hi: number, seed = 1): Float32Array[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: len }, () => lo + r() * (hi - lo)));
}

const KINDS = new Set(['MVU', 'Threshold', 'Requant', 'LabelSelect']);

describe('streamline: BatchNorm, bias and scales fold into thresholds', () => {
  it('a negative BatchNorm gamma negates that weight row; the BatchNorm is gone; outputs equal', () => {
    const b = builder(4);
    const W = [1, -2, 3, 0, -1, 2, 5, -7, 1, 1, 1, 1]; // [4, 3] (K × N)
    let t = b.quant('x', 0.5, 4, true);
    t = b.op('MatMul', [t, b.quant(b.c(W, [4, 3]), 1, 4, true)]);
    t = b.op('BatchNormalization', [t, b.c([1, -2, 0.5]), b.c([0.1, 0.2, -0.3]), b.c([0.5, -1, 2]), b.c([1, 4, 0.25])], { epsilon: { kind: 'float', v: 1e-5 } });
    t = b.quant(t, 0.25, 3, true);
    const g = b.done(t, 3);
    const c = compareLowering(g, randomInputs(200, 4, -5, 5));
    expect(c.mismatches).toEqual([]);
    const df = lowerModel(g);
    expect(df.layers.every((l) => KINDS.has(l.kind))).toBe(true);
    expect(df.layers.map((l) => l.kind)).toEqual(['MVU', 'Threshold']);
    expect(df.layers[1].origin).toContain(g.nodes.find((n) => n.op === 'BatchNormalization')!.name);
    // Row r of the MVU is column r of W; the gamma < 0 row comes out negated.
    const w = df.layers[0].consts.weights;
    expect(w.slice(0, 4)).toEqual([1, 0, 5, 1]);
    expect(w.slice(4, 8)).toEqual([2, 1, 7, -1]);
    expect(w.slice(8, 12)).toEqual([3, 2, 1, 1]);
  });

  it('Gemm bias + Relu + an 8-bit Quant with an arbitrary scale becomes an exact Requant', () => {
    const b = builder(6);
    const r = rng(3);
    const W = Array.from({ length: 5 * 6 }, () => Math.round(r() * 14 - 7));
    let t = b.quant('x', 0.125, 6, true);
    t = b.op('Gemm', [t, b.quant(b.c(W, [5, 6]), 0.5, 4, true), b.c([0.3, -1.7, 2.2, 0, 5.1])], { transB: { kind: 'int', v: 1 } });
    t = b.op('Relu', [t]);
    t = b.quant(t, 0.0731, 8, false);
    const g = b.done(t, 5);
    const c = compareLowering(g, randomInputs(300, 6, -4, 4, 9));
    expect(c.mismatches).toEqual([]);
    const df = lowerModel(g);
    expect(df.layers.map((l) => l.kind)).toEqual(['MVU', 'Requant']);
    expect(df.outputAffine[0].scale[0]).toBeCloseTo(0.0731, 7);
  });

  it('input Mul/Sub scaling folds into the host quantizer (no layer for it)', () => {
    const b = builder(3);
    let t = b.op('Mul', ['x', b.c(2)]);
    t = b.op('Sub', [t, b.c(1)]);
    t = b.quant(t, 1, 2, true, true);
    t = b.op('MatMul', [t, b.op('BipolarQuant', [b.c([1, -1, 1, 1, -1, -1], [3, 2]), b.c(1)], {}, Q)]);
    const g = b.done(t, 2);
    const plan = streamline(g);
    expect(plan.inputQuant).toMatchObject({ scale: [0.5], zeroPoint: [-1], mode: 'round', clip: [-1, 1] });
    expect(compareLowering(g, randomInputs(100, 3, -0.2, 1.2)).mismatches).toEqual([]);
  });

  it('Sign that can output 0 gives a three-level stream (INT2, two thresholds)', () => {
    const b = builder(4);
    let t = b.op('BipolarQuant', ['x', b.c(1)], {}, Q);
    t = b.op('MatMul', [t, b.op('BipolarQuant', [b.c([1, 1, -1, 1, 1, -1, 1, 1], [4, 2]), b.c(1)], {}, Q)]);
    t = b.op('Sub', [t, b.c([2, 0.5])]);
    t = b.op('Sign', [t]);
    const g = b.done(t, 2);
    const plan = streamline(g);
    const act = plan.layers[0].act;
    expect(act.kind === 'threshold' && act.outType).toEqual({ kind: 'INT', bits: 2, signed: true });
    expect(act.kind === 'threshold' && act.thresholds).toEqual([[2, 3], [1, 1]]); // row 1 (acc − 0.5) never outputs 0
    expect(compareLowering(g, randomInputs(100, 4, -1, 1)).mismatches).toEqual([]);
  });

  it('a Softmax at the output is dropped; LabelSelect gives the ONNX top-1', () => {
    const b = builder(8);
    const r = rng(5);
    let t = b.quant('x', 0.25, 4, true);
    t = b.op('MatMul', [t, b.quant(b.c(Array.from({ length: 40 }, () => r() * 2 - 1), [8, 5]), 0.125, 4, true)]);
    t = b.op('Mul', [t, b.c(0.37)]);
    t = b.op('Softmax', [t], { axis: { kind: 'int', v: 1 } });
    const g = b.done(t, 5);
    const df = lowerModel(g, { topK: 1 });
    expect(df.layers.map((l) => l.kind)).toEqual(['MVU', 'LabelSelect']);
    for (const x of randomInputs(100, 8, -2, 2, 4)) {
      const y = runGraph(g, new Map([['x', makeTensor('float32', [1, 8], x)]])).get(t)!.data as Float32Array;
      const [label] = runDataflow(df, [quantizeInput(df.inputQuant[0], x)])[0];
      // Ties between equal logits resolve to the lowest index in both.
      expect(label).toBe(argmax(y));
    }
  });
});

describe('errors (KLN2001)', () => {
  it('lists every op that cannot be lowered, with where', () => {
    const g = loadModel(join(root, 'test/fixtures/corpus/qonnx/mnist_conv_onnxzoo.onnx'));
    let err: KilnError | undefined;
    try {
      lowerModel(g);
    } catch (e) {
      err = e as KilnError;
    }
    expect(err).toBeInstanceOf(KilnError);
    // Conv and MaxPool lower since issue 4; this model is float (no quantizer): one line, with the command that quantizes it.
    expect(err!.diagnostics.map((d) => `${d.code} ${d.node}`)).toEqual(['KLN2001 Convolution28']);
    expect(err!.message).toBe("KLN2001 cannot lower op 'Conv' (rule integer-weights: this model is float (no quantizer anywhere, and weights 'Parameter5' are on no integer grid); fix: quantize it first with `kiln compress model.onnx -o model_int8.onnx --bits 8 --calib <inputs.npy>`) at node 'Convolution28'");
  });

  it('refuses a branch (two run-time inputs)', () => {
    const b = builder(2);
    const q = b.quant('x', 1, 4, true);
    const a = b.op('Add', [q, q]);
    const t = b.op('MatMul', [a, b.quant(b.c([1, 2, 3, 4], [2, 2]), 1, 4, true)]);
    // Branches lower since issue 4 (residual blocks), but not a fan-out of the host-quantized input.
    expect(() => lowerModel(b.done(t, 2))).toThrow(/^KLN2001 cannot lower the graph \(rule dataflow-graph: the graph input fans out before its first layer/);
  });

  it('refuses float weights without an integer grid, every layer at once', () => {
    const b = builder(2);
    let t = b.quant('x', 1, 4, true);
    t = b.op('MatMul', [t, b.c([0.3, 0.1, 0.7, 0.11], [2, 2])]);
    t = b.quant(t, 1, 4, true);
    t = b.op('MatMul', [t, b.c([0.3, 0.1, 0.7, 0.13], [2, 2])]);
    expect(() => lowerModel(b.done(t, 2))).toThrow(/KLN2001 cannot lower op 'MatMul' \(rule integer-weights: weights 'c\d+' are not on an integer grid.*\n.*KLN2001 cannot lower op 'MatMul' \(rule integer-weights: weights 'c\d+'/);
  });

  it('refuses a chain that is not monotone in the accumulator (LeakyRelu with a negative slope)', () => {
    const b = builder(3);
    let t = b.quant('x', 1, 4, true);
    t = b.op('MatMul', [t, b.quant(b.c([1, 2, -1, 1, 3, 1], [3, 2]), 1, 4, true)]);
    t = b.op('LeakyRelu', [t], { alpha: { kind: 'float', v: -1 } });
    t = b.quant(t, 4, 3, true);
    expect(() => lowerModel(b.done(t, 2))).toThrow(/^KLN2001 cannot lower op 'qonnx.custom_op.general:Quant' \(rule activation: its output is not monotone in the accumulator \(channel 0, /);
  });

  it('refuses LabelSelect when classes have different output affines', () => {
    const g = loadModel(join(root, 'test/fixtures/zoo/tfc_w1a1/model.onnx'));
    expect(() => lowerModel(g, { topK: 1 })).toThrow(/KLN2001 cannot lower to LabelSelect: the output affine differs between classes/);
  });
});

describe('threshold math', () => {
  const ranges: ChannelRange[] = [{ lo: -50, hi: 60 }, { lo: 0, hi: 10 }, { lo: -3, hi: 3 }];
  /** A monotone step function per channel (with skipped and never-reached levels). */
  const k = (c: number, a: number) => (c === 0 ? Math.max(-2, Math.min(5, Math.floor(a / 7) - 1)) : c === 1 ? (a >= 4 ? 5 : -2) : -2);
  const f = (ch: Int32Array, acc: Float64Array) => Float64Array.from(acc, (a, j) => k(ch[j], a));

  it('searchThresholds finds the smallest accumulator per level (brute force)', () => {
    const T = searchThresholds(f, ranges, -2, 5);
    ranges.forEach((r, c) => {
      for (let l = -1; l <= 5; l++) {
        let want = r.hi + 1;
        for (let a = r.hi; a >= r.lo; a--) if (k(c, a) >= l) want = a;
        expect(T[c][l + 1], `channel ${c} level ${l}`).toBe(want);
      }
    });
    expect(reachedCodes(T[1], ranges[1], -2)).toEqual([-2, 5]);
    expect(reachedCodes(T[2], ranges[2], -2)).toEqual([-2]);
  });

  it('fitRequant reproduces a floor-linear code function on every accumulator', () => {
    const r: ChannelRange[] = [{ lo: -1000, hi: 1000 }, { lo: -300, hi: 900 }];
    const alpha = [0.0371, 0.1234];
    const beta = [3.3, -7.9];
    const code = (c: number, a: number) => Math.min(127, Math.max(-128, Math.floor(a * alpha[c] + beta[c])));
    const T = r.map((rr, c) => {
      const t: number[] = [];
      for (let l = -127; l <= 127; l++) {
        let want = rr.hi + 1;
        for (let a = rr.hi; a >= rr.lo; a--) if (code(c, a) >= l) want = a;
        t.push(want);
      }
      return t;
    });
    const fit = fitRequant(T, r, -128, 127)!;
    expect(fit).toBeDefined();
    r.forEach((rr, c) => {
      for (let a = rr.lo; a <= rr.hi; a++) expect(requantValue(a, fit.mul[c], fit.add[c], fit.shift, -128, 127)).toBe(code(c, a));
    });
  });

  it('fitRequant refuses round-half-even on exact ties in floor mode (no floor-linear form exists)', () => {
    const rhe = (x: number) => (Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x));
    const r: ChannelRange[] = [{ lo: 0, hi: 40 }];
    const T = [Array.from({ length: 15 }, (_, i) => {
      for (let a = 0; a <= 40; a++) if (Math.min(15, rhe(a / 2)) >= i + 1) return a;
      return 41;
    })];
    expect(fitRequant(T, r, 0, 15, 40, ['floor'])).toBeUndefined();
    expect(fitRequant(T, r, 0, 15)?.round).toBe('half-even'); // test/unit/requant-fit.test.ts covers that mode
  });
});

describe("the 'lower' pipeline", () => {
  it('tidy-exact first changes nothing: same dataflow graph as from the raw import', async () => {
    const { runPipeline } = await import('../../src/passes/runner.ts');
    const raw = loadModel(join(root, 'test/fixtures/corpus/qonnx-model-zoo/TFC_1W2A.onnx'));
    const tidied = loadModel(join(root, 'test/fixtures/corpus/qonnx-model-zoo/TFC_1W2A.onnx'));
    runPipeline(tidied, 'lower', { verify: true });
    expect(tidied.nodes.some((n) => n.op === 'Shape')).toBe(false);
    const a = lowerModel(raw);
    const b = lowerModel(tidied);
    expect(b.layers.map((l) => [l.kind, l.attrs, l.consts])).toEqual(a.layers.map((l) => [l.kind, l.attrs, l.consts]));
    expect(b.inputQuant).toEqual(a.inputQuant);
    expect(b.outputAffine).toEqual(a.outputAffine);
  });
});

describe('QOperator forms', () => {
  const int8 = (shape: number[], vals: number[]) => makeTensor('int8', shape, vals);
  const uint8 = (v: number) => makeTensor('uint8', [], [v]);

  it('QuantizeLinear → QLinearMatMul ×2 → DequantizeLinear lowers exactly (zero points, per-column scales)', () => {
    const b = builder(8);
    const r = rng(21);
    const t = (name: string, x: ReturnType<typeof makeTensor>) => { b.g.initializers.set(name, x); return name; };
    let q = b.op('QuantizeLinear', ['x', b.c(0.05), t('z0', uint8(128))]);
    const W1 = int8([8, 6], Array.from({ length: 48 }, () => Math.round(r() * 254 - 127)));
    q = b.op('QLinearMatMul', [q, b.c(0.05), 'z0', t('w1', W1), b.c([0.01, 0.02, 0.013, 0.007, 0.03, 0.011]), t('wz1', int8([6], [0, 0, 0, 0, 0, 0])), b.c(0.37), t('z1', uint8(10))]);
    const W2 = int8([6, 4], Array.from({ length: 24 }, () => Math.round(r() * 254 - 127)));
    q = b.op('QLinearMatMul', [q, b.c(0.37), 'z1', t('w2', W2), b.c(0.02), t('wz2', int8([], [3])), b.c(0.71), t('z2', uint8(128))]);
    const y = b.op('DequantizeLinear', [q, b.c(0.71), 'z2']);
    const g = b.done(y, 4);
    const c = compareLowering(g, randomInputs(200, 8, -7, 7, 2));
    expect(c.mismatches).toEqual([]);
    const df = lowerModel(g);
    expect(df.layers.every((l) => KINDS.has(l.kind))).toBe(true);
    expect(df.inputQuant[0]).toMatchObject({ scale: [Math.fround(0.05)], zeroPoint: [128], qtype: { kind: 'INT', bits: 8, signed: false } });
    // Weight zero point 3 is folded into the integer weights.
    expect(df.layers[2].consts.weights[0]).toBe(W2.data[0] as number - 3);
  });

  it('MatMulInteger → Cast → Mul → Add → Relu → QuantizeLinear/DequantizeLinear lowers exactly', () => {
    const b = builder(5);
    const r = rng(8);
    b.g.initializers.set('zx', makeTensor('int8', [], [0]));
    let q = b.op('QuantizeLinear', ['x', b.c(0.125), 'zx']);
    b.g.initializers.set('w', int8([5, 3], Array.from({ length: 15 }, () => Math.round(r() * 30 - 15))));
    let t = b.op('MatMulInteger', [q, 'w']);
    t = b.op('Cast', [t], { to: { kind: 'int', v: 1 } });
    t = b.op('Mul', [t, b.c(0.125 * 0.0625)]);
    t = b.op('Add', [t, b.c([0.5, -0.25, 0.1])]);
    t = b.op('Relu', [t]);
    b.g.initializers.set('zy', makeTensor('uint8', [], [0]));
    q = b.op('QuantizeLinear', [t, b.c(0.04), 'zy']);
    const y = b.op('DequantizeLinear', [q, b.c(0.04), 'zy']);
    const g = b.done(y, 3);
    expect(compareLowering(g, randomInputs(200, 5, -10, 10, 3)).mismatches).toEqual([]);
  });
});
