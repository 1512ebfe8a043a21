// #16 "also found": values kiln accepted that it cannot honour — a folding entry that is not an
// object or a pe of 1e400, opsets it does not implement, NaN/Inf inputs, bad quantizer parameters.
// Each is now one coded line naming where it is.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkFolding } from '../../src/dataflow/fold.ts';
import { emptyGraph, type Graph } from '../../src/ir/graph.ts';
import { makeTensor } from '../../src/ir/tensor.ts';
import { encodeNpy } from '../../src/io/npy.ts';
import { importGraph } from '../../src/onnx/import.ts';
import { decodeModel, encodeModel } from '../../src/onnx/load.ts';
import { onnx } from '../../src/onnx/proto.ts';
import { kilnAsync, ROOT, tempDirsRemovedAfterAll } from './cli-helpers.ts';

const tfc = join(ROOT, 'examples', 'tfc_w1a1', 'model.onnx');
const dirs = tempDirsRemovedAfterAll();
let work: string;

const Q = 'qonnx.custom_op.general';

/** x [1,4] → Quant(scale, 0, bits) → y. */
function quantModel(scale: number, bits: number): Graph {
  const g = emptyGraph();
  g.opsets = { '': 13, [Q]: 1 };
  g.inputs.push({ name: 'x', dtype: 'float32', shape: [1, 4] });
  g.outputs.push({ name: 'y', dtype: 'float32' });
  g.initializers.set('s', makeTensor('float32', [], [scale]));
  g.initializers.set('z', makeTensor('float32', [], [0]));
  g.initializers.set('b', makeTensor('float32', [], [bits]));
  g.nodes.push({ name: 'q', op: 'Quant', domain: Q, inputs: ['x', 's', 'z', 'b'], outputs: ['y'], attrs: { signed: { kind: 'int', v: 1 } } });
  return g;
}

function reluModel(): Graph {
  const g = emptyGraph();
  g.opsets = { '': 13 };
  g.inputs.push({ name: 'x', dtype: 'float32', shape: [1, 4] });
  g.outputs.push({ name: 'y', dtype: 'float32' });
  g.nodes.push({ name: 'r', op: 'Relu', domain: '', inputs: ['x'], outputs: ['y'], attrs: {} });
  return g;
}

/** The model bytes with its ai.onnx opset_import replaced (undefined: none). */
function withOpset(version: number | undefined): Uint8Array {
  const m = onnx.ModelProto.decode(encodeModel(reluModel()));
  m.opsetImport = version === undefined ? [] : [onnx.OperatorSetIdProto.create({ domain: '', version })];
  return onnx.ModelProto.encode(m).finish();
}

const message = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return 'accepted';
};

beforeAll(() => {
  work = dirs();
  const w = (name: string, data: string | Uint8Array) => writeFileSync(join(work, name), data);
  w('not-object.json', '{"MatMul_20": 4}');
  w('huge-pe.json', '{"fcs_0_MatMul": {"pe": 1e400}}');
  const x = new Float32Array(784);
  x[5] = NaN;
  w('nan.npy', encodeNpy(makeTensor('float32', [1, 784], x)));
  x[5] = 0;
  x[783] = Infinity;
  w('inf.npy', encodeNpy(makeTensor('float32', [1, 784], x)));
  w('opset99.onnx', withOpset(99));
  w('neg-scale.onnx', encodeModel(quantModel(-0.5, 4)));
  mkdirSync(join(work, 'out'));
});

describe('folding JSON against its schema (zod), the path in the message', () => {
  const cases: [unknown, string][] = [
    [{ MatMul_20: 4 }, `KLN2002 folding of 'MatMul_20' must be an object { "pe": n, "simd": m }, not 4`],
    [{ fc1: { pe: Infinity } }, "KLN2002 pe of 'fc1' must be a positive integer, not Infinity"],
    [{ fc1: { simd: 2.5 } }, "KLN2002 simd of 'fc1' must be a positive integer, not 2.5"],
    [{ fc1: { pe: '4' } }, `KLN2002 pe of 'fc1' must be a positive integer, not "4"`],
    [{ fc1: { pe: 2, lanes: 3 } }, "KLN2002 folding of 'fc1' may set pe, simd, taps, mult and impl, not 'lanes'"],
    [[1], 'KLN2002 folding must be an object { "<layer>": { "pe": n, "simd": m } }, not [1]'],
    [null, 'KLN2002 folding must be an object { "<layer>": { "pe": n, "simd": m } }, not null'],
  ];
  for (const [folding, want] of cases) it(JSON.stringify(folding) ?? String(folding), () => expect(message(() => checkFolding(folding))).toBe(want));
  it('a good one passes', () => expect(checkFolding({ fc1: { pe: 2, simd: 4 }, sw: { taps: 9 } })).toEqual({ fc1: { pe: 2, simd: 4 }, sw: { taps: 9 } }));
});

