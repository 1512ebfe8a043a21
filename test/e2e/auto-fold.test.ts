// Auto-folding verified in simulation: TFC_1W1A folded by `--fold auto` for 1 k, 100 k and 10 M FPS at
// 200 MHz on a ZC706 (xc7z045), and the zoo LeNet-5 (int8 QDQ: Conv → SlidingWindow + MVU, MaxPool,
// 255-level Thresholds) for 1 k FPS on a Zynq-7020 and 100 k FPS — which the 7020 cannot hold (the
// KLN2003 message says the best FPS that fits) — on the 7045, are compiled, simulated in Verilator,
// and must (a) equal the integer reference, (b) run at exactly the estimated II, which (c) reaches the
// target FPS; the first-output latency is within 5 % of the estimate. A depthwise conv (SlidingWindow
// → VectorVector) checks that auto-folding folds that kind too. TFC and LeNet-5 at 1 k run in
// `make test` (~0.5 min each); the rest (big Verilator builds: LeNet-5 at 100 k took 1.7 min on a
// loaded machine) with KILN_E2E=1 (`make test-e2e`).
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { compileModel } from '../../src/cli/compile.ts';
import { compileDataflow } from '../../src/codegen/index.ts';
import { KilnError } from '../../src/diag/index.ts';
import { range } from '../../src/ir/datatype.ts';
import type { DataflowGraph } from '../../src/ir/dataflow.ts';
import { importModel } from '../../src/onnx/import.ts';
import { autoFolding } from '../../src/dataflow/fold-auto.ts';
import { lowerModel } from '../../src/passes/to-dataflow.ts';
import { simulateAndCompare } from '../../src/sim/check.ts';
import { findTool } from '../../src/tools/index.ts';
import { buildConv } from '../sim/conv-graphs.ts';
import { ROOT } from '../unit/cli-helpers.ts';

const tfc = join(ROOT, 'test/fixtures/corpus/qonnx-model-zoo/TFC_1W1A.onnx');
const dir = mkdtempSync(join(tmpdir(), 'kiln-autofold-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const full = process.env.KILN_E2E === '1';

const lenet = join(ROOT, 'test/fixtures/zoo/lenet5_int8_qdq/model.onnx');

/** `count` deterministic pseudo-random input vectors over the design's input type. */
function randomInputs(df: DataflowGraph, count: number): number[][] {
  const inType = df.streams.get(df.inputs[0])!.qtype;
  const [lo, hi] = range(inType);
  let s = 12345;
  const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const n = df.streams.get(df.inputs[0])!.shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: count }, () => Array.from({ length: n }, () => (inType.kind === 'BIPOLAR' ? (rand() < 0.5 ? -1 : 1) : lo + Math.floor(rand() * (hi - lo + 1)))));
}

/** Compiles `model` folded for `fps` on `device`, simulates it and checks output, II, FPS and latency. */
async function checkAutoFold(model: string, fps: number, device: string, inferences: number): Promise<void> {
  const out = join(dir, `${model.split('/').slice(-2).join('-')}-${device}-fps${fps}`);
  const design = compileModel(model, out, { foldAuto: { fps, device, clockMHz: 200 } });
  const r = await simulateAndCompare(out, design.df, randomInputs(design.df, inferences));
  expect(r.mismatches).toBe(0);
  expect(r.stats.cyclesPerInference).toBe(design.manifest.estimate.cyclesPerInference);
  expect(200e6 / r.stats.cyclesPerInference).toBeGreaterThanOrEqual(fps);
  expect(Math.abs(r.stats.firstOutputLatency - design.manifest.estimate.firstOutputLatency)).toBeLessThanOrEqual(0.05 * design.manifest.estimate.firstOutputLatency);
}

describe.skipIf(!findTool('verilator'))('auto-folded TFC_1W1A reaches its FPS in simulation', () => {
  it.each([
    [1e3, true],
    [1e5, full],
    [1e7, full],
  ] as const)('%d FPS @ 200 MHz on xc7z045', async (fps, run) => {
    if (run) await checkAutoFold(tfc, fps, 'xc7z045', 4);
  }, 1_800_000);
});

