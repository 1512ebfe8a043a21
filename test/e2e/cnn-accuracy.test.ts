// Issue 4, "sim accuracy of the zoo CNNs on 1,000 test images equals their meta.json accuracy within
// 0.2 %", as a test (bench/cnn.ts reports the same, but needs the shared zoo data for cnv_small). Each
// model is compiled with the default folding and simulated in Verilator; the top-1 of the dequantized
// RTL outputs is compared
//  - on the first 1,000 test images with the model itself in onnxruntime-node on the same images
//    (within 0.2 points), and
//  - for the LeNet-5s, on the whole 2,000-image MNIST split meta.json's accuracy was measured on
//    (examples/tfc_w1a1), with meta.json (within 0.2 points).
// cnv_small_w2a2's meta.json figure is measured on the 10,000 Fashion-MNIST test images; the repo
// holds only the first 1,000 (test/fixtures/data), on which the float model itself differs from the
// 10,000-image figure by more than 0.2 points, so that difference is printed, not asserted.
// The RTL values are also checked against the integer reference on the first REF_CHECK images.
// lenet5_structpruned (float in the zoo) is in test/e2e/structpruned.test.ts.
// KILN_E2E=1 (`make test-e2e`): about 20 minutes on 2 cores, most of it lenet5_int8_qdq, whose 255-step
// Threshold layers simulate at ~0.45 s per image in Verilator (lenet5_w4a4_qdq: ~0.015 s).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { compileModel } from '../../src/cli/compile.ts';
import { decodeNpy } from '../../src/io/npy.ts';
import { toNumbers } from '../../src/ir/tensor.ts';
import { applyOutputAffine, quantizeInput } from '../../src/lower/host.ts';
import { compareOutputs, referenceOutputs } from '../../src/sim/check.ts';
import { simulate } from '../../src/sim/simulate.ts';
import { mnist } from '../../scripts/mnist.ts';
import { ortOutputs } from '../compress/helpers.ts';
import { tempDirsRemovedAfterAll } from '../unit/cli-helpers.ts';

const FULL = process.env.KILN_E2E === '1';
const SAMPLE = 1000;
const REF_CHECK = 50;
const TOLERANCE = 0.002;
const root = join(import.meta.dirname, '..', '..');
const zoo = (m: string, f: string) => join(root, 'test/fixtures/zoo', m, f);
const tempDir = tempDirsRemovedAfterAll();

interface Split { inputs: Float32Array[]; labels: number[] }

/** The first 1,000 Fashion-MNIST test images (uint8, gzipped npy) as x = float32(pixel) / 255. */
function fashion(): Split {
  const dir = join(root, 'test/fixtures/data');
  const x = decodeNpy(gunzipSync(readFileSync(join(dir, 'fashion_test_1000.npy.gz'))));
  const px = x.data as Uint8Array;
  const inputs = Array.from({ length: x.shape[0] }, (_, i) => Float32Array.from(px.subarray(i * 784, (i + 1) * 784), (v) => Math.fround(v / 255)));
  return { inputs, labels: toNumbers(decodeNpy(readFileSync(join(dir, 'fashion_test_1000_labels.npy')))) };
}

const argmax = (y: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < y.length; i++) if (y[i] > y[best]) best = i;
  return best;
};
const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
const accuracy = (hits: boolean[]) => hits.filter(Boolean).length / hits.length;

const results: string[] = [];
afterAll(() => process.stdout.write(`e2e CNN accuracy in Verilator:\n${results.map((r) => `  ${r}`).join('\n')}\n`));

const models: { name: string; data: () => Split; wholeSplit: boolean }[] = [
  { name: 'lenet5_int8_qdq', data: () => mnist(), wholeSplit: true },
  { name: 'lenet5_w4a4_qdq', data: () => mnist(), wholeSplit: true },
  { name: 'cnv_small_w2a2', data: fashion, wholeSplit: false },
];

describe.skipIf(!FULL)('issue-4 zoo CNNs: Verilator accuracy on 1,000 test images', () => {
  for (const m of models) {
    it(`${m.name}: first ${SAMPLE} images within 0.2 points of onnxruntime${m.wholeSplit ? '; whole split within 0.2 points of meta.json' : ''}`, async () => {
      const meta = JSON.parse(readFileSync(zoo(m.name, 'meta.json'), 'utf8')) as { test_accuracy: number; dataset: { test: number } };
      const split = m.data();
      expect(split.inputs.length).toBe(m.wholeSplit ? meta.dataset.test : SAMPLE);
      const model = zoo(m.name, 'model.onnx');
      const out = join(tempDir(), 'design');
      const design = compileModel(model, out);
      const inputs = split.inputs.map((x) => quantizeInput(design.df.inputQuant[0], x));
      const sim = await simulate(out, inputs);
      expect(sim.outputs.length).toBe(inputs.length);
      const { mismatches, examples } = compareOutputs(sim.outputs.slice(0, REF_CHECK), referenceOutputs(design.df, inputs.slice(0, REF_CHECK)));
      expect(mismatches, JSON.stringify(examples)).toBe(0);
      const simHits = sim.outputs.map((codes, k) => argmax(applyOutputAffine(design.df.outputAffine[0], codes)) === split.labels[k]);
      const ort = await ortOutputs(readFileSync(model), split.inputs.slice(0, SAMPLE));
      const ortSample = accuracy(ort.map((y, k) => argmax(y) === split.labels[k]));
      const simSample = accuracy(simHits.slice(0, SAMPLE));
      const simAll = accuracy(simHits);
      results.push(`${m.name}: first ${SAMPLE}: Verilator ${pct(simSample)}, onnxruntime ${pct(ortSample)}; ` +
        (m.wholeSplit ? `all ${simHits.length}: Verilator ${pct(simAll)} vs meta.json ${pct(meta.test_accuracy)}` :
          `meta.json ${pct(meta.test_accuracy)} is on ${meta.dataset.test} images (the first ${SAMPLE} differ from it by ${(100 * Math.abs(simSample - meta.test_accuracy)).toFixed(2)} points)`) +
        `; ${REF_CHECK} outputs == integer reference; sim ${sim.runSeconds.toFixed(1)} s`);
      expect(Math.abs(simSample - ortSample)).toBeLessThanOrEqual(TOLERANCE + 1e-9);
      if (m.wholeSplit) expect(Math.abs(simAll - meta.test_accuracy)).toBeLessThanOrEqual(TOLERANCE + 1e-9);
    }, 1_800_000);
  }
});