describe('opsets outside 1..21 and a missing ai.onnx opset are refused with the range', () => {
  const range = 'kiln implements ai.onnx opsets 1 to 21';
  for (const v of [0, -1, 99, 22]) {
    it(`opset ${v}`, () => expect(message(() => decodeModel(withOpset(v), 'm.onnx'))).toBe(
      `KLN1002 'm.onnx' declares ai.onnx opset ${v}; ${range}: re-export it with one of those`,
    ));
  }
  it('none', () => expect(message(() => decodeModel(withOpset(undefined), 'm.onnx'))).toBe(
    `KLN1002 'm.onnx' uses ai.onnx ops but declares no ai.onnx opset (${range}): re-export it with an opset_import`,
  ));
  it('1 and 21 load', () => {
    expect(decodeModel(withOpset(1)).opsets['']).toBe(1);
    expect(decodeModel(withOpset(21)).opsets['']).toBe(21);
  });
});

describe('quantizer parameters: scale positive and finite, bit width an integer in 1..32', () => {
  const cases: [number, number, string][] = [
    [-0.5, 4, "KLN1008 scale of Quant must be positive and finite, not -0.5 at node 'q'"],
    [-Infinity, 4, "KLN1008 scale of Quant must be positive and finite, not -Infinity at node 'q'"],
    [0, 4, "KLN1008 scale of Quant must be positive and finite, not 0 at node 'q'"],
    [NaN, 4, "KLN1008 scale of Quant must be positive and finite, not NaN at node 'q'"],
    [0.5, 0, "KLN1008 bit width of Quant must be an integer from 1 to 32, not 0 at node 'q'"],
    [0.5, 2.5, "KLN1008 bit width of Quant must be an integer from 1 to 32, not 2.5 at node 'q'"],
    [0.5, 64, "KLN1008 bit width of Quant must be an integer from 1 to 32, not 64 at node 'q'"],
  ];
  for (const [scale, bits, want] of cases) it(`scale ${scale}, bits ${bits}`, () => expect(message(() => importGraph(quantModel(scale, bits)))).toBe(want));
  it('scale 0.5, 4 bits passes', () => expect(message(() => importGraph(quantModel(0.5, 4)))).toBe('accepted'));
});

/** x [1,4] → QuantizeLinear(s, zp) → DequantizeLinear(s, zp) → y, at opset 13. */
function qdqModel(scale: number, zp: ReturnType<typeof makeTensor>): Graph {
  const g = emptyGraph();
  g.opsets = { '': 13 };
  g.inputs.push({ name: 'x', dtype: 'float32', shape: [1, 4] });
  g.outputs.push({ name: 'y', dtype: 'float32' });
  g.initializers.set('s', makeTensor('float32', [], [scale]));
  g.initializers.set('zp', zp);
  g.nodes.push({ name: 'ql', op: 'QuantizeLinear', domain: '', inputs: ['x', 's', 'zp'], outputs: ['q'], attrs: {} });
  g.nodes.push({ name: 'dql', op: 'DequantizeLinear', domain: '', inputs: ['q', 's', 'zp'], outputs: ['y'], attrs: {} });
  return g;
}

