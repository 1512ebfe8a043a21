// dce: dead nodes, unused initializers (also listed as graph inputs) and stale annotations go.
import { describe, expect, it } from 'vitest';
import { dce } from '../../src/passes/dce.ts';
import { makeTensor } from '../../src/ir/tensor.ts';
import { int } from '../../src/ir/datatype.ts';
import { expectValid, graphWithInput, node, ops, outputsOf } from './helpers.ts';

describe('dce', () => {
  it('removes what no output needs and keeps the result unchanged', () => {
    const g = graphWithInput('x', [1, 2]);
    g.initializers.set('used', makeTensor('float32', [2], [1, 2]));
    g.initializers.set('unused', makeTensor('float32', [2], [3, 4]));
    g.inputs.push({ name: 'unused', dtype: 'float32', shape: [2] }); // old exporters list initializers as inputs
    g.nodes.push(
      node('live', 'Add', ['x', 'used'], ['y']),
      node('dead1', 'Mul', ['x', 'unused'], ['d1']),
      node('dead2', 'Relu', ['d1'], ['d2']),
    );
    g.valueInfo.set('d1', { name: 'd1', dtype: 'float32', shape: [1, 2] });
    g.qtypes.set('d2', int(4));
    g.outputs.push({ name: 'y', dtype: 'float32', shape: [1, 2] });
    const feeds = new Map([['x', makeTensor('float32', [1, 2], [5, 6])]]);
    const before = outputsOf(g, feeds);
    expect(dce.run(g)).toBe(true);
    expect(ops(g)).toEqual(['Add']);
    expect([...g.initializers.keys()]).toEqual(['used']);
    expect(g.inputs.map((i) => i.name)).toEqual(['x']);
    expect(g.valueInfo.size).toBe(0);
    expect(g.qtypes.size).toBe(0);
    expectValid(g);
    expect(outputsOf(g, feeds)).toEqual(before);
    expect(dce.run(g)).toBe(false);
  });

  it('keeps a node when any one of its outputs is used, and keeps real graph inputs even if unused', () => {
    const g = graphWithInput('x', [4]);
    g.inputs.push({ name: 'spare', dtype: 'float32', shape: [1] });
    g.nodes.push(node('split', 'Split', ['x'], ['a', 'b'], { axis: { kind: 'int', v: 0 } }));
    g.outputs.push({ name: 'b', dtype: 'float32' });
    expect(dce.run(g)).toBe(false);
    expect(ops(g)).toEqual(['Split']);
    expect(g.inputs.map((i) => i.name)).toEqual(['x', 'spare']);
  });
});
