// A compressed model through the whole flow with the real CLI: kiln compress (L1 filter pruning 50 %
// + magnitude pruning 50 % + int4) → kiln compile → kiln sim in Verilator on 20 digits: RTL ==
// integer reference bit for bit, and the simulated outputs equal onnxruntime's on the written ONNX.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kilnAsync, tempDir } from '../unit/cli-helpers.ts';
import { simDigitsMatchOrt, zooPath } from './helpers.ts';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('compressed mlp_fp32 → RTL → Verilator', () => {
  it('simulates bit-exactly against the reference and matches onnxruntime', async () => {
    const onnx = join(dir, 'small.onnx');
    const report = join(dir, 'report.json');
    const c = await kilnAsync(['compress', zooPath('mlp_fp32'), '-o', onnx, '--filter-prune', '0.5', '--prune', '0.5', '--bits', '4',
      '--calib', zooPath('mlp_fp32', 'inputs.npy'), '--json', report]);
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    const rows = JSON.parse(readFileSync(report, 'utf8')).rows;
    // Rows: the original, the int8 PTQ reference (the original is float), then the compressed model.
    expect(rows.map((r: { name: string }) => r.name)).toEqual(['original', 'int8 PTQ of the original (hardware reference for Sr)', 'compressed']);
    const compressed = rows[2];
    expect(compressed).toMatchObject({ lowers: 'yes', bits: '4', macs: 32 * 784 + 32 * 32 + 10 * 32 });
    expect(compressed.cr).toBeGreaterThan(8);

    const design = join(dir, 'design');
    const k = await kilnAsync(['compile', onnx, '-o', design]);
    expect(k.stderr).toBe('');
    expect(k.code).toBe(0);

    const summary = await simDigitsMatchOrt(design, onnx, dir);
    expect(summary.cyclesPerInference).toBe(summary.estimate.cyclesPerInference);
  }, 300_000);
});
