// fold-constants (with infer-shapes): execute, transform, assert the ops are gone, execute, compare.
import { describe, expect, it } from 'vitest';
import { foldConstants } from '../../src/passes/fold-constants.ts';
import { runPipeline } from '../../src/passes/runner.ts';
import { makeTensor, nums, toNumbers } from '../../src/ir/tensor.ts';
import { expectValid, feedsOf, fixtureModel, graphWithInput, node, ops, outputsOf } from './helpers.ts';

describe('fold-constants', () => {
  it("folds TFC_1W1A's Shape/Gather/Unsqueeze/Concat flatten subgraph into a constant Reshape target", () => {
    const { path, g } = fixtureModel('corpus/qonnx-model-zoo/TFC_1W1A.onnx');
    const feeds = feedsOf(path, g);
    const before = outputsOf(g, feeds);
    expect(ops(g)).toEqual(expect.arrayContaining(['Shape', 'Gather', 'Unsqueeze', 'Concat', 'Reshape']));
    runPipeline(g, [['infer-shapes', 'fold-constants']], { verify: true });
    for (const op of ['Shape', 'Gather', 'Unsqueeze', 'Concat']) expect(ops(g)).not.toContain(op);
    const reshape = g.nodes.find((n) => n.op === 'Reshape')!;
    expect(reshape.inputs[0]).toBe('0');
    expect(toNumbers(g.initializers.get(reshape.inputs[1])!)).toEqual([1, -1]);
    expect(g.valueInfo.get(reshape.outputs[0])?.shape).toEqual([1, 784]);
    expectValid(g);
    expect(outputsOf(g, feeds)).toEqual(before); // folding runs the same kernels: bit-identical
  });

  it('folds chains of constant nodes and leaves nodes with a runtime input alone', () => {
    const g = graphWithInput('x', [1, 3]);
    g.initializers.set('a', makeTensor('float32', [3], [1, 2, 3]));
    g.initializers.set('b', makeTensor('float32', [3], [0.5, 0.25, 2]));
    g.nodes.push(node('mul', 'Mul', ['a', 'b'], ['ab']), node('neg', 'Neg', ['ab'], ['nab']), node('add', 'Add', ['x', 'nab'], ['y']));
    g.outputs.push({ name: 'y', dtype: 'float32', shape: [1, 3] });
    const feeds = new Map([['x', makeTensor('float32', [1, 3], [10, 20, 30])]]);
    const before = outputsOf(g, feeds);
    expect(foldConstants.run(g)).toBe(true);
    expect(ops(g)).toEqual(['Add']);
    expect(Array.from(nums(g.initializers.get('nab')!))).toEqual([-0.5, -0.5, -6]);
    expect(outputsOf(g, feeds)).toEqual(before);
    expect(foldConstants.run(g)).toBe(false);
  });

  it('keeps quantizers on constant weights (as qonnx does) so their bit widths stay visible', () => {
    const { g } = fixtureModel('corpus/qonnx-model-zoo/TFC_2W2A.onnx');
    const quantsBefore = ops(g).filter((o) => o === 'Quant').length;
    foldConstants.run(g);
    expect(ops(g).filter((o) => o === 'Quant').length).toBe(quantsBefore);
  });

  it('folds a Shape only once the input shape is fully known', () => {
    const g = graphWithInput('x', ['N', 3]);
    g.nodes.push(node('shape', 'Shape', ['x'], ['s']));
    g.outputs.push({ name: 's', dtype: 'int64', shape: [2] });
    expect(foldConstants.run(g)).toBe(false);
    g.inputs[0].shape = [2, 3];
    expect(foldConstants.run(g)).toBe(true);
    expect(toNumbers(g.initializers.get('s')!)).toEqual([2, 3]);
  });
});
