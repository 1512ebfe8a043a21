// Every compression method on zoo models: the written ONNX loads in kiln and onnxruntime-node and
// both give the same outputs (bit for bit for the quantized, power-of-two-scaled models — their
// float MACs are exact — within float tolerance otherwise); the method did what it claims to the
// weights; quantized results lower to kiln's integer dataflow IR.
import { describe, expect, it } from 'vitest';
import { compress, type Recipe } from '../../src/compress/index.ts';
import { getMatrix, weightLayers } from '../../src/compress/layers.ts';
import { accuracy, measure } from '../../src/compress/report.ts';
import { weightStats } from '../../src/analysis/weights.ts';
import { runDataflow } from '../../src/exec/dataflow.ts';
import { applyOutputAffine, quantizeInput } from '../../src/lower/host.ts';
import type { DataflowGraph } from '../../src/ir/dataflow.ts';
import { lowerModel } from '../../src/passes/to-dataflow.ts';
import { encodeModel, kilnOutputs, ortOutputs, zooDigits, zooModel } from './helpers.ts';

const mlp = zooModel('mlp_fp32');
const digits = zooDigits('mlp_fp32');
const calibration = digits.inputs.slice(0, 50);
const vectors = digits.inputs.slice(0, 20);

interface Case { name: string; recipe: Recipe; exact: boolean; lowers: boolean }
const q8: Recipe['quantize'] = { weightBits: 8 };
const cases: Case[] = [
  { name: 'int8 PTQ', recipe: { quantize: q8 }, exact: true, lowers: true },
  { name: 'int4 per-tensor asymmetric, MSE', recipe: { quantize: { weightBits: 4, perChannel: false, symmetric: false, method: 'mse' } }, exact: true, lowers: true },
  { name: 'w3a5 percentile', recipe: { quantize: { weightBits: 3, actBits: 5, method: 'percentile', percentile: 99.9 } }, exact: true, lowers: true },
  // 12-bit × 12-bit products summed over 784 inputs pass 2^24: float32 sums round, order matters.
  { name: 'int12 (16-bit containers, opset 21)', recipe: { quantize: { weightBits: 12, actBits: 12 } }, exact: false, lowers: false },
  { name: 'binary weights + int8 activations', recipe: { weightCode: 'binary', quantize: q8 }, exact: true, lowers: true },
  { name: 'ternary weights', recipe: { weightCode: 'ternary' }, exact: false, lowers: false },
  { name: 'magnitude pruning 80 %', recipe: { prune: { ratio: 0.8 } }, exact: false, lowers: false },
  { name: 'filter pruning 25 %', recipe: { filterPrune: 0.25 }, exact: false, lowers: false },
  { name: 'SVD rank 16', recipe: { lowRank: { rank: 16 } }, exact: false, lowers: false },
  { name: 'k-means 16', recipe: { kmeans: 16 }, exact: false, lowers: false },
  { name: 'prune 70 % + int4', recipe: { prune: { ratio: 0.7 }, quantize: { weightBits: 4 } }, exact: true, lowers: true },
  { name: 'SVD 16 + int8', recipe: { lowRank: { rank: 16 }, quantize: q8 }, exact: true, lowers: true },
  { name: 'k-means 16 + prune 50 % + int8', recipe: { kmeans: 16, prune: { ratio: 0.5 }, quantize: q8 }, exact: true, lowers: true },
];

describe('compression methods on zoo mlp_fp32: kiln == onnxruntime on the written ONNX', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const { graph } = compress(mlp, c.recipe, { calibration });
      const bytes = encodeModel(graph);
      const ours = kilnOutputs(bytes, vectors);
      const theirs = await ortOutputs(bytes, vectors);
      ours.forEach((y, i) => {
        if (c.exact) expect(Array.from(y)).toEqual(Array.from(theirs[i]));
        else y.forEach((v, k) => expect(Math.abs(v - theirs[i][k])).toBeLessThanOrEqual(1e-4 + 1e-4 * Math.abs(v)));
      });
      if (c.lowers) expect(lowerModel(graph).layers.filter((l) => l.kind === 'MVU').length).toBeGreaterThanOrEqual(3);
      // Quantized graphs lower, and the integer dataflow reference reproduces the graph's outputs.
      if (c.lowers) {
        const df = lowerModel(graph);
        vectors.forEach((x, i) => {
          const y = lowered(df, x);
          y.forEach((v, k) => expect(Math.abs(v - ours[i][k])).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(v))));
        });
      }
    });
  }
});

