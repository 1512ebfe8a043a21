// printGraph/parseGraph: exact round trip on real models and on every kind of value the IR holds.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/diag/index.ts';
import { runGraph } from '../../src/exec/run.ts';
import { emptyGraph, type Graph } from '../../src/ir/graph.ts';
import { parseGraph } from '../../src/ir/parse.ts';
import { printGraph } from '../../src/ir/print.ts';
import { makeTensor, nums } from '../../src/ir/tensor.ts';
import { int, fixed, BIPOLAR } from '../../src/ir/datatype.ts';
import { loadModel } from '../../src/onnx/load.ts';
import { importModel } from '../../src/onnx/import.ts';
import { feedsFor, FIXTURES, loadTestDataSets } from '../helpers/golden.ts';

function onnxFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...onnxFiles(p));
    else if (e.endsWith('.onnx')) out.push(p);
  }
  return out.sort();
}

const MODELS = onnxFiles(join(FIXTURES, 'corpus')).concat(onnxFiles(join(FIXTURES, 'zoo')));

describe('printGraph/parseGraph round trip', () => {
  it('covers many fixture models', () => {
    expect(MODELS.length).toBeGreaterThan(20);
  });

  it.each(MODELS.map((m) => [m.slice(FIXTURES.length + 1), m]))('%s prints, parses and prints identically', (_, path) => {
    const text = printGraph(loadModel(path));
    expect(printGraph(parseGraph(text))).toBe(text);
  });

  const RUN = ['corpus/qonnx-model-zoo/TFC_2W2A.onnx', 'corpus/qonnx/mnist_conv_onnxzoo.onnx', 'corpus/hls4ml-example-models/three_layer_bn_pytorch.onnx'];
  it.each(RUN)('%s executes bit-identically after a round trip (tidied graph)', (rel) => {
    const path = join(FIXTURES, rel);
    const g = importModel(path);
    const back = parseGraph(printGraph(g));
    const [set] = loadTestDataSets(path);
    const a = runGraph(g, feedsFor(g, set.inputs));
    const b = runGraph(back, feedsFor(back, set.inputs));
    for (const o of g.outputs) expect(Array.from(nums(b.get(o.name)!))).toEqual(Array.from(nums(a.get(o.name)!)));
  });
});

function handMade(): Graph {
  const g = emptyGraph('hand "made"');
  g.producer = 'test';
  g.opsets = { '': 13, 'qonnx.custom_op.general': 1 };
  g.inputs.push({ name: 'input.1', dtype: 'float32', shape: ['batch', 3, 'with space'] });
  g.inputs.push({ name: 'no shape', dtype: 'int64' });
  g.outputs.push({ name: 'onnx::out:', dtype: 'float32', shape: [] });
  g.valueInfo.set('h', { name: 'h', dtype: 'float32', shape: [1, 3] });
  g.qtypes.set('h', fixed(8, 4));
  g.qtypes.set('onnx::out:', int(3));
  g.qtypes.set('input.1', BIPOLAR);
  g.initializers.set('special', makeTensor('float32', [6], [NaN, Infinity, -Infinity, -0, 1e-45, 3.4028234663852886e38]));
  g.initializers.set('big', makeTensor('float32', [5, 5], Array.from({ length: 25 }, (_, i) => (i - 12) / 7)));
  g.initializers.set('i64', makeTensor('int64', [20], Array.from({ length: 20 }, (_, i) => (i - 10) * 2 ** 40)));
  g.initializers.set('u8', makeTensor('uint8', [17], Array.from({ length: 17 }, (_, i) => i * 15)));
  g.initializers.set('f64', makeTensor('float64', [2], [0.1, 1 / 3]));
  g.initializers.set('str', makeTensor('string', [2], ['a "quoted" word', '']));
  g.initializers.set('scalar', makeTensor('int32', [], [-7]));
  g.nodes.push({
    name: 'n 1', op: 'Quant', domain: 'qonnx.custom_op.general', inputs: ['input.1', 'special', '', 'scalar'], outputs: ['h'],
    attrs: {
      i: { kind: 'int', v: 1 }, f: { kind: 'float', v: 1 }, f2: { kind: 'float', v: 0.1 }, s: { kind: 'string', v: 'ROUND "x"' },
      is: { kind: 'ints', v: [1, -2] }, fs: { kind: 'floats', v: [1, 2.5] }, ss: { kind: 'strings', v: ['a', 'b'] },
      ei: { kind: 'ints', v: [] }, ef: { kind: 'floats', v: [] }, es: { kind: 'strings', v: [] },
      t: { kind: 'tensor', v: makeTensor('float32', [2], [1, 2]) }, '0weird': { kind: 'int', v: 0 },
    },
  });
  g.nodes.push({ name: 'plain', op: 'Split', domain: '', inputs: ['h'], outputs: ['onnx::out:', '', 'other'], attrs: {} });
  return g;
}

