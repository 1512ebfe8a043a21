// Every tier-a corpus model (plus the small quantized single-op models) reproduces its golden
// outputs through kiln's reference executor (test/fixtures/corpus, see its README for provenance).
//  - An output produced by a quantizer (QONNX Quant/BipolarQuant, or DequantizeLinear, possibly
//    behind Identity nodes) is compared as integer codes: round(value / scale) must be EQUAL.
//  - Any other float output: within 1e-4 abs + 1e-3 rel. Integer outputs: exactly.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { producers, type Graph, type Node } from '../../src/ir/graph.ts';
import { makeTensor, nums, type Tensor } from '../../src/ir/tensor.ts';
import { expandTo } from '../../src/exec/kernels/broadcast.ts';
import { roundHalfEven } from '../../src/exec/kernels/round.ts';
import { runGraph } from '../../src/exec/run.ts';
import { loadModel } from '../../src/onnx/load.ts';
import { compareTensors, feedsFor, FIXTURES, loadTestDataSets } from '../helpers/golden.ts';

interface Record { source: string; name: string; file: string; tier: string; format: string }

const index = JSON.parse(readFileSync(join(FIXTURES, 'corpus', 'index.json'), 'utf8')) as Record[];

/** The quantizer whose scale defines an output's integer grid, looking through Identity. */
function quantizerOf(g: Graph, name: string): Node | undefined {
  const prod = producers(g);
  let n = prod.get(name);
  while (n && n.op === 'Identity') n = prod.get(n.inputs[0]);
  return n && ['Quant', 'IntQuant', 'BipolarQuant', 'DequantizeLinear'].includes(n.op) ? n : undefined;
}

/** Integer codes value/scale of a quantizer output (scale taken from the initializers). */
function codes(g: Graph, q: Node, t: Tensor): Tensor | undefined {
  const scale = g.initializers.get(q.inputs[1]);
  if (!scale) return undefined;
  // DequantizeLinear's 1-D scale lies along `axis`; QONNX scales broadcast numpy-style.
  let shaped = scale;
  if (q.op === 'DequantizeLinear' && scale.shape.length === 1 && scale.shape[0] > 1) {
    const a = q.attrs.axis?.kind === 'int' ? q.attrs.axis.v : 1;
    const axis = a < 0 ? a + t.shape.length : a;
    shaped = makeTensor(scale.dtype, t.shape.map((d, i) => (i === axis ? d : 1)), nums(scale));
  }
  const s = expandTo(shaped, t.shape);
  const v = nums(t);
  return makeTensor('int32', t.shape, Array.from(v, (x, i) => roundHalfEven(x / s[i])));
}

describe('corpus goldens (reference executor)', () => {
  for (const r of index) {
    it(`${r.file} [tier ${r.tier}, ${r.format}]`, () => {
      const path = join(FIXTURES, 'corpus', r.file);
      const g = loadModel(path);
      const sets = loadTestDataSets(path);
      expect(sets.length, 'test data sets').toBeGreaterThan(0);
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
            expect(c.why, `${set.name} output ${o.name} codes (after ${q.op})`).toBeUndefined();
          } else {
            const c = compareTensors(out, want);
            expect(c.why, `${set.name} output ${o.name} (max |diff| ${c.maxAbs})`).toBeUndefined();
          }
        });
      }
    });
  }
});
