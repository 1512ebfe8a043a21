// fold-batchnorm: execute, fold, assert BatchNormalization is gone, execute, compare.
import { describe, expect, it } from 'vitest';
import { foldBatchNorm } from '../../src/passes/fold-batchnorm.ts';
import { runPipeline } from '../../src/passes/runner.ts';
import type { Graph } from '../../src/ir/graph.ts';
import { expectClose, expectValid, feedsOf, fixtureModel, graphWithInput, node, ops, outputsOf, randomFeeds, randomTensor, rng } from './helpers.ts';

function addBn(g: Graph, x: string, c: number, y: string, seed: number): void {
  const r = rng(seed);
  g.initializers.set('bn_scale', randomTensor([c], r, 0.5, 2));
  g.initializers.set('bn_bias', randomTensor([c], r));
  g.initializers.set('bn_mean', randomTensor([c], r));
  g.initializers.set('bn_var', randomTensor([c], r, 0.1, 3));
  g.nodes.push(node('bn', 'BatchNormalization', [x, 'bn_scale', 'bn_bias', 'bn_mean', 'bn_var'], [y], { epsilon: { kind: 'float', v: 1e-3 } }));
}

/** The qonnx pass-test pattern on a graph; returns the ops left. */
function foldAndCompare(g: Graph): string[] {
  const feeds = randomFeeds(g, 7);
  const before = outputsOf(g, feeds);
  expect(foldBatchNorm.run(g)).toBe(true);
  expect(ops(g)).not.toContain('BatchNormalization');
  expectValid(g);
  expectClose(outputsOf(g, feeds), before);
  return ops(g);
}

describe('fold-batchnorm', () => {
  it.each([true, false])('folds into a preceding Conv (bias: %s)', (withBias) => {
    const g = graphWithInput('x', [1, 3, 6, 6]);
    const r = rng(3);
    g.initializers.set('w', randomTensor([4, 3, 3, 3], r));
    if (withBias) g.initializers.set('b', randomTensor([4], r));
    g.nodes.push(node('conv', 'Conv', withBias ? ['x', 'w', 'b'] : ['x', 'w'], ['c'], { pads: { kind: 'ints', v: [1, 1, 1, 1] } }));
    addBn(g, 'c', 4, 'y', 5);
    g.outputs.push({ name: 'y', dtype: 'float32', shape: [1, 4, 6, 6] });
    expect(foldAndCompare(g)).toEqual(['Conv']);
    expect(g.nodes[0].outputs).toEqual(['y']);
  });

  it.each([0, 1])('folds into a preceding Gemm with alpha/beta (transB=%i)', (transB) => {
    const g = graphWithInput('x', [2, 5]);
    const r = rng(4);
    g.initializers.set('w', randomTensor(transB ? [3, 5] : [5, 3], r));
    g.initializers.set('c', randomTensor([3], r));
    g.nodes.push(node('gemm', 'Gemm', ['x', 'w', 'c'], ['h'], { transB: { kind: 'int', v: transB }, alpha: { kind: 'float', v: 0.5 }, beta: { kind: 'float', v: 2 } }));
    addBn(g, 'h', 3, 'y', 6);
    g.outputs.push({ name: 'y', dtype: 'float32', shape: [2, 3] });
    expect(foldAndCompare(g)).toEqual(['Gemm']);
  });

  it('folds MatMul+Add into the weights and bias', () => {
    const g = graphWithInput('x', [1, 5]);
    const r = rng(8);
    g.initializers.set('w', randomTensor([5, 3], r));
    g.initializers.set('c', randomTensor([3], r));
    g.nodes.push(node('mm', 'MatMul', ['x', 'w'], ['m']), node('add', 'Add', ['m', 'c'], ['h']));
    addBn(g, 'h', 3, 'y', 9);
    g.outputs.push({ name: 'y', dtype: 'float32', shape: [1, 3] });
    g.valueInfo.set('h', { name: 'h', dtype: 'float32', shape: [1, 3] });
    g.valueInfo.set('m', { name: 'm', dtype: 'float32', shape: [1, 3] });
    expect(foldAndCompare(g)).toEqual(['MatMul', 'Add']);
  });

  it('turns BN after a MatMul without bias into its bias Add', () => {
    const g = graphWithInput('x', [1, 5]);
    g.initializers.set('w', randomTensor([5, 3], rng(10)));
    g.nodes.push(node('mm', 'MatMul', ['x', 'w'], ['m']));
    addBn(g, 'm', 3, 'y', 11);
    g.outputs.push({ name: 'y', dtype: 'float32', shape: [1, 3] });
    g.valueInfo.set('m', { name: 'm', dtype: 'float32', shape: [1, 3] });
    expect(foldAndCompare(g)).toEqual(['MatMul', 'Add']);
  });

  it('becomes Mul+Add when the producer cannot absorb it (weights shared with another layer)', () => {
    const g = graphWithInput('x', [1, 3, 4, 4]);
    g.initializers.set('w', randomTensor([3, 3, 1, 1], rng(12)));
    g.nodes.push(node('conv', 'Conv', ['x', 'w'], ['c']), node('conv2', 'Conv', ['x', 'w'], ['c2']));
    addBn(g, 'c', 3, 'y', 13);
    g.outputs.push({ name: 'y', dtype: 'float32', shape: [1, 3, 4, 4] }, { name: 'c2', dtype: 'float32', shape: [1, 3, 4, 4] });
    g.valueInfo.set('c', { name: 'c', dtype: 'float32', shape: [1, 3, 4, 4] });
    expect(foldAndCompare(g)).toEqual(['Conv', 'Conv', 'Mul', 'Add']);
    expect(g.initializers.get('bn_scale_1') ?? g.initializers.get('bn_scale')).toBeDefined();
  });

  it('TFC_1W1A: BN after a MatMul with quantized weights becomes Mul+Add; output still matches', () => {
    const { path, g } = fixtureModel('corpus/qonnx-model-zoo/TFC_1W1A.onnx');
    const feeds = feedsOf(path, g);
    const before = outputsOf(g, feeds);
    runPipeline(g, 'tidy', { verify: true });
    expect(ops(g)).not.toContain('BatchNormalization');
    expect(ops(g).filter((o) => o === 'Mul').length).toBeGreaterThanOrEqual(3);
    expectClose(outputsOf(g, feeds), before, 1e-4);
  });

  it('three_layer_bn_pytorch (opset 6, BN on Unsqueeze\'d Gemm output): output still matches', () => {
    const { path, g } = fixtureModel('corpus/hls4ml-example-models/three_layer_bn_pytorch.onnx');
    runPipeline(g, ['fix-batch', ['infer-shapes', 'fold-constants']], { verify: true });
    const feeds = feedsOf(path, g);
    const before = outputsOf(g, feeds);
    runPipeline(g, ['fold-batchnorm', 'dce'], { verify: true });
    expect(ops(g)).not.toContain('BatchNormalization');
    expectClose(outputsOf(g, feeds), before, 1e-4);
  });
});