describe('QuantizeLinear / DequantizeLinear: scale positive and finite, zero point an integer type in range', () => {
  const int8 = (v: number) => makeTensor('int8', [], [v]);
  const cases: [number, ReturnType<typeof makeTensor>, string][] = [
    [-0.5, int8(0), "KLN1008 y_scale of QuantizeLinear must be positive and finite, not -0.5 at node 'ql'"],
    [0, int8(0), "KLN1008 y_scale of QuantizeLinear must be positive and finite, not 0 at node 'ql'"],
    [Infinity, int8(0), "KLN1008 y_scale of QuantizeLinear must be positive and finite, not Infinity at node 'ql'"],
    [NaN, int8(0), "KLN1008 y_scale of QuantizeLinear must be positive and finite, not NaN at node 'ql'"],
    [0.5, makeTensor('float32', [], [3]), "KLN1008 y_zero_point of QuantizeLinear must be an integer tensor (uint8, int8, uint16, int16, int32), not float32 at node 'ql'"],
    [0.5, makeTensor('int64', [], [3]), "KLN1008 y_zero_point of QuantizeLinear must be an integer tensor (uint8, int8, uint16, int16, int32), not int64 at node 'ql'"],
  ];
  for (const [scale, zp, want] of cases) {
    // Both nodes share s and zp: one line each.
    const dq = want.replace('y_scale of QuantizeLinear', 'x_scale of DequantizeLinear').replace('y_zero_point of QuantizeLinear', 'x_zero_point of DequantizeLinear').replace("'ql'", "'dql'");
    it(`scale ${scale}, zero point ${zp.dtype} ${zp.data[0]}`, () => expect(message(() => importGraph(qdqModel(scale, zp)))).toBe(`${want}\n${dq}`));
  }
  // The zero point's type holds it, so out of range can only come from the file: int32_data is
  // wider than int8 and used to wrap silently (300 → 44).
  it('a zero point of 300 in an int8 tensor (int32_data) is refused when the file is read', () => {
    const m = onnx.ModelProto.decode(encodeModel(qdqModel(0.5, int8(0))));
    const zp = m.graph!.initializer!.find((t) => t.name === 'zp')!;
    zp.rawData = new Uint8Array();
    zp.int32Data = [300];
    expect(message(() => decodeModel(onnx.ModelProto.encode(m).finish(), 'm.onnx'))).toBe("KLN1002 tensor 'zp' holds 300 at index 0, outside int8's range -128 to 127");
  });
  it('scale 0.5 and an int8 zero point pass; the model runs', () => expect(message(() => importGraph(qdqModel(0.5, int8(3))))).toBe('accepted'));
});

describe.concurrent('through the CLI', () => {
  const cases: [string[], string][] = [
    [['estimate', tfc, '--fold', 'not-object.json'], `KLN2002 folding of 'MatMul_20' must be an object { "pe": n, "simd": m }, not 4`],
    // Was "not null": JSON.stringify(Infinity).
    [['estimate', tfc, '--fold', 'huge-pe.json'], "KLN2002 pe of 'fcs_0_MatMul' must be a positive integer, not Infinity"],
    [['exec', tfc, '--in', 'nan.npy'], "KLN1011 graph input 'input' holds NaN at index 5: inputs must be finite numbers"],
    [['exec', tfc, '--in', 'inf.npy'], "KLN1011 graph input 'input' holds Infinity at index 783: inputs must be finite numbers"],
    [['sim', 'design', '--in', 'inf.npy'], 'KLN1011 the input file holds Infinity at index 783: inputs must be finite numbers'],
    [['compile', 'opset99.onnx', '-o', 'out/o99'], "KLN1002 'opset99.onnx' declares ai.onnx opset 99; kiln implements ai.onnx opsets 1 to 21: re-export it with one of those"],
    [['compile', 'neg-scale.onnx', '-o', 'out/neg'], "KLN1008 scale of Quant must be positive and finite, not -0.5 at node 'q'"],
    [['exec', 'neg-scale.onnx', '--in', 'nan.npy'], "KLN1008 scale of Quant must be positive and finite, not -0.5 at node 'q'"],
  ];
  beforeAll(async () => {
    const r = await kilnAsync(['compile', tfc, '-o', 'design'], work);
    expect(r.code).toBe(0);
  }, 60_000);
  for (const [args, want] of cases) {
    it(args.join(' ').replace(tfc, 'tfc.onnx'), async () => {
      const r = await kilnAsync(args, work);
      expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ code: 2, stderr: `${want}\n`, stdout: '' });
    }, 30_000);
  }
});
