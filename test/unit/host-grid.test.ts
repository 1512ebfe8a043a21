// Host quantization in the open (issue 12 item 2): a float input that reaches its first layer
// unquantized (QKeras qkeras_qdense_2: Dense without an input quantizer) is rounded on the host to
// a grid kiln chooses. `compile` prints it with its worst-case input error, report.json and
// report.html record it,
// `--input-type` chooses it, `sim` says it and, with --model, compares the RTL with the model itself.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile, lower } from '../../src/api/index.ts';
import { simulate } from '../../src/api/simulate.ts';
import { runDataflow } from '../../src/exec/dataflow.ts';
import { runGraph } from '../../src/exec/run.ts';
import { makeTensor } from '../../src/ir/tensor.ts';
import { applyOutputAffine, describeHostGrid, hostGrid, hostInputError, parseFloatGrid, quantizeInput } from '../../src/lower/host.ts';
import { importModel } from '../../src/onnx/import.ts';
import { findTool } from '../../src/tools/index.ts';
import { npyFloat32 } from '../helpers/npy.ts';
import { rng } from '../helpers/random-mlp.ts';
import { kiln, ROOT, tempDir } from './cli-helpers.ts';

const FLOAT_IN = join(ROOT, 'test/fixtures/corpus/qonnx-test-artifacts/qkeras_qdense_2.onnx');
const QUANT_IN = join(ROOT, 'test/generality/models/qkeras_dense.onnx');
const work = tempDir();
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('--input-type', () => {
  it('takes INTn and FIXED<w,f> (f fractional bits), refuses the rest with one coded line', () => {
    expect(parseFloatGrid('FIXED<16,10>')).toEqual({ bits: 16, frac: 10 });
    expect(parseFloatGrid('FIXED<8,4>')).toEqual({ bits: 8, frac: 4 });
    expect(parseFloatGrid('INT8')).toEqual({ bits: 8, frac: 0 });
    for (const bad of ['UINT8', 'BIPOLAR', 'FLOAT32', 'ap_fixed<16,6>', 'INT1']) expect(() => parseFloatGrid(bad)).toThrowError(/^KLN1014 --input-type must be INTn or FIXED<w,f>/);
  });
});

describe('the grid of a float input', () => {
  it('default FIXED<16,10>: step 2^-10, worst case half of it inside [-32, 32 - 2^-10]', () => {
    const h = hostGrid(lower(FLOAT_IN).inputQuant[0])!;
    expect(h).toEqual({ grid: 'FIXED<16,10>', codes: 'INT16', step: 2 ** -10, range: [-32, 32 - 2 ** -10], maxError: 2 ** -11 });
    expect(describeHostGrid(h)).toBe('host input: float, quantized by kiln to FIXED<16,10> (INT16 codes, step 0.000977): worst-case input error 0.000488 inside [-32, 31.999], clamped outside; choose the grid with --input-type');
  });

  it('the chosen grid: INT8 and FIXED<8,4>', () => {
    expect(hostGrid(lower(FLOAT_IN, { floatInput: parseFloatGrid('INT8') }).inputQuant[0])).toEqual({ grid: 'INT8', codes: 'INT8', step: 1, range: [-128, 127], maxError: 0.5 });
    expect(hostGrid(lower(FLOAT_IN, { floatInput: parseFloatGrid('FIXED<8,4>') }).inputQuant[0])?.range).toEqual([-8, 7.9375]);
  });

  it('a model that quantizes its input itself has no host grid (no error against the model)', () => {
    expect(hostGrid(lower(QUANT_IN).inputQuant[0])).toBeUndefined();
  });

  it('the worst case holds on random inputs; out-of-range ones are counted as clamped', () => {
    const q = lower(FLOAT_IN, { floatInput: { bits: 8, frac: 4 } }).inputQuant[0];
    const r = rng(4);
    const rows = Array.from({ length: 50 }, () => Float64Array.from({ length: 16 }, () => r() * 15.9 - 8));
    const e = hostInputError(q, rows);
    expect(e.clamped).toBe(0);
    expect(e.maxError).toBeLessThanOrEqual(1 / 32);
    expect(e.maxError).toBeGreaterThan(1 / 40);
    const out = hostInputError(q, [Float64Array.from({ length: 16 }, (_, i) => (i === 3 ? 10 : 0.5))]);
    expect(out).toEqual({ maxError: 10 - 7.9375, clamped: 1 });
  });
});

