// Every tier-a corpus model (plus the small quantized single-op models) reproduces its golden
// outputs through kiln's reference executor (test/fixtures/corpus, see its README for provenance).
//  - An output produced by a quantizer (QONNX Quant/BipolarQuant, or DequantizeLinear, possibly
//    behind Identity nodes) is compared as integer codes: round(value / scale) must be EQUAL.
//  - Any other float output: within 1e-4 abs + 1e-3 rel. Integer outputs: exactly.
// Each model is checked as imported and again after the `tidy-exact` pipeline. The hls4ml models
// declared with batch 789444 have batch-1 goldens: the executor takes the batch from its feeds,
// and fix-batch (part of tidy-exact) rewrites the declared dimension.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../src/exec/run.ts';
import { loadModel } from '../../src/onnx/load.ts';
import { runPipeline } from '../../src/passes/runner.ts';
import type { Graph } from '../../src/ir/graph.ts';
import { nums } from '../../src/ir/tensor.ts';
import { codes, compareTensors, feedsFor, FIXTURES, loadTestDataSets, quantizerOf, readNpy, row, type TestDataSet } from '../helpers/golden.ts';

interface Record { source: string; name: string; file: string; tier: string; format: string }

const index = JSON.parse(readFileSync(join(FIXTURES, 'corpus', 'index.json'), 'utf8')) as Record[];

/** Runs g on every test data set and checks each output against its golden. */
function expectGoldens(g: Graph, sets: TestDataSet[], label: string): void {
  for (const set of sets) {
    const got = runGraph(g, feedsFor(g, set.inputs));
    g.outputs.forEach((o, k) => {
      const want = set.outputs[k];
      if (!want) return;
      const out = got.get(o.name);
      const q = quantizerOf(g, o.name);
      const wantCodes = q && codes(g, q, want);
      if (q && wantCodes && out) {
        const c = compareTensors(codes(g, q, out), wantCodes);
        expect(c.why, `${label} ${set.name} output ${o.name} codes (after ${q.op})`).toBeUndefined();
      } else {
        const c = compareTensors(out, want);
        expect(c.why, `${label} ${set.name} output ${o.name} (max |diff| ${c.maxAbs})`).toBeUndefined();
      }
    });
  }
}

/**
 * Upstream FINN goldens are .npy pairs (input.npy → expected_output.npy, batch in dim 0) for a
 * graph exported with batch 1: each row is run on its own and its output compared exactly.
 */
function expectNpyGoldens(g: Graph, path: string): number {
  const dir = path.replace(/\.onnx$/, '');
  let rows = 0;
  for (const [i, o] of [['input.npy', 'expected_output.npy'], ['fpga_flow_input.npy', 'fpga_flow_expected_output.npy']]) {
    if (!existsSync(join(dir, i))) continue;
    const x = readNpy(join(dir, i)), y = readNpy(join(dir, o));
    const per = nums(y).length / x.shape[0];
    for (let r = 0; r < x.shape[0]; r++) {
      const got = runGraph(g, feedsFor(g, [row(x, r)])).get(g.outputs[0].name)!;
      expect(Array.from(nums(got)), `${i} row ${r}`).toEqual(Array.from(nums(y).subarray(r * per, (r + 1) * per)));
      rows++;
    }
  }
  return rows;
}

describe('corpus goldens (reference executor)', () => {
  for (const r of index) {
    const path = join(FIXTURES, 'corpus', r.file);
    it(`${r.file} [tier ${r.tier}, ${r.format}]`, () => {
      const sets = loadTestDataSets(path);
      if (sets.length === 0) {
        expect(expectNpyGoldens(loadModel(path), path), 'upstream .npy golden rows').toBeGreaterThan(0);
        return;
      }
      // As imported (batch-789444 models take their batch-1 goldens directly)…
      expectGoldens(loadModel(path), sets, 'as imported');
      // …and after the exact tidy pipeline (fix-batch, shape inference, constant folding, DCE).
      const g = loadModel(path);
      runPipeline(g, 'tidy-exact', { verify: true });
      expectGoldens(g, sets, 'after tidy-exact');
    });
  }
});
