// Estimator: resources are counted from the layer inventory (DSP, BRAM) and fitted per feature; the
// network estimate in report.json equals the codegen manifest's; auto-folding reaches a target FPS
// with the fewest lanes or fails stating the best FPS that fits; kiln estimate prints the table.
import { describe, expect, it } from 'vitest';
import { buildDesign } from '../../src/codegen/index.ts';
import { foldedDataflow } from '../../src/dataflow/pipeline.ts';
import { KilnError } from '../../src/diag/index.ts';
import { bram18, ebr, romStyle } from '../../src/layers/cost/memory.ts';
import { estimateNetwork } from '../../src/estimate/network.ts';
import { fps } from '../../src/estimate/perf.ts';
import { layerResources } from '../../src/estimate/resources.ts';
import { importModel } from '../../src/onnx/import.ts';
import { autoFolding, foldingForTarget, knownDevices, loadDevice } from '../../src/dataflow/fold-auto.ts';
import { lowerModel } from '../../src/passes/to-dataflow.ts';
import { kiln, ROOT } from './cli-helpers.ts';
import { smallMlp } from './codegen-fixture.ts';
import { join } from 'node:path';

const tfc = join(ROOT, 'test/fixtures/corpus/qonnx-model-zoo/TFC_1W1A.onnx');
const tfcDataflow = () => lowerModel(importModel(tfc, { pipeline: 'tidy-exact' }), { source: tfc });

describe('resource inventory', () => {
  it('maps memories to block RAM by aspect ratio (UG473 / TN1250)', () => {
    expect(bram18({ depth: 784, width: 64, writable: false })).toBe(4); // 1K×18 ×4 wide (Yosys: 2 RAMB36)
    expect(bram18({ depth: 32, width: 64, writable: false })).toBe(0); // shallow: LUTs
    expect(ebr({ depth: 1024, width: 8, writable: false })).toBe(2);
  });

  it("tells Yosys where the estimate puts an MVU weight ROM (rom_style), so the BRAM count is the estimate's", () => {
    expect(romStyle({ depth: 128, width: 256, writable: false })).toBe('block'); // Yosys alone: logic, ~2,700 LUTs
    expect(bram18({ depth: 128, width: 256, writable: false })).toBe(8);
    expect(romStyle({ depth: 64, width: 3136, writable: false })).toBe('logic'); // 64 words: a LUT6 per bit
    expect(romStyle({ depth: 128, width: 16, writable: false })).toBe('auto'); // 2 Kbit: EBR on iCE40, LUTs on xc7
  });

  it('counts DSPs for real multipliers only (XNOR / ternary / unsigned 4×4 need none)', () => {
    const mvu = (inType: string, weightType: string, pe = 2, simd = 4, mult = 'auto') => {
      const weights = Array.from({ length: 8 * 16 }, (_, i) => (weightType === 'BIPOLAR' ? (i % 3 ? 1 : -1) : weightType.startsWith('U') ? i % 3 : (i % 3) - 1));
      return layerResources({ name: 'm', kind: 'MVU', attrs: { rows: 8, cols: 16, pe, simd, inType, weightType, outType: 'INT16', mult }, consts: { weights } }, 'xc7');
    };
    expect(mvu('INT8', 'INT4').dsp).toBe(4); // the two PE rows packed in one DSP48 per SIMD lane
    expect(mvu('INT8', 'INT4', 2, 4, 'dsp').dsp).toBe(4);
    expect(mvu('INT8', 'INT4', 2, 4, 'lut').dsp).toBe(0);
    expect(mvu('INT8', 'INT4', 1, 4).dsp).toBe(4); // one row: nothing to pack
    expect(mvu('BIPOLAR', 'BIPOLAR').dsp).toBe(0);
    expect(mvu('INT8', 'TERNARY').dsp).toBe(0);
    expect(mvu('UINT4', 'UINT4').dsp).toBe(0);
    // More lanes cost more: products in DSP48s show in DSPs (the LUTs stay about flat, as Yosys measures),
    // LUT multipliers (unsigned 4×4) in LUTs.
    expect(mvu('INT8', 'INT4', 4, 8).dsp).toBeGreaterThan(mvu('INT8', 'INT4', 1, 1).dsp);
    expect(mvu('UINT4', 'UINT4', 4, 8).lut).toBeGreaterThan(2 * mvu('UINT4', 'UINT4', 1, 1).lut);
  });
});

