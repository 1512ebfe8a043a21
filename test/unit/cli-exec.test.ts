// kiln exec through the real CLI: .pb/.npy in and out, batches along dim 0, several outputs.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../src/exec/run.ts';
import { emptyGraph } from '../../src/ir/graph.ts';
import { makeTensor, nums } from '../../src/ir/tensor.ts';
import { decodeNpy, encodeNpy } from '../../src/io/npy.ts';
import { importModel } from '../../src/onnx/import.ts';
import { encodeModel } from '../../src/onnx/load.ts';
import { decodeTensorFile } from '../../src/onnx/tensor.ts';
import { compareTensors, FIXTURES, loadTestDataSets, readNpy, row } from '../helpers/golden.ts';
import { kiln, tempDir } from './cli-helpers.ts';

const npy = (p: string) => decodeNpy(readFileSync(p), p);

describe('kiln exec', () => {
  it('runs a model on a .pb input and writes .npy equal to the golden (TFC_2W2A)', () => {
    const model = join(FIXTURES, 'corpus/qonnx-model-zoo/TFC_2W2A.onnx');
    const set = join(FIXTURES, 'corpus/qonnx-model-zoo/TFC_2W2A/test_data_set_0');
    const dir = tempDir();
    const r = kiln(['exec', model, '--in', join(set, 'input_0.pb'), '--out', join(dir, 'y.npy')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const want = loadTestDataSets(model)[0].outputs[0];
    expect(compareTensors(npy(join(dir, 'y.npy')), want).why).toBeUndefined();
  });

  it('prints a summary of each output without --out', () => {
    const model = join(FIXTURES, 'corpus/hls4ml-example-models/two_layer_keras.onnx');
    const input = join(FIXTURES, 'corpus/hls4ml-example-models/two_layer_keras/test_data_set_0/input_0.pb');
    const r = kiln(['exec', model, '--in', input]);
    expect(r.code).toBe(0);
    const g = importModel(model, { pipeline: 'tidy-exact' });
    const out = runGraph(g, new Map([[g.inputs[0].name, decodeTensorFile(readFileSync(input), input)]])).get(g.outputs[0].name)!;
    expect(r.stdout.startsWith(`${g.outputs[0].name} float32[${out.shape.join(',')}] = [${(nums(out)[0]).toPrecision(6)}`)).toBe(true);
  });

  it('stacks N samples along dim 0 for a batch-1 model and equals N single runs (zoo tfc_w1a1)', () => {
    const zoo = join(FIXTURES, 'zoo/tfc_w1a1');
    const dir = tempDir();
    const inputs = readNpy(join(zoo, 'inputs.npy'));
    const r = kiln(['exec', join(zoo, 'model.onnx'), '--in', join(zoo, 'inputs.npy'), '--out', join(dir, 'y.npy')]);
    expect(r.stderr).toBe('');
    const y = npy(join(dir, 'y.npy'));
    expect(y.shape).toEqual([inputs.shape[0], 10]);
    const g = importModel(join(zoo, 'model.onnx'), { pipeline: 'tidy-exact' });
    for (const i of [0, 7, inputs.shape[0] - 1]) {
      const one = runGraph(g, new Map([[g.inputs[0].name, row(inputs, i)]])).get(g.outputs[0].name)!;
      expect(Array.from(nums(y).subarray(i * 10, i * 10 + 10))).toEqual(Array.from(nums(one)));
    }
  });

  describe('a model with two outputs', () => {
    const dir = tempDir();
    const g = emptyGraph();
    g.inputs.push({ name: 'x', dtype: 'float32', shape: [1, 3] });
    g.nodes.push(
      { name: 'r', op: 'Relu', domain: '', inputs: ['x'], outputs: ['pos'], attrs: {} },
      { name: 'n', op: 'Neg', domain: '', inputs: ['x'], outputs: ['neg'], attrs: {} },
    );
    g.outputs.push({ name: 'pos', dtype: 'float32', shape: [1, 3] }, { name: 'neg', dtype: 'float32', shape: [1, 3] });
    writeFileSync(join(dir, 'two.onnx'), encodeModel(g));
    writeFileSync(join(dir, 'x.npy'), encodeNpy(makeTensor('float32', [1, 3], [-1, 0.5, 2])));

    it('one --out is numbered y.npy, y_1.npy in output order', () => {
      const r = kiln(['exec', 'two.onnx', '--in', 'x.npy', '--out', 'y.npy'], dir);
      expect(r.code).toBe(0);
      expect(Array.from(nums(npy(join(dir, 'y.npy'))))).toEqual([0, 0.5, 2]);
      expect(Array.from(nums(npy(join(dir, 'y_1.npy'))))).toEqual([1, -0.5, -2]);
    });

    it('one --out per output, in any supported format', () => {
      const r = kiln(['exec', 'two.onnx', '--in', 'x.npy', '--out', 'a.pb', '--out', 'b.npy'], dir);
      expect(r.code).toBe(0);
      expect(Array.from(nums(decodeTensorFile(readFileSync(join(dir, 'a.pb')), 'a.pb')))).toEqual([0, 0.5, 2]);
      expect(Array.from(nums(npy(join(dir, 'b.npy'))))).toEqual([1, -0.5, -2]);
    });

    it('a wrong number of --out files is refused before running', () => {
      const r = kiln(['exec', 'two.onnx', '--in', 'x.npy', '--out', 'p.npy', '--out', 'q.npy', '--out', 'r.npy'], dir);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('KLN1014 the model has 2 outputs, but 3 --out files were given (give 2, or one to number them)\n');
      expect(existsSync(join(dir, 'p.npy'))).toBe(false);
    });
  });

  it('needs --in (yargs strict usage error)', () => {
    const r = kiln(['exec', 'm.onnx']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("KLN1014 Missing required argument: in (see 'kiln exec --help')\n");
  });
});
