// Bad input through the real CLI: each is one coded line on stderr, exit 2, and no stack trace.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { emptyGraph, type Graph } from '../../src/ir/graph.ts';
import { makeTensor } from '../../src/ir/tensor.ts';
import { encodeNpy } from '../../src/io/npy.ts';
import { encodeModel } from '../../src/onnx/load.ts';
import { onnx } from '../../src/onnx/proto.ts';
import { encodeTensorFile } from '../../src/onnx/tensor.ts';
import { FIXTURES } from '../helpers/golden.ts';
import { kilnAsync, tempDir } from './cli-helpers.ts';

function addModel(): Graph {
  const g = emptyGraph();
  g.inputs.push({ name: 'x', dtype: 'float32', shape: [1, 4] });
  g.outputs.push({ name: 'y', dtype: 'float32', shape: [1, 4] });
  g.initializers.set('w', makeTensor('float32', [4], [1, 2, 3, 4]));
  g.nodes.push({ name: 'add', op: 'Add', domain: '', inputs: ['x', 'w'], outputs: ['y'], attrs: {} });
  return g;
}

/** Rewrites the encoded model of g through the protobuf objects (to build what encodeModel never writes). */
function patched(g: Graph, edit: (m: ReturnType<typeof onnx.ModelProto.decode>) => void): Uint8Array {
  const m = onnx.ModelProto.decode(encodeModel(g));
  edit(m);
  return onnx.ModelProto.encode(m).finish();
}

let dir: string;

beforeAll(() => {
  dir = tempDir();
  const w = (name: string, bytes: Uint8Array) => writeFileSync(join(dir, name), bytes);
  w('empty.onnx', new Uint8Array());
  const real = readFileSync(join(FIXTURES, 'corpus/qonnx-model-zoo/TFC_1W1A.onnx'));
  w('truncated.onnx', real.subarray(0, real.length >> 1));
  let s = 12345;
  w('random.onnx', new Uint8Array(4096).map(() => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24));
  w('external.onnx', patched(addModel(), (m) => {
    const t = m.graph!.initializer![0];
    t.rawData = new Uint8Array();
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    t.externalData = [
      onnx.StringStringEntryProto.create({ key: 'location', value: '../../etc/passwd' }),
      onnx.StringStringEntryProto.create({ key: 'length', value: '16' }),
    ];
  }));
  w('huge.onnx', patched(addModel(), (m) => {
    const t = m.graph!.initializer![0];
    t.dims = [1_000_000, 1_000_000]; // 10^12 elements, no data: must be refused before allocating
    t.rawData = new Uint8Array();
  }));
  const cyc = addModel();
  cyc.nodes = [
    { name: 'a', op: 'Add', domain: '', inputs: ['x', 'c'], outputs: ['b'], attrs: {} },
    { name: 'b', op: 'Relu', domain: '', inputs: ['b'], outputs: ['c'], attrs: {} },
    { name: 'out', op: 'Relu', domain: '', inputs: ['c'], outputs: ['y'], attrs: {} },
  ];
  w('cycle.onnx', encodeModel(cyc));
  const dang = addModel();
  dang.nodes[0].inputs = ['x', 'nowhere'];
  w('dangling.onnx', encodeModel(dang));
  w('good.onnx', encodeModel(addModel()));
  w('x_f64.npy', encodeNpy(makeTensor('float64', [1, 4], [1, 2, 3, 4])));
  w('x_shape.npy', encodeNpy(makeTensor('float32', [1, 5], [1, 2, 3, 4, 5])));
  w('x_rank.pb', encodeTensorFile(makeTensor('float32', [4], [1, 2, 3, 4])));
  w('x_ok.npy', encodeNpy(makeTensor('float32', [1, 4], [1, 2, 3, 4])));
  w('x_bad.npy', new Uint8Array([1, 2, 3]));
  w('x.txt', new Uint8Array([1]));
  w('x_cut.pb', encodeTensorFile(makeTensor('float32', [1, 4], [1, 2, 3, 4])).subarray(0, 12));
});

