// kiln compress's power-of-two activation scales make QuantizeLinear's round-half-even ties reachable,
// which no floor requantization reproduces. The Requant layer's half-even rounding does: mlp_fp32
// compressed to int8 lowers to MVU + Requant (not 255-step Thresholds), the reference executor equals
// onnxruntime on the fixture's 100 digits, and the RTL (real CLI: compress → compile → sim in
// Verilator, 20 digits) equals the reference bit for bit and onnxruntime.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compress } from '../../src/compress/index.ts';
import { runDataflowBatch } from '../../src/exec/dataflow.ts';
import { applyOutputAffine, quantizeInput } from '../../src/lower/host.ts';
import { streamline } from '../../src/passes/streamline.ts';
import { toDataflow } from '../../src/passes/to-dataflow.ts';
import { haveVerilator } from '../sim/layer-matrix.ts';
import { kilnAsync, tempDir } from '../unit/cli-helpers.ts';
import { encodeModel, ortOutputs, simDigitsMatchOrt, zooDigits, zooModel, zooPath } from './helpers.ts';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mlp_fp32 compressed to int8 → MVU + half-even Requant', () => {
  it('lowers both hidden activations to Requant (round half to even) and the reference equals onnxruntime on 100 digits', async () => {
    const digits = zooDigits('mlp_fp32').inputs;
    const { graph } = compress(zooModel('mlp_fp32'), { quantize: { weightBits: 8 } }, { calibration: digits });
    const plan = streamline(graph);
    expect(plan.layers.map((l) => l.act.kind)).toEqual(['requant', 'requant', 'none']);
    for (const l of plan.layers.slice(0, 2)) expect(l.act).toMatchObject({ kind: 'requant', round: 'half-even' });
    expect(plan.notes.filter((n) => n.includes('rounds half to even'))).toHaveLength(2);
    expect(plan.notes.some((n) => n.includes('thresholds'))).toBe(false);

    const df = toDataflow(plan);
    expect(df.layers.map((l) => l.kind)).toEqual(['MVU', 'Requant', 'MVU', 'Requant', 'MVU']);
    for (const l of df.layers.filter((x) => x.kind === 'Requant')) expect(l.attrs.round).toBe('half-even');

    // The reference executor with the host's input quantizer and output affine, vs onnxruntime.
    const outs = runDataflowBatch(df, digits.map((x) => [quantizeInput(df.inputQuant[0], x)]));
    const ort = await ortOutputs(encodeModel(graph), digits);
    let bad = 0;
    outs.forEach(([codes], i) => {
      const y = applyOutputAffine(df.outputAffine[0], codes);
      y.forEach((v, j) => {
        if (Math.abs(v - ort[i][j]) > 1e-6 * Math.max(1, Math.abs(ort[i][j]))) bad++;
      });
    });
    expect(bad).toBe(0);
  }, 120_000);

  it.skipIf(!haveVerilator)('kiln compress --bits 8 → compile → sim: RTL == reference on 20 digits, == onnxruntime', async () => {
    const onnx = join(dir, 'int8.onnx');
    const c = await kilnAsync(['compress', zooPath('mlp_fp32'), '-o', onnx, '--bits', '8', '--calib', zooPath('mlp_fp32', 'inputs.npy')]);
    expect(c.code, c.stderr).toBe(0);
    const design = join(dir, 'design');
    const k = await kilnAsync(['compile', onnx, '-o', design]);
    expect(k.code, k.stderr).toBe(0);
    const layers = (JSON.parse(readFileSync(join(design, 'dataflow.json'), 'utf8')) as { layers: { kind: string; attrs: { round?: string } }[] }).layers;
    expect(layers.filter((l) => l.kind === 'Requant').map((l) => l.attrs.round)).toEqual(['half-even', 'half-even']);
    expect(layers.some((l) => l.kind === 'Threshold')).toBe(false);

    await simDigitsMatchOrt(design, onnx, dir);
  }, 300_000);
});
