// fix-batch: absurd or symbolic batch dimensions become 1, with the Reshape constants that baked them in.
import { describe, expect, it } from 'vitest';
import { fixBatch } from '../../src/passes/fix-batch.ts';
import { runPipeline } from '../../src/passes/runner.ts';
import { makeTensor, toNumbers } from '../../src/ir/tensor.ts';
import { loadTestDataSets } from '../helpers/golden.ts';
import { expectClose, expectValid, feedsOf, fixtureModel, graphWithInput, node, outputsOf } from './helpers.ts';
import { nums } from '../../src/ir/tensor.ts';

describe('fix-batch', () => {
  it('three_layer_pytorch (declared batch 789444) runs at batch 1 and matches its golden', () => {
    const { path, g } = fixtureModel('corpus/hls4ml-example-models/three_layer_pytorch.onnx');
    expect(g.inputs[0].shape).toEqual([789444, 16]);
    expect(fixBatch.run(g)).toBe(true);
    expect(g.inputs[0].shape).toEqual([1, 16]);
    expect(g.outputs[0].shape?.[0]).toBe(1);
    expectValid(g);
    const [set] = loadTestDataSets(path);
    expectClose(outputsOf(g, feedsOf(path, g)), [Array.from(nums(set.outputs[0]))], 1e-3);
    expect(fixBatch.run(g)).toBe(false);
  });

  it('a symbolic batch (onnx2c N×5×5×1) becomes 1 and shapes follow', () => {
    const { path, g } = fixtureModel('corpus/onnx2c/conv_k2_maxpool_k2.onnx');
    expect(typeof g.inputs[0].shape?.[0]).toBe('string');
    runPipeline(g, 'tidy', { verify: true });
    expect(g.inputs[0].shape?.[0]).toBe(1);
    expect(g.outputs[0].shape?.every((d) => typeof d === 'number')).toBe(true);
    const [set] = loadTestDataSets(path);
    expectClose(outputsOf(g, feedsOf(path, g)), [Array.from(nums(set.outputs[0]))], 1e-3);
  });

  it('rewrites a Reshape target that mentions the old batch, copying a shared constant', () => {
    const g = graphWithInput('x', [5000, 2, 3]);
    g.initializers.set('shape', makeTensor('int64', [2], [5000, 6]));
    g.nodes.push(node('r', 'Reshape', ['x', 'shape'], ['y']), node('r2', 'Reshape', ['x', 'shape'], ['z']));
    g.outputs.push({ name: 'y', dtype: 'float32', shape: [5000, 6] }, { name: 'z', dtype: 'float32', shape: [5000, 6] });
    expect(fixBatch.run(g)).toBe(true);
    expect(g.outputs.map((o) => o.shape)).toEqual([[1, 6], [1, 6]]);
    expect(toNumbers(g.initializers.get(g.nodes[0].inputs[1])!)).toEqual([1, 6]);
    expect(toNumbers(g.initializers.get(g.nodes[1].inputs[1])!)).toEqual([1, 6]);
    expect(toNumbers(g.initializers.get('shape')!)).toEqual([5000, 6]);
  });

  it('leaves ordinary batch sizes alone', () => {
    const g = graphWithInput('x', [8, 3]);
    g.nodes.push(node('r', 'Relu', ['x'], ['y']));
    g.outputs.push({ name: 'y', dtype: 'float32', shape: [8, 3] });
    expect(fixBatch.run(g)).toBe(false);
    expect(g.inputs[0].shape).toEqual([8, 3]);
  });
});