describe('printGraph/parseGraph on every kind of value', () => {
  const g = handMade();
  const text = printGraph(g);
  const back = parseGraph(text);

  it('round-trips the text exactly', () => {
    expect(printGraph(back)).toBe(text);
  });

  it('reads CRLF line endings and skips blank and # comment lines', () => {
    const noisy = text.replace(/\n/g, '\r\n').replace('opset', '# a comment\r\n\r\nopset');
    expect(printGraph(parseGraph(noisy))).toBe(text);
  });

  it('keeps attribute kinds (float 1.0 stays a float, empty lists keep their kind)', () => {
    const a = back.nodes[0].attrs;
    expect(a.i).toEqual({ kind: 'int', v: 1 });
    expect(a.f).toEqual({ kind: 'float', v: 1 });
    expect(a.ei).toEqual({ kind: 'ints', v: [] });
    expect(a.ef).toEqual({ kind: 'floats', v: [] });
    expect(a.es).toEqual({ kind: 'strings', v: [] });
    expect(a.fs).toEqual({ kind: 'floats', v: [1, 2.5] });
    expect(a.s).toEqual({ kind: 'string', v: 'ROUND "x"' });
  });

  it('keeps NaN, ±inf, -0, denormals and int64 beyond 2^32 exactly', () => {
    const s = Array.from(nums(back.initializers.get('special')!));
    expect(Number.isNaN(s[0])).toBe(true);
    expect(s.slice(1, 3)).toEqual([Infinity, -Infinity]);
    expect(Object.is(s[3], -0)).toBe(true);
    expect(s[4]).toBe(Math.fround(1e-45));
    expect(Array.from(nums(back.initializers.get('i64')!))).toEqual(Array.from(nums(g.initializers.get('i64')!)));
    expect(Array.from(nums(back.initializers.get('big')!))).toEqual(Array.from(nums(g.initializers.get('big')!)));
    expect(back.initializers.get('str')!.data).toEqual(['a "quoted" word', '']);
  });

  it('keeps names, omitted inputs/outputs, symbolic dims, qtypes and the header', () => {
    expect(back.name).toBe('hand "made"');
    expect(back.opsets).toEqual(g.opsets);
    expect(back.inputs).toEqual(g.inputs);
    expect(back.outputs).toEqual(g.outputs);
    expect(back.nodes[0].inputs).toEqual(['input.1', 'special', '', 'scalar']);
    expect(back.nodes[1].outputs).toEqual(['onnx::out:', '', 'other']);
    expect([...back.qtypes.keys()]).toEqual(['h', 'onnx::out:', 'input.1']);
    expect(back.qtypes.get('h')).toEqual(fixed(8, 4));
  });

  it('prints one readable line per node', () => {
    expect(text).toContain('%h = Quant["qonnx.custom_op.general"](%input.1, %special, _, %scalar) {i=1, f=1.0, f2=0.1, s="ROUND \\"x\\"", is=[1, -2], fs=[1.0, 2.5], ss=["a", "b"], ei=ints[], ef=floats[], es=strings[], t=tensor(float32[2] = [1, 2]), "0weird"=0} @"n 1"');
    expect(text).toContain('%"onnx::out:", _, %other = Split(%h) @plain');
    expect(text).toContain('input %input.1: float32[batch,3,"with space"]');
    expect(text).toContain('qtype %h: FIXED<8,4>');
  });
});

describe('parseGraph errors', () => {
  const cases: [string, string][] = [
    ['not ir', "KLN1013 line 1: expected 'kiln-ir 1', not 'not ir'"],
    ['kiln-ir 1\ngraph "g" ir_version=8 producer=""\ninit %w: float32[2] = [1]', 'KLN1013 line 3: 1 values given, shape [2] needs 2: init %w: float32[2] = [1]'],
    ['kiln-ir 1\ngraph "g" ir_version=8 producer=""\ninput %x: floaty[2]', "KLN1013 line 3: unknown element type 'floaty': input %x: floaty[2]"],
    ['kiln-ir 1\ngraph "g" ir_version=8 producer=""\n%y = Relu(%x)', 'KLN1013 line 3: expected @node-name at end of line: %y = Relu(%x)'],
    ['kiln-ir 1\n%y = Relu(%x) @r', "KLN1013 missing 'graph' header line"],
    ['kiln-ir 1\ngraph "g" ir_version=8 producer=""\nqtype %x: INT0', "KLN1013 integer type width must be 1..64, not 0 in 'INT0'"],
  ];
  it.each(cases)('%j → %s', (text, message) => {
    try {
      parseGraph(text);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(KilnError);
      expect((e as KilnError).message).toBe(message);
    }
  });
});
