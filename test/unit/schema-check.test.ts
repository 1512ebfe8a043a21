// #16 C1–C3: every node is checked against its op's schema (src/passes/schema-check.ts) before shape
// inference computes: input counts at the model's opset and window attributes per spatial axis.
// Before, these ended in exit 70 (a NaN shape that never settled, TypeErrors reading 'dtype'/'shape').
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emptyGraph, type AttrValue, type Graph } from '../../src/ir/graph.ts';
import { makeTensor } from '../../src/ir/tensor.ts';
import { encodeNpy } from '../../src/io/npy.ts';
import { ONNX_SCHEMAS } from '../../src/ir/onnx-schemas.ts';
import { importGraph } from '../../src/onnx/import.ts';
import { encodeModel } from '../../src/onnx/load.ts';
import { kilnAsync, tempDirsRemovedAfterAll } from './cli-helpers.ts';

const ints = (...v: number[]): AttrValue => ({ kind: 'ints', v });

/** x [1,3,8,8] → op (with weights [4,3,3,3] for Conv) → y. */
function windowed(op: string, attrs: Record<string, AttrValue>): Graph {
  const g = emptyGraph();
  g.opsets = { '': 13 };
  g.inputs.push({ name: 'x', dtype: 'float32', shape: [1, 3, 8, 8] });
  g.outputs.push({ name: 'y', dtype: 'float32' });
  const inputs = ['x'];
  if (op === 'Conv') {
    g.initializers.set('w', makeTensor('float32', [4, 3, 3, 3]));
    inputs.push('w');
  }
  g.nodes.push({ name: 'win', op, domain: '', inputs, outputs: ['y'], attrs });
  return g;
}

/** One node of `op` on x [1,4] with the given inputs. */
function single(op: string, inputs: string[], opset = 13): Graph {
  const g = emptyGraph();
  g.opsets = { '': opset };
  g.inputs.push({ name: 'x', dtype: 'float32', shape: [1, 4] });
  g.outputs.push({ name: 'y', dtype: 'float32' });
  g.nodes.push({ name: 'n', op, domain: '', inputs, outputs: ['y'], attrs: op === 'Concat' ? { axis: { kind: 'int', v: 0 } } : {} });
  return g;
}

const message = (g: Graph) => {
  try {
    importGraph(g);
  } catch (e) {
    return (e as Error).message;
  }
  return 'accepted';
};

