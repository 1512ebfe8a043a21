// nn2fpga ResNet-8 (test/fixtures/corpus/nn2fpga, not in the corpus index that corpus.test.ts walks):
// kiln's reference executor reproduces the corpus golden (input_0.pb → output_0.pb, onnxruntime-node
// with QONNX Quant rewritten to standard ops), as imported and after the tidy-exact pipeline. An
// output behind a quantizer is compared as integer codes (equal); otherwise within the golden
// tolerance. With test/passes/lower-cnn.test.ts (golden input: dataflow codes == reference executor)
// and test/e2e/cnn-models.test.ts (KILN_E2E=1: the golden input among the 20 vectors, RTL == integer
// reference), this closes golden → reference → dataflow → RTL for ResNet-8, as for the MLPs.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGraph } from '../../src/exec/run.ts';
import type { Graph } from '../../src/ir/graph.ts';
import { nums } from '../../src/ir/tensor.ts';
import { loadModel } from '../../src/onnx/load.ts';
import { runPipeline } from '../../src/passes/runner.ts';
import { argmax, codes, compareTensors, feedsFor, FIXTURES, loadTestDataSets, quantizerOf } from '../helpers/golden.ts';

const model = join(FIXTURES, 'corpus', 'nn2fpga', 'resnet8.onnx');

function expectGolden(g: Graph, label: string): string {
  const sets = loadTestDataSets(model);
  expect(sets.length).toBeGreaterThan(0);
  const notes: string[] = [];
  for (const set of sets) {
    const got = runGraph(g, feedsFor(g, set.inputs));
    expect(g.outputs).toHaveLength(set.outputs.length);
    g.outputs.forEach((o, k) => {
      const want = set.outputs[k];
      const out = got.get(o.name)!;
      expect(out, `${label}: output ${o.name}`).toBeDefined();
      expect(argmax(nums(out)), `${label} ${set.name} top-1`).toBe(argmax(nums(want)));
      const q = quantizerOf(g, o.name);
      const wantCodes = q && codes(g, q, want);
      if (q && wantCodes) {
        const c = compareTensors(codes(g, q, out), wantCodes);
        expect(c.why, `${label} ${set.name} output ${o.name} codes (after ${q.op})`).toBeUndefined();
        notes.push(`${set.name}: ${nums(want).length} codes equal (${q.op})`);
      } else {
        const c = compareTensors(out, want);
        expect(c.why, `${label} ${set.name} output ${o.name} (max |diff| ${c.maxAbs})`).toBeUndefined();
        notes.push(`${set.name}: ${nums(want).length} values within tolerance (max |diff| ${c.maxAbs})`);
      }
    });
  }
  return notes.join('; ');
}

describe('nn2fpga resnet8: reference executor vs corpus golden', () => {
  it('as imported', () => {
    expectGolden(loadModel(model), 'as imported');
  }, 120_000);
  it('after tidy-exact', () => {
    const g = loadModel(model);
    runPipeline(g, 'tidy-exact', { verify: true });
    expectGolden(g, 'after tidy-exact');
  }, 120_000);
});
