// `kiln compile` / `kiln sim` through the real CLI (child processes), happy path and the coded errors
// a user can cause: Verilator missing, existing output directory, a folding where PE does not divide
// the rows, failed compiles leaving nothing behind, byte-identical output on recompiles.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeNpy } from '../../src/io/npy.ts';
import { ROOT, kiln as runKiln, tempDirsRemovedAfterAll } from '../unit/cli-helpers.ts';
import { npyFloat32 } from '../helpers/npy.ts';

const tempDir = tempDirsRemovedAfterAll();

const bnn = join(ROOT, 'test/fixtures/corpus/hls4ml-example-models/bnn_model_fc_1layer.onnx');
const tfc = join(ROOT, 'test/fixtures/corpus/qonnx-model-zoo/TFC_1W1A.onnx');
const conv = join(ROOT, 'test/fixtures/corpus/hls4ml-example-models/conv2d_small_keras.onnx');

const kiln = (args: string[], env: Record<string, string> = {}) => runKiln(args, ROOT, { timeoutMs: 300_000, env });

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

describe('kiln compile + kiln sim (CLI)', () => {
  it('compiles, simulates with back-pressure, writes outputs; recompiling gives byte-identical files', () => {
    const tmp = tempDir();
    const a = join(tmp, 'a');
    const b = join(tmp, 'b');
    const c1 = kiln(['compile', bnn, '-o', a]);
    expect(c1.stderr).toBe('');
    expect(c1.code).toBe(0);
    expect(c1.stdout).toMatch(/MVU/);
    expect(kiln(['compile', bnn, '-o', b]).code).toBe(0);
    const files = listFiles(a);
    expect(files).toEqual(expect.arrayContaining(['manifest.json', 'dataflow.json', 'report.json', 'rtl/kiln_top.v']));
    expect(listFiles(b)).toEqual(files);
    for (const f of files) expect(readFileSync(join(b, f)).equals(readFileSync(join(a, f))), f).toBe(true);

    const rows = Array.from({ length: 40 }, (_, k) => [Math.sin(k), Math.cos(3 * k), (k % 7) / 3 - 1]);
    writeFileSync(join(tmp, 'x.npy'), npyFloat32(rows));
    const s = kiln(['sim', a, '--in', join(tmp, 'x.npy'), '--out', join(tmp, 'y.npy'), '--json', '--backpressure', '0.4', '--clock-mhz', '100']);
    expect(s.code, s.stderr).toBe(0);
    const summary = JSON.parse(s.stdout);
    expect(summary).toMatchObject({ inferences: 40, mismatches: 0, clockMhz: 100, backpressure: 0.4 });
    expect(summary.cyclesPerInference).toBe(summary.estimate.cyclesPerInference);
    expect(summary.fps).toBeCloseTo(100e6 / summary.cyclesPerInference, 6);
    const y = decodeNpy(readFileSync(join(tmp, 'y.npy')));
    const codes = decodeNpy(readFileSync(join(tmp, 'y.codes.npy')));
    expect(y.shape).toEqual([40, summary.outputElements]);
    expect(codes.dtype).toBe('int32');
    expect(codes.shape).toEqual(y.shape);
  }, 300_000);

  it('KLN3001 when Verilator is missing, with the install hint', () => {
    const tmp = tempDir();
    const out = join(tmp, 'd');
    expect(kiln(['compile', bnn, '-o', out]).code).toBe(0);
    writeFileSync(join(tmp, 'x.npy'), npyFloat32([[0.5, -0.5, 0.25]]));
    const r = kiln(['sim', out, '--in', join(tmp, 'x.npy')], { KILN_VERILATOR: '/nonexistent/verilator' });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      'KLN3001 verilator not found at /nonexistent/verilator (set by KILN_VERILATOR); install it with: apt-get install verilator',
    );
  }, 120_000);

  it('KLN1015 for an existing output directory without --force; --force replaces it', () => {
    const tmp = tempDir();
    writeFileSync(join(tmp, 'keep.txt'), 'mine');
    const r = kiln(['compile', bnn, '-o', tmp]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`KLN1015 output directory '${tmp}' already exists (use --force to replace it)`);
    expect(readFileSync(join(tmp, 'keep.txt'), 'utf8')).toBe('mine');
    expect(kiln(['compile', bnn, '-o', tmp, '--force']).code).toBe(0);
    expect(existsSync(join(tmp, 'keep.txt'))).toBe(false);
    expect(existsSync(join(tmp, 'manifest.json'))).toBe(true);
  }, 120_000);

  it('KLN2002 when PE does not divide the rows, and no partial directory is left', () => {
    const tmp = tempDir();
    const out = join(tmp, 'tfc');
    const fold = join(tmp, 'fold.json');
    // TFC_1W1A's first MVU has 64 rows; its name comes from the model.
    const names = JSON.parse(kiln(['compile', tfc, '-o', join(tmp, 'probe'), '--json']).stdout).layers.map((l: { name: string }) => l.name);
    writeFileSync(fold, JSON.stringify({ [names[0]]: { pe: 5, simd: 1 } }));
    const r = kiln(['compile', tfc, '-o', out, '--fold', fold]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`KLN2002 pe must divide 64, not 5 at node '${names[0]}'`);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp).sort()).toEqual(['fold.json', 'probe']);
  }, 120_000);

  it('a model that cannot be lowered fails with KLN2001 naming the op and node, leaving no directory', () => {
    const tmp = tempDir();
    const out = join(tmp, 'conv');
    const r = kiln(['compile', conv, '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^KLN\d{4} .*at node '[^']+'/m);
    expect(r.stderr).not.toMatch(/internal error|    at /);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp)).toEqual([]);
  }, 120_000);

  it('kiln sim rejects inputs of the wrong size (KLN1012)', () => {
    const tmp = tempDir();
    const out = join(tmp, 'd');
    expect(kiln(['compile', bnn, '-o', out]).code).toBe(0);
    writeFileSync(join(tmp, 'x.npy'), npyFloat32([[1, 2, 3, 4]]));
    const r = kiln(['sim', out, '--in', join(tmp, 'x.npy')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("KLN1012 the input file holds 4 values (shape [1, 4]), not a multiple of the design's 3 inputs per inference");
  }, 120_000);
});