describe('schema check', () => {
  it('the generated table holds the ONNX schemas kiln relies on', () => {
    expect(ONNX_SCHEMAS.Conv).toEqual([[1, 2, 3, 1, 1, 'auto_pad:string dilations:ints group:int kernel_shape:ints pads:ints strides:ints']]);
    expect(ONNX_SCHEMAS.Clip.map((r) => [r[0], r[1], r[2]])).toEqual([[1, 1, 1], [6, 1, 1], [11, 1, 3]]);
    expect(ONNX_SCHEMAS.Concat[0].slice(1, 3)).toEqual([1, Infinity]);
  });

  describe('C1: window attributes shorter than the spatial rank', () => {
    const cases: [string, Record<string, AttrValue>, string][] = [
      ['Conv', { strides: ints(1) }, "KLN1008 attribute 'strides' of Conv has 1 value but the input has 2 spatial axes: give 2 values at node 'win'"],
      ['Conv', { kernel_shape: ints(3) }, "KLN1008 attribute 'kernel_shape' of Conv has 1 value but the input has 2 spatial axes: give 2 values at node 'win'"],
      ['Conv', { pads: ints(1, 1) }, "KLN1008 attribute 'pads' of Conv has 2 values but the input has 2 spatial axes: give 4 values (all begins, then all ends) at node 'win'"],
      ['Conv', { dilations: ints(1, 1, 1) }, "KLN1008 attribute 'dilations' of Conv has 3 values but the input has 2 spatial axes: give 2 values at node 'win'"],
      ['MaxPool', { kernel_shape: ints(2), strides: ints(2, 2) }, "KLN1008 attribute 'kernel_shape' of MaxPool has 1 value but the input has 2 spatial axes: give 2 values at node 'win'"],
      ['AveragePool', { kernel_shape: ints(2, 2), pads: ints(0, 0) }, "KLN1008 attribute 'pads' of AveragePool has 2 values but the input has 2 spatial axes: give 4 values (all begins, then all ends) at node 'win'"],
    ];
    for (const [op, attrs, want] of cases) it(`${op} ${Object.keys(attrs).join(', ')}`, () => expect(message(windowed(op, attrs))).toBe(want));

    it('every short attribute of a node is one line', () => {
      expect(message(windowed('Conv', { strides: ints(1), pads: ints(0, 0) })).split('\n')).toEqual([
        "KLN1008 attribute 'strides' of Conv has 1 value but the input has 2 spatial axes: give 2 values at node 'win'",
        "KLN1008 attribute 'pads' of Conv has 2 values but the input has 2 spatial axes: give 4 values (all begins, then all ends) at node 'win'",
      ]);
    });

    it('a rank learnt only by shape inference (after a Reshape) is checked before the pool is computed', () => {
      const g = emptyGraph();
      g.opsets = { '': 13 };
      g.inputs.push({ name: 'x', dtype: 'float32', shape: [1, 192] });
      g.outputs.push({ name: 'y', dtype: 'float32' });
      g.initializers.set('s', makeTensor('int64', [4], [1, 3, 8, 8]));
      g.nodes.push({ name: 'r', op: 'Reshape', domain: '', inputs: ['x', 's'], outputs: ['x4'], attrs: {} });
      g.nodes.push({ name: 'pool', op: 'MaxPool', domain: '', inputs: ['x4'], outputs: ['y'], attrs: { kernel_shape: ints(2), strides: ints(2) } });
      expect(message(g).split('\n')).toEqual([
        "KLN1008 attribute 'kernel_shape' of MaxPool has 1 value but the input has 2 spatial axes: give 2 values at node 'pool'",
        "KLN1008 attribute 'strides' of MaxPool has 1 value but the input has 2 spatial axes: give 2 values at node 'pool'",
      ]);
    });

    it('a Conv input of rank 2 and weights of another rank', () => {
      const g = windowed('Conv', {});
      g.inputs[0].shape = [1, 3];
      expect(message(g)).toBe("KLN1009 Conv needs an input of rank 3 or more (batch, channels, spatial axes), not rank 2 at node 'win'");
      g.inputs[0].shape = [1, 3, 8];
      expect(message(g)).toBe("KLN1009 Conv weights have rank 4 but its input has rank 3: they must be equal at node 'win'");
    });

    it('correct attributes pass', () => expect(message(windowed('Conv', { strides: ints(1, 1), pads: ints(1, 1, 1, 1) }))).toBe('accepted'));
  });

  describe('C2, C3: too few inputs', () => {
    const two = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'PRelu'];
    for (const op of two) it(op, () => expect(message(single(op, ['x']))).toBe(`KLN1002 ${op} takes 2 inputs at opset 13, but has 1 at node 'n'`));
    for (const op of ['Max', 'Min', 'Sum', 'Concat']) it(`${op} with none`, () => expect(message(single(op, []))).toBe(`KLN1002 ${op} takes at least 1 input at opset 13, but has none at node 'n'`));
    it('Where', () => expect(message(single('Where', ['x', 'x']))).toBe("KLN1002 Where takes 3 inputs at opset 13, but has 2 at node 'n'"));
    it('the opset decides: Clip has 1 input before opset 11', () => {
      expect(message(single('Clip', ['x', 'x', 'x'], 9))).toBe("KLN1002 Clip takes 1 input at opset 9, but has 3 at node 'n'");
      expect(message(single('Clip', ['x', 'x', 'x', 'x'], 13))).toBe("KLN1002 Clip takes 1 to 3 inputs at opset 13, but has 4 at node 'n'");
    });
    it('an empty name for a required input', () => expect(message(single('Add', ['', 'x']))).toBe("KLN1002 input 1 of Add is required but empty at node 'n'"));
    it('QONNX ops from the hand table', () => {
      const g = single('Quant', ['x', 'x']);
      g.nodes[0].domain = 'qonnx.custom_op.general';
      expect(message(g)).toBe("KLN1002 Quant takes 4 inputs, but has 2 at node 'n'");
      g.nodes[0].op = 'Trunc';
      expect(message(g)).toBe("KLN1002 Trunc takes 5 to 7 inputs, but has 2 at node 'n'");
    });
  });

  const dir = tempDirsRemovedAfterAll();
  it('through the CLI: one coded line per cause, exit 2, for inspect, exec and compile', async () => {
    const d = dir();
    const file = join(d, 'm.onnx');
    writeFileSync(file, encodeModel(windowed('Conv', { strides: ints(1) })));
    const want = "KLN1008 attribute 'strides' of Conv has 1 value but the input has 2 spatial axes: give 2 values at node 'win'";
    const [inspect, compile] = await Promise.all([kilnAsync(['inspect', file], d), kilnAsync(['compile', file, '-o', join(d, 'out')], d)]);
    expect(inspect.code).toBe(2);
    expect(inspect.stdout).toContain(`  ${want}\n`);
    expect({ code: compile.code, stderr: compile.stderr }).toEqual({ code: 2, stderr: `${want}\n` });
    writeFileSync(file, encodeModel(single('Concat', [])));
    writeFileSync(join(d, 'x.npy'), encodeNpy(makeTensor('float32', [1, 4])));
    const exec = await kilnAsync(['exec', file, '--in', join(d, 'x.npy')], d);
    expect({ code: exec.code, stderr: exec.stderr }).toEqual({ code: 2, stderr: "KLN1002 Concat takes at least 1 input at opset 13, but has none at node 'n'\n" });
  }, 60_000);
});