const cases: [string, string[], string][] = [
  ['empty file', ['inspect', 'empty.onnx'], "KLN1002 model file 'empty.onnx' is empty"],
  ['missing file', ['inspect', 'nothing.onnx'], "KLN1001 model file 'nothing.onnx' does not exist"],
  ['truncated protobuf (a real model cut in half)', ['inspect', 'truncated.onnx'],
    "KLN1002 'truncated.onnx' is not a valid ONNX model (truncated or corrupt protobuf: a field at byte 5490 needs 200704 more bytes, but the file has 121286)"],
  ['random bytes', ['inspect', 'random.onnx'], "KLN1002 'random.onnx' is not a valid ONNX model (truncated or corrupt protobuf: a field at byte 9 needs 530381 more bytes, but the file has 4096)"],
  ['external data pointing at ../../etc/passwd', ['inspect', 'external.onnx'],
    "KLN1004 tensor 'w' stores its data in an external file ('../../etc/passwd'); kiln reads self-contained models only — re-save the model with all tensors inside it (onnx.save(model, path, save_as_external_data=False))"],
  ['a dimension of 10^12 elements', ['inspect', 'huge.onnx'], "KLN1005 tensor 'w' has 1.00e+12 elements (shape [1000000,1000000]), more than the limit of 268435456"],
  ['a graph cycle', ['inspect', 'cycle.onnx'], "KLN1006 the graph has a cycle through Add (3 nodes cannot be ordered) at node 'a'"],
  ['a dangling tensor name', ['exec', 'dangling.onnx', '--in', 'x_ok.npy'],
    "KLN1007 tensor 'nowhere' used by Add is not produced by any node, initializer or graph input at node 'add'"],
  ['an input file of the wrong dtype', ['exec', 'good.onnx', '--in', 'x_f64.npy'], "KLN1012 input 'x' expects float32[1,4], but 'x_f64.npy' holds float64[1,4]"],
  ['an input file of the wrong shape', ['exec', 'good.onnx', '--in', 'x_shape.npy'], "KLN1012 input 'x' expects float32[1,4], but 'x_shape.npy' holds float32[1,5]"],
  ['an input file of the wrong rank (.pb)', ['exec', 'good.onnx', '--in', 'x_rank.pb'], "KLN1012 input 'x' expects float32[1,4], but 'x_rank.pb' holds float32[4]"],
  ['too many input files', ['exec', 'good.onnx', '--in', 'x_ok.npy', 'x_ok.npy'], "KLN1012 the model has 1 input ('x'), but 2 input files were given"],
  ['a corrupt .npy input', ['exec', 'good.onnx', '--in', 'x_bad.npy'], "KLN1011 'x_bad.npy' is not a valid .npy file (missing \\x93NUMPY magic)"],
  ['a truncated .pb input', ['exec', 'good.onnx', '--in', 'x_cut.pb'],
    "KLN1011 'x_cut.pb' is not a valid ONNX TensorProto file (truncated or corrupt protobuf: a field at byte 10 needs 16 more bytes, but the file has 12)"],
  ['an input of unknown format', ['exec', 'good.onnx', '--in', 'x.txt'], "KLN1011 input file 'x.txt' must be .npy or .pb (an ONNX TensorProto), not '.txt'"],
];

describe.concurrent('bad input: one coded line, exit 2, no stack trace', () => {
  it.each(cases)('%s', async (_, args, line) => {
    const r = await kilnAsync(args, dir);
    expect(r.stderr).toBe(`${line}\n`);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('the external-data model is refused by exec too, while decoding, before any other file is read', async () => {
    const r = await kilnAsync(['exec', 'external.onnx', '--in', 'x_ok.npy'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^KLN1004 /);
  });
});
