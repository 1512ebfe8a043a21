// verifyGraph / sortNodes: every structural problem, with the exact diagnostic text.
import { describe, expect, it } from 'vitest';
import { formatDiagnostic, KilnError } from '../../src/diag/index.ts';
import { emptyGraph, type Graph, type Node } from '../../src/ir/graph.ts';
import { makeTensor } from '../../src/ir/tensor.ts';
import { assertValidGraph, sortNodes, verifyGraph } from '../../src/ir/verify.ts';

const node = (name: string, op: string, inputs: string[], outputs: string[], attrs: Node['attrs'] = {}): Node => ({ name, op, domain: '', inputs, outputs, attrs });

function chain(): Graph {
  const g = emptyGraph();
  g.inputs.push({ name: 'x', dtype: 'float32', shape: [1, 4] });
  g.outputs.push({ name: 'y', dtype: 'float32', shape: [1, 4] });
  g.initializers.set('b', makeTensor('float32', [4], [1, 2, 3, 4]));
  g.nodes.push(node('add', 'Add', ['x', 'b'], ['h']), node('relu', 'Relu', ['h'], ['y']));
  return g;
}

const texts = (g: Graph) => verifyGraph(g).map(formatDiagnostic);

describe('verifyGraph', () => {
  it('accepts a well-formed graph', () => {
    expect(verifyGraph(chain())).toEqual([]);
    expect(() => assertValidGraph(chain())).not.toThrow();
  });

  it('reports a dangling tensor naming the consumer and the tensor (KLN1007)', () => {
    const g = chain();
    g.nodes[1].inputs = ['missing'];
    expect(texts(g)).toEqual(["KLN1007 tensor 'missing' used by Relu is not produced by any node, initializer or graph input at node 'relu'"]);
  });

  it('reports a cycle naming a node on it (KLN1006)', () => {
    const g = chain();
    // add reads the output of relu, relu reads add: a two-node cycle.
    g.nodes[0].inputs = ['x', 'y2'];
    g.nodes[1].outputs = ['y'];
    g.nodes.push(node('loop', 'Relu', ['y'], ['y2']));
    const d = verifyGraph(g);
    expect(d.map((x) => x.code)).toEqual(['KLN1006']);
    expect(['add', 'relu', 'loop']).toContain(d[0].node);
    expect(formatDiagnostic(d[0])).toMatch(/^KLN1006 the graph has a cycle through (Add|Relu) \(3 nodes cannot be ordered\) at node '(add|relu|loop)'$/);
  });

  it('names a node ON the cycle, not one merely downstream of it', () => {
    const g = emptyGraph();
    g.inputs.push({ name: 'x', dtype: 'float32', shape: [1] });
    g.outputs.push({ name: 'z', dtype: 'float32', shape: [1] });
    g.nodes.push(node('after', 'Relu', ['c2'], ['z']), node('c1', 'Add', ['x', 'c2'], ['c1o']), node('c2', 'Relu', ['c1o'], ['c2']));
    const d = verifyGraph(g);
    expect(d[0].code).toBe('KLN1006');
    expect(['c1', 'c2']).toContain(d[0].node);
  });

  it('reports a tensor produced twice, and a node output that shadows an initializer', () => {
    const g = chain();
    g.nodes.push(node('again', 'Relu', ['x'], ['h']), node('shadow', 'Relu', ['x'], ['b']));
    expect(texts(g)).toEqual([
      "KLN1002 tensor 'h' is produced twice (also by node 'add') at node 'again'",
      "KLN1002 tensor 'b' is produced by a node but is also an initializer at node 'shadow'",
    ]);
  });

  it('reports graph outputs nothing produces', () => {
    const g = chain();
    g.outputs.push({ name: 'ghost', dtype: 'float32' });
    expect(texts(g)).toEqual(["KLN1007 graph output 'ghost' is not produced by any node, initializer or graph input"]);
  });

  it('reports nodes out of topological order; sortNodes fixes them', () => {
    const g = chain();
    g.nodes.reverse();
    expect(texts(g)).toEqual(["KLN1002 nodes are not in topological order: input 'h' is produced later (by node 'add') at node 'relu'"]);
    sortNodes(g);
    expect(g.nodes.map((n) => n.name)).toEqual(['add', 'relu']);
    expect(verifyGraph(g)).toEqual([]);
  });

  it('sortNodes refuses a cycle with KLN1006', () => {
    const g = chain();
    g.nodes[0].inputs = ['x', 'y'];
    expect(() => sortNodes(g)).toThrow(KilnError);
    expect(() => sortNodes(g)).toThrow(/^KLN1006 the graph has a cycle through (Add|Relu) \(2 nodes cannot be ordered\) at node '(add|relu)'$/);
  });

  it('checks attribute sanity with "X must be Y, not Z" messages', () => {
    const g = chain();
    g.nodes[1].attrs = {
      strides: { kind: 'ints', v: [0, 1] },
      pads: { kind: 'ints', v: [-1, 0] },
      group: { kind: 'string', v: 'two' },
      epsilon: { kind: 'ints', v: [1] },
      kernel_shape: { kind: 'ints', v: [1.5] },
      alpha: { kind: 'int', v: 1 }, // an int where a float is expected is fine
    };
    expect(texts(g)).toEqual([
      "KLN1008 attribute 'strides' of Relu must be positive, not [0,1] at node 'relu'",
      "KLN1008 attribute 'pads' of Relu must be non-negative, not [-1,0] at node 'relu'",
      "KLN1008 attribute 'group' of Relu must be an int, not string at node 'relu'",
      "KLN1008 attribute 'epsilon' of Relu must be a float, not ints at node 'relu'",
      "KLN1008 attribute 'kernel_shape' of Relu must hold integers, not [1.5] at node 'relu'",
    ]);
  });

  it('collects every problem in one run', () => {
    const g = chain();
    g.nodes[1].inputs = ['missing'];
    g.outputs.push({ name: 'ghost', dtype: 'float32' });
    g.nodes.push(node('add', 'Relu', ['x'], ['extra']));
    expect(verifyGraph(g).map((d) => d.code)).toEqual(['KLN1002', 'KLN1007', 'KLN1007']);
  });
});