/** Host input quantizer → integer dataflow reference → host output affine. */
function lowered(df: DataflowGraph, x: Float32Array): number[] {
  const codes = runDataflow(df, [quantizeInput(df.inputQuant[0], x)])[0];
  return applyOutputAffine(df.outputAffine[0], codes);
}

describe('what each method does to the weights', () => {
  it('int8 PTQ stays within 1 % of float accuracy (100 zoo digits) and reaches Cr 4', () => {
    const { graph } = compress(mlp, { quantize: q8 }, { calibration });
    expect(Math.abs(accuracy(graph, digits) - accuracy(mlp, digits))).toBeLessThanOrEqual(0.01);
    expect(weightStats(graph).layers.every((l) => l.bits <= 8)).toBe(true);
    expect(measure(graph).memoryBits * 4).toBe(measure(mlp).memoryBits);
  });

  it('binary and ternary: one level pair (or triple) per channel, no multipliers', () => {
    for (const mode of ['binary', 'ternary'] as const) {
      const { graph } = compress(mlp, { weightCode: mode });
      const kinds = weightStats(graph).layers.map((l) => l.kind);
      expect(kinds).toEqual(Array(3).fill(mode === 'binary' ? 'bipolar' : 'ternary'));
      expect(measure(graph).multipliers).toBe(0);
    }
  });

  it('magnitude pruning: the global ratio of weights is zero, and the largest ones survive', () => {
    const { graph } = compress(mlp, { prune: { ratio: 0.9 } });
    const before = weightLayers(mlp).flatMap((l) => Array.from(getMatrix(mlp, l)));
    const after = weightLayers(graph).flatMap((l) => Array.from(getMatrix(graph, l)));
    const zeros = after.filter((v) => v === 0).length;
    expect(zeros).toBe(Math.floor(0.9 * before.length));
    const maxAbs = Math.max(...before.map(Math.abs));
    expect(after.some((v) => Math.abs(v) === maxAbs)).toBe(true);
    const perLayer = compress(mlp, { prune: { ratio: 0.5, scope: 'layer' } }).graph;
    for (const l of weightLayers(perLayer)) {
      const m = getMatrix(perLayer, l);
      expect(m.filter((v) => v === 0).length).toBe(Math.floor(0.5 * m.length));
    }
  });

  it('filter pruning shrinks layer outputs and the next layer inputs consistently', () => {
    const { graph } = compress(mlp, { filterPrune: 0.5 });
    const shapes = weightLayers(graph).map((l) => [l.rows, l.cols]);
    expect(shapes).toEqual([[32, 784], [32, 32], [10, 32]]);
    expect(measure(graph).macs).toBe(32 * 784 + 32 * 32 + 10 * 32);
  });

  it('k-means: at most k distinct nonzero values per layer', () => {
    const { graph } = compress(mlp, { prune: { ratio: 0.5 }, kmeans: 8 });
    for (const l of weightLayers(graph)) {
      const m = getMatrix(graph, l);
      expect(new Set(Array.from(m).filter((v) => v !== 0)).size).toBeLessThanOrEqual(8);
      expect(m.filter((v) => v === 0).length).toBeGreaterThan(0);
    }
  });
});

describe('LeNet-5 (conv): filter pruning through MaxPool and Flatten, then int8', () => {
  const lenet = zooModel('lenet5_fp32');
  const lenetDigits = zooDigits('lenet5_fp32');
  it('keeps shapes consistent and kiln == onnxruntime bit for bit', async () => {
    const { graph } = compress(lenet, { filterPrune: 0.25, quantize: q8 }, { calibration: lenetDigits.inputs.slice(0, 20) });
    const shapes = weightLayers(lenet).length;
    expect(shapes).toBe(5);
    const bytes = encodeModel(graph);
    const v = lenetDigits.inputs.slice(0, 10);
    const ours = kilnOutputs(bytes, v);
    const theirs = await ortOutputs(bytes, v);
    ours.forEach((y, i) => expect(Array.from(y)).toEqual(Array.from(theirs[i])));
    expect(lowerModel(graph).layers.some((l) => l.kind === 'SlidingWindow')).toBe(true);
  });
});