describe('network estimate', () => {
  it('report.json carries the estimate codegen uses for the manifest (one implementation)', () => {
    const d = buildDesign(smallMlp(), { fold: { fc1: { pe: 2, simd: 3 }, fc2: { pe: 4, simd: 8 } } });
    expect(d.report.estimate.cyclesPerInference).toBe(d.manifest.estimate.cyclesPerInference);
    expect(d.report.estimate.firstOutputLatency).toBe(d.manifest.estimate.firstOutputLatency);
    expect(d.report.estimate.bottleneck).toBe('fc1'); // (8/2)·(12/3) = 16 cycles, the slowest
    expect(d.report.estimate.cyclesPerInference).toBe(16);
    expect(d.files.get('report.html')).toContain('<svg');
  });

  it('TFC_1W1A default folding: II is the first layer, resources in both families', () => {
    const { df, checked } = foldedDataflow(tfcDataflow());
    const e = estimateNetwork(df, checked);
    expect(e.layers.find((l) => l.name === e.bottleneck)!.cycles).toBe(e.cyclesPerInference);
    expect(e.total.xc7.dsp).toBe(0); // binarized: XNOR only
    expect(e.total.xc7.lut).toBeGreaterThan(0);
    expect(e.total.ice40.lc).toBeGreaterThan(0);
    expect(fps(e.cyclesPerInference, 200)).toBeCloseTo(200e6 / e.cyclesPerInference);
  });
});

describe('auto-folding', () => {
  it('has the five devices with budgets', () => {
    expect(knownDevices()).toEqual(expect.arrayContaining(['xc7z020', 'xc7z045', 'xczu7ev', 'xcvu9p', 'ice40up5k']));
    expect(loadDevice('ice40up5k').budget.lc).toBe(5280);
    expect(() => loadDevice('xc9000')).toThrow(/KLN2004|device must be one of/);
  });

  it.each([1e3, 1e5, 1e7])('TFC_1W1A at %d FPS, 200 MHz, xc7z045: II within target, fewest lanes', (target) => {
    const df = tfcDataflow();
    const r = autoFolding(df, { fps: target, device: 'xc7z045', clockMHz: 200 });
    expect(r.fps).toBeGreaterThanOrEqual(target);
    expect(r.estimate.cyclesPerInference).toBeLessThanOrEqual(Math.floor(200e6 / target));
    // Fewest lanes: halving any MVU's lanes would miss the target.
    for (const [name, f] of Object.entries(r.folding)) {
      const l = r.estimate.layers.find((x) => x.name === name);
      if (l?.kind === 'MVU') expect(l.cycles * 2).toBeGreaterThan(Math.floor(200e6 / target) * (f.pe! * f.simd! === 1 ? 0 : 1));
    }
  });

  it('more FPS costs more LUTs', () => {
    const df = tfcDataflow();
    const lut = (f: number) => autoFolding(df, { fps: f, device: 'xcvu9p' }).estimate.total.xc7.lut;
    expect(lut(1e7)).toBeGreaterThan(lut(1e3));
  });

  it('fails with the best FPS that fits when the device is too small (KLN2003)', () => {
    const df = tfcDataflow();
    let err: unknown;
    try {
      autoFolding(df, { fps: 1e9, device: 'ice40up5k', clockMHz: 200 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KilnError);
    expect((err as Error).message).toMatch(/KLN2003|cannot reach 1000000000 FPS on ice40up5k at 200 MHz/);
    expect((err as Error).message).toMatch(/best that fits is \d+ FPS|does not fit/);
  });

  it('foldingForTarget gives every MVU the fewest lanes within the target', () => {
    const f = foldingForTarget(tfcDataflow(), 784);
    expect(Object.values(f).some((x) => x.simd !== undefined)).toBe(true);
  });
});

describe('kiln estimate', () => {
  it('prints the per-layer table with the bottleneck and totals', () => {
    const r = kiln(['estimate', tfc]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/layer\s+kind\s+PE\s+SIMD\s+cycles\s+LUT/);
    expect(r.stdout).toMatch(/ \* /);
    expect(r.stdout).toMatch(/inferences\/s at 200 MHz/);
  });

  it('--fold auto without --device is a coded error', () => {
    const r = kiln(['estimate', tfc, '--fold', 'auto', '--fps', '1000']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/KLN1014/);
  });
});
