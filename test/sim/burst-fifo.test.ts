// Burst FIFOs look through in-order layers (issue 12 item 4): a global AvgPool at pe 2 emits its 8
// beats of 16 channels back to back; a quantizer at the same pe passes the burst on to an MVU
// taking one element a cycle. Before the burst rule looked past the direct reader this design (the
// shape of nn2fpga's two_layers_old, 32×32 → 16×16) ran at 2,050 cycles per inference
// against an estimate of 2,048; with a FIFO after the pool, simulated cycles and latency == the estimates.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileDataflow } from '../../src/codegen/index.ts';
import type { Folding } from '../../src/dataflow/fold.ts';
import { quantizeInput } from '../../src/lower/host.ts';
import { importGraph } from '../../src/onnx/import.ts';
import { lowerModel } from '../../src/passes/to-dataflow.ts';
import { simulateAndCompare } from '../../src/sim/check.ts';
import { simulate } from '../../src/sim/simulate.ts';
import { cnnBuilder, int, ints } from '../helpers/cnn-builder.ts';
import { rng } from '../helpers/random-mlp.ts';
import { haveVerilator } from './layer-matrix.ts';

function poolThenNarrowMvu() {
  const b = cnnBuilder([1, 3, 16, 16], 12);
  let t = b.quant('x', 0.125, 4, true);
  t = b.act(b.conv(t, 3, 16, [3, 3], { pads: ints([1, 1, 1, 1]) }));
  t = b.quant(b.op('GlobalAveragePool', [t]), 0.25, 6, false);
  t = b.op('Flatten', [t], { axis: int(1) });
  t = b.op('Gemm', [t, b.weights([10, 16]), b.bias(10)], { transB: int(1) });
  const df = lowerModel(importGraph(b.done(t), { pipeline: 'tidy-exact' }).graph, { source: 'pool_then_narrow_mvu' });
  // The conv MVU and the pool both at the II (2048 cycles); everything up to the last MVU at pe 2.
  const mvus = df.layers.filter((l) => l.kind === 'MVU');
  const fold: Folding = Object.fromEntries(df.layers.filter((l) => l.kind !== 'MVU').map((l) => [l.name, { pe: l.kind === 'Pad' || l.kind === 'SlidingWindow' ? 3 : 2 }]));
  fold[df.layers.find((l) => l.kind === 'SlidingWindow')!.name] = { pe: 3, taps: 9 };
  fold[mvus[0].name] = { pe: 2, simd: 27 };
  fold[mvus[1].name] = { pe: 1, simd: 1 };
  return { df, fold };
}

describe.skipIf(!haveVerilator)('burst FIFOs look through in-order layers', () => {
  it('global AvgPool (pe 2) → quantizer (pe 2) → MVU (simd 1): cycles and latency == estimate', async () => {
    const { df, fold } = poolThenNarrowMvu();
    expect(df.layers.map((l) => l.kind)).toEqual(['Pad', 'SlidingWindow', 'MVU', 'Threshold', 'AvgPool', expect.stringMatching(/^(Threshold|Requant)$/), 'MVU']);
    const dir = mkdtempSync(join(tmpdir(), 'kiln-burst-'));
    try {
      const out = join(dir, 'out');
      const design = compileDataflow(df, out, { fold });
      const pool = design.df.layers.find((l) => l.kind === 'AvgPool')!;
      const after = design.df.layers.find((l) => l.inputs.includes(pool.outputs[0]))!;
      expect(after.kind).toBe('Fifo');
      const r = rng(5);
      const inputs = Array.from({ length: 6 }, () => quantizeInput(design.df.inputQuant[0], Float32Array.from({ length: 768 }, () => r() * 2 - 1)));
      const stalled = await simulateAndCompare(out, design.df, inputs, { backpressure: 0.3, gaps: 0.2, seed: 3 });
      expect(stalled.mismatches).toBe(0);
      const free = await simulate(out, inputs);
      const est = design.manifest.estimate;
      expect(est.cyclesPerInference).toBe(2048);
      expect(free.stats.intervals).toEqual(inputs.slice(1).map(() => est.cyclesPerInference));
      expect(free.stats.firstOutputLatency).toBe(est.firstOutputLatency);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
