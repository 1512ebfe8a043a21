// infer-shapes: every inferred type must equal what execution actually produces.
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../src/exec/run.ts';
import { tensorType } from '../../src/ir/graph.ts';
import { inferShapes } from '../../src/passes/infer-shapes.ts';
import { importModel } from '../../src/onnx/import.ts';
import { join } from 'node:path';
import { FIXTURES } from '../helpers/golden.ts';
import { feedsOf, graphWithInput, node } from './helpers.ts';
import { makeTensor } from '../../src/ir/tensor.ts';

const MODELS = [
  'corpus/qonnx-model-zoo/TFC_1W1A.onnx', 'corpus/qonnx-model-zoo/qkeras_jettagging.onnx', 'corpus/qonnx/mnist_conv_onnxzoo.onnx',
  'corpus/hls4ml-example-models/three_layer_bn_pytorch.onnx', 'corpus/hls4ml-example-models/conv1d_small_keras.onnx',
  'corpus/hls4ml-example-models/conv2d_small_keras.onnx', 'corpus/nn2fpga/two_layers_old.onnx', 'corpus/onnx2c/conv_k2_maxpool_k2.onnx',
  'zoo/lenet5_int8_qdq/model.onnx', 'zoo/cnv_small_w2a2/model.onnx', 'zoo/lenet5_w4a4_qdq/model.onnx', 'zoo/mlp_ternary/model.onnx',
];

describe('infer-shapes', () => {
  it.each(MODELS)('%s: a type for every tensor, equal to the executed one', (rel) => {
    const path = join(FIXTURES, rel);
    const g = importModel(path, { pipeline: 'tidy-exact', verify: true });
    const names = g.nodes.flatMap((n) => n.outputs).filter((o) => o !== '');
    const actual = runGraph(g, feedsOf(path, g), { keep: names });
    for (const name of names) {
      const t = actual.get(name)!;
      expect({ name, ...tensorType(g, name) }).toEqual({ name, dtype: t.dtype, shape: t.shape });
    }
  });

  it('computes conv/pool windows with pads, strides, dilations, ceil_mode and auto_pad', () => {
    const g = graphWithInput('x', [1, 2, 11, 9]);
    g.initializers.set('w', makeTensor('float32', [4, 1, 3, 3]));
    g.nodes.push(
      node('c', 'Conv', ['x', 'w'], ['c'], { group: { kind: 'int', v: 2 }, strides: { kind: 'ints', v: [2, 3] }, pads: { kind: 'ints', v: [1, 0, 1, 2] }, dilations: { kind: 'ints', v: [1, 2] } }),
      node('p', 'MaxPool', ['c'], ['p'], { kernel_shape: { kind: 'ints', v: [2, 2] }, strides: { kind: 'ints', v: [2, 2] }, ceil_mode: { kind: 'int', v: 1 } }),
      node('s', 'AveragePool', ['x'], ['s'], { kernel_shape: { kind: 'ints', v: [3, 3] }, strides: { kind: 'ints', v: [2, 2] }, auto_pad: { kind: 'string', v: 'SAME_UPPER' } }),
      node('gp', 'GlobalAveragePool', ['p'], ['gp']), node('f', 'Flatten', ['gp'], ['f']),
    );
    g.outputs.push({ name: 'f', dtype: 'float32' }, { name: 's', dtype: 'float32' });
    inferShapes.run(g);
    // H: (11+1+1-3)/2+1 = 6; W: (9+0+2-5)/3+1 = 3; ceil pool: 3, 2.
    expect(g.valueInfo.get('c')?.shape).toEqual([1, 4, 6, 3]);
    expect(g.valueInfo.get('p')?.shape).toEqual([1, 4, 3, 2]);
    expect(g.valueInfo.get('gp')?.shape).toEqual([1, 4, 1, 1]);
    expect(g.outputs[0].shape).toEqual([1, 4]);
    expect(g.outputs[1].shape).toEqual([1, 2, 6, 5]);
    const out = runGraph(g, new Map([['x', makeTensor('float32', [1, 2, 11, 9])]]), { keep: ['c', 'p'] });
    expect(out.get('c')!.shape).toEqual([1, 4, 6, 3]);
    expect(out.get('p')!.shape).toEqual([1, 4, 3, 2]);
    expect(out.get('s')!.shape).toEqual([1, 2, 6, 5]);
  });

  it('keeps symbolic dimensions it cannot resolve and reports no change on a second run', () => {
    const g = graphWithInput('x', ['N', 3]);
    g.initializers.set('w', makeTensor('float32', [3, 5]));
    g.nodes.push(node('mm', 'MatMul', ['x', 'w'], ['y']), node('t', 'Transpose', ['y'], ['z']));
    g.outputs.push({ name: 'z', dtype: 'float32' });
    expect(inferShapes.run(g)).toBe(true);
    expect(g.valueInfo.get('y')?.shape).toEqual(['N', 5]);
    expect(g.outputs[0].shape).toEqual([5, 'N']);
    expect(inferShapes.run(g)).toBe(false);
  });
});