describe('auto-folded LeNet-5 (zoo lenet5_int8_qdq)', () => {
  const df = lowerModel(importModel(lenet, { pipeline: 'tidy-exact' }), { source: lenet });

  it('folds the conv layers (MVU over windows, SlidingWindow taps, pooling, Thresholds) for 100 k FPS on xc7z045', () => {
    const r = autoFolding(df, { fps: 1e5, device: 'xc7z045', clockMHz: 200 });
    expect(r.estimate.cyclesPerInference).toBeLessThanOrEqual(2000);
    const kinds = new Set(Object.keys(r.folding).map((n) => df.layers.find((l) => l.name === n)!.kind));
    expect([...kinds].sort()).toEqual(['MVU', 'MaxPool', 'Pad', 'SlidingWindow', 'Threshold']);
    // conv1's 1-channel window can only keep up with a whole window per beat.
    expect(r.folding.conv1_Conv_window).toEqual({ pe: 1, taps: 25 });
    for (const v of Object.values(r.utilisation)) expect(v).toBeLessThanOrEqual(1);
  });

  it('1 M FPS does not fit a Zynq-7020: KLN2003 says the best FPS that fits', () => {
    let err: unknown;
    try {
      autoFolding(df, { fps: 1e6, device: 'xc7z020', clockMHz: 200 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KilnError);
    const m = /cannot reach 1000000 FPS on xc7z020 at 200 MHz .*the best that fits is (\d+) FPS \(II = (\d+) cycles\)/.exec((err as Error).message);
    expect(m, (err as Error).message).not.toBeNull();
    const [best, ii] = [Number(m![1]), Number(m![2])];
    expect(best).toBeLessThan(1e6);
    expect(best).toBe(Math.floor(200e6 / ii));
    // And that folding does fit.
    const r = autoFolding(df, { fps: best, device: 'xc7z020', clockMHz: 200 });
    expect(r.estimate.cyclesPerInference).toBeLessThanOrEqual(ii);
  }, 120_000);

  describe.skipIf(!findTool('verilator'))('reaches its FPS in simulation', () => {
    it.each([
      [1e3, 'xc7z020', true],
      [1e5, 'xc7z045', full],
    ] as const)('%d FPS @ 200 MHz on %s', async (fps, device, run) => {
      if (run) await checkAutoFold(lenet, fps, device, 3);
    }, 3_600_000);
  });
});

describe.skipIf(!findTool('verilator'))('auto-folded depthwise conv (Pad → SlidingWindow → VectorVector)', () => {
  it('folds the VectorVector past pe = 1 to reach the target, verified in simulation', async () => {
    const base = { sh: 1, sw: 1, dh: 1, dw: 1, weightType: 'INT4', mvuPe: 1, simd: 1, pe: 1 };
    const { df } = buildConv({ ...base, label: 'dw3x3_pad1_8x8_c4', ih: 8, iw: 8, c: 4, m: 4, kh: 3, kw: 3, pads: [1, 1, 1, 1], op: 'depthwise', inType: 'INT4' }, 7);
    const serial = 8 * 8 * 9 * 4; // VectorVector at pe = 1: pixels · window · channels
    const fps = 200e6 / (serial / 4); // needs a quarter of the serial cycles
    const r = autoFolding(df, { fps, device: 'xc7z020', clockMHz: 200 });
    expect(r.folding.dw?.pe).toBeGreaterThan(1);
    expect(r.estimate.cyclesPerInference).toBeLessThanOrEqual(serial / 4);
    const out = join(dir, 'depthwise');
    const design = compileDataflow(df, out, { fold: r.folding });
    const sim = await simulateAndCompare(out, design.df, randomInputs(design.df, 3));
    expect(sim.mismatches).toBe(0);
    expect(sim.stats.cyclesPerInference).toBe(design.manifest.estimate.cyclesPerInference);
    expect(200e6 / sim.stats.cyclesPerInference).toBeGreaterThanOrEqual(fps);
  }, 600_000);
});
