// The compression report's device-budget columns and its HTML page: II at the budget is the fastest
// folding that fits (a faster one does not), Sr compares II at the same budget, and `kiln compress
// --report-html` writes one self-contained page with a rate–distortion point per row.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fastestThatFits } from '../../src/compress/budget.ts';
import { renderCompressionHtml } from '../../src/compress/html.ts';
import { reportRow, type Metrics } from '../../src/compress/report.ts';
import { foldedDataflow } from '../../src/codegen/index.ts';
import { estimateNetwork } from '../../src/estimate/network.ts';
import { markSparse } from '../../src/layers/mvu.ts';
import { FoldSpace, foldingForTarget, loadDevice } from '../../src/passes/fold-auto.ts';
import { lowerModel } from '../../src/passes/to-dataflow.ts';
import { kilnAsync, tempDir } from '../unit/cli-helpers.ts';
import { zooModel, zooPath } from './helpers.ts';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('II under a device budget', () => {
  const df = lowerModel(zooModel('mlp_pruned90_int8_qdq'));
  const device = loadDevice('xc7z020');
  const marked = markSparse(df);
  const space = new FoldSpace(marked, 'xc7');
  const fitsDevice = (target: number) => {
    const { df: f, checked } = foldedDataflow(marked, { fold: foldingForTarget(marked, target, space, device), sparse: true });
    const e = estimateNetwork(f, checked);
    return { ii: e.cyclesPerInference, fits: Object.entries(device.budget).every(([k, v]) => (e.total.xc7[k] ?? 0) <= v) };
  };

  it('is the fastest folding that fits: its II fits, one cycle faster does not', () => {
    const b = fastestThatFits(df, 'xc7z020');
    expect(b.cycles).toBeGreaterThan(1);
    expect(fitsDevice(b.cycles!)).toMatchObject({ ii: b.cycles, fits: true });
    expect(fitsDevice(b.cycles! - 1).fits).toBe(false);
  });

  it('Sr is the reference II over this II at the budget', () => {
    const m = (cycles: number): Metrics => ({ weights: 1, memoryBits: 8, macs: 1, nonzeroMacs: 1, multipliers: 0, bits: '8', lowers: 'yes', budget: { device: 'xc7z020', cycles } });
    expect(reportRow('x', m(100), m(400), [], m(400)).sr).toBe(4);
    expect(reportRow('x', { ...m(100), budget: { device: 'xc7z020', over: 'bram18 135 %' } }, m(400)).sr).toBeUndefined();
  });
});

describe('kiln compress --report-html', () => {
  it('writes a self-contained page with one plot point per row that has an accuracy', async () => {
    const html = join(dir, 'r.html');
    const r = await kilnAsync(['compress', zooPath('mlp_fp32'), '-o', join(dir, 'p.onnx'), '--prune', '0.5', '--bits', '8',
      '--calib', zooPath('mlp_fp32', 'inputs.npy'), '--eval', zooPath('mlp_fp32', 'inputs.npy'), '--labels', zooPath('mlp_fp32', 'labels.npy'), '--report-html', html]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // original (float), its int8 PTQ (hardware reference for Sr), compressed
    expect(r.stdout).toMatch(/int8 PTQ of the original \(hardware reference for Sr\)/);
    expect(r.stdout).toMatch(/\| compressed .*\| +\d+ \| +1\.00× \|/);
    const page = readFileSync(html, 'utf8');
    expect(page).toMatch(/^<!DOCTYPE html>/);
    expect(page.match(/<circle /g)).toHaveLength(3);
    expect(page).toMatch(/<circle class="pt float"/); // the float original does not lower
    expect(page).not.toMatch(/<script|src=|href=|@import/);
  }, 300_000);

  it('renders rows without accuracy as a note, not a broken plot', () => {
    const m: Metrics = { weights: 1, memoryBits: 8, macs: 1, nonzeroMacs: 1, multipliers: 0, bits: '8', lowers: 'yes' };
    const page = renderCompressionHtml('t', [{ title: 's', rows: [reportRow('a', m, m)], baseline: m }]);
    expect(page).toMatch(/No accuracy measured/);
    expect(page).not.toMatch(/<circle/);
  });
});