describe('kiln compile says it', () => {
  it('prints the grid and the worst-case error; report.json records it', () => {
    const out = join(work, 'default');
    const r = kiln(['compile', FLOAT_IN, '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('host input: float, quantized by kiln to FIXED<16,10> (INT16 codes, step 0.000977): worst-case input error 0.000488');
    expect(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')).hostInput).toEqual({ grid: 'FIXED<16,10>', codes: 'INT16', step: 2 ** -10, range: [-32, 32 - 2 ** -10], maxError: 2 ** -11 });
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('<tr><th>host input</th><td class="label">host input: float, quantized by kiln to FIXED&lt;16,10&gt; (INT16 codes, step 0.000977): worst-case input error 0.000488');
  });

  it('--input-type FIXED<8,4> changes the design input to INT8 codes', () => {
    const out = join(work, 'fixed84');
    const r = kiln(['compile', FLOAT_IN, '-o', out, '--input-type', 'FIXED<8,4>']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('quantized by kiln to FIXED<8,4> (INT8 codes, step 0.0625): worst-case input error 0.0313 inside [-8, 7.9375]');
    expect(r.stdout).toMatch(/^MatMul_0 +MVU +16×INT8 /m);
  });

  it('refuses a bad --input-type, and --input-type on a model that quantizes its input, with one line each', () => {
    const bad = kiln(['compile', FLOAT_IN, '-o', join(work, 'bad'), '--input-type', 'UINT8']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^KLN1014 --input-type must be INTn or FIXED<w,f>/);
    const quantized = kiln(['compile', QUANT_IN, '-o', join(work, 'q'), '--input-type', 'INT8']);
    expect(quantized.code).toBe(2);
    expect(quantized.stderr.trim()).toBe('KLN1014 --input-type applies to a float input; this model quantizes its input itself (to INT8 codes): leave it out');
    const none = kiln(['compile', QUANT_IN, '-o', join(work, 'q2')]);
    expect(none.stdout).not.toContain('host input');
    expect(readFileSync(join(work, 'q2', 'report.html'), 'utf8')).not.toContain('host input');
  });
});

describe.skipIf(!findTool('verilator'))('kiln sim says it', () => {
  it('RTL vs reference (0 mismatches) and RTL vs model on these inputs (the host rounding, measured independently)', async () => {
    const out = join(work, 'sim');
    const design = compile(FLOAT_IN, out, { lower: { floatInput: { bits: 8, frac: 0 } } });
    const r = rng(9);
    const rows = Array.from({ length: 4 }, () => Float64Array.from({ length: 16 }, () => r() * 6 - 3));
    const s = await simulate(out, rows, { model: FLOAT_IN });
    expect(s.mismatches).toBe(0);
    expect(s.hostInput?.grid).toBe('INT8');
    expect(s.hostInput?.inputs.clamped).toBe(0);
    // Independently: the reference's floats against the ONNX executor's on the same float inputs.
    const g = importModel(FLOAT_IN);
    const q = design.df.inputQuant[0];
    let worst = 0;
    for (const x of rows) {
      const want = runGraph(g, new Map([[g.inputs[0].name, makeTensor('float32', [1, 16], x)]]), { keep: [g.outputs[0].name] }).get(g.outputs[0].name)!;
      const got = applyOutputAffine(design.df.outputAffine[0], runDataflow(design.df, [quantizeInput(q, x)])[0]);
      got.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - Number(want.data[i])))));
    }
    expect(worst).toBeGreaterThan(0); // an integer grid changes this model's output
    expect(s.vsModel).toEqual({ maxAbs: worst, values: 4 * design.df.streams.get(design.df.outputs[0])!.shape.reduce((a, b) => a * b, 1) });
    writeFileSync(join(work, 'in.npy'), npyFloat32(rows.map((x) => Array.from(x))));
    const cli = kiln(['sim', out, '--in', join(work, 'in.npy'), '--model', FLOAT_IN, '--jobs', '1'], ROOT, { timeoutMs: 300_000 });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain('mismatches vs integer reference: 0 of');
    expect(cli.stdout).toContain('host input: float, quantized by kiln to INT8 (INT8 codes, step 1): worst-case input error 0.5');
    expect(cli.stdout).toContain(`RTL vs model on these inputs: largest |difference| ${worst.toPrecision(3)} over`);
  }, 300_000);
});
