// Issue-4 bench row for zoo lenet5_structpruned, which the zoo ships in float32: int8 PTQ through the
// compression path (what `kiln compress --bits 8 --calib …` runs: per-channel weights, min-max
// activation ranges, power-of-two scales, bias correction; calibrated on 256 images of the MNIST
// split outside the first 1,000), then the default folding in Verilator on the whole 2,000-image
// test split meta.json's accuracy is measured on. Values vs the integer reference on the first
// 1,000 inferences; accuracy on all 2,000 vs meta.json and on the first 1,000 vs the float model in
// onnxruntime on the same images, both within 0.2 points. Hooked into the issue-4 section by a block
// at the end of bench/cnn.ts.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { compileModel } from '../src/cli/compile.ts';
import { compress } from '../src/compress/index.ts';
import { applyOutputAffine, quantizeInput } from '../src/lower/host.ts';
import { importModel } from '../src/onnx/import.ts';
import { encodeModel } from '../src/onnx/load.ts';
import { buildSim } from '../src/sim/build.ts';
import { compareOutputs, referenceOutputs } from '../src/sim/check.ts';
import { simulate } from '../src/sim/simulate.ts';
import { mnist } from '../scripts/mnist.ts';
import type { BenchContext } from './section.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const SAMPLE = 1000;
const TOLERANCE = 0.002;

const argmax = (y: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < y.length; i++) if (y[i] > y[best]) best = i;
  return best;
};
const pct = (v: number) => `${(100 * v).toFixed(2)} %`;

export async function benchStructpruned(ctx: BenchContext): Promise<void> {
  const name = 'lenet5_structpruned';
  const dir = join(root, 'test/fixtures/zoo', name);
  const floatModel = join(dir, 'model.onnx');
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { test_accuracy: number; dataset: { test: number } };
  const split = mnist(meta.dataset.test);
  const work = mkdtempSync(join(tmpdir(), 'kiln-bench-structpruned-'));
  try {
    let t = performance.now();
    const { graph } = compress(importModel(floatModel, { pipeline: 'tidy-exact' }), {
      quantize: { weightBits: 8, actBits: 8, perChannel: true, symmetric: true, method: 'minmax', biasCorrection: true, scales: 'pow2' },
    }, { calibration: split.inputs.slice(SAMPLE, SAMPLE + 256) });
    const compressed = join(work, `${name}_int8.onnx`);
    writeFileSync(compressed, encodeModel(graph));
    const compressS = (performance.now() - t) / 1000;
    t = performance.now();
    const out = join(work, 'design');
    const design = compileModel(compressed, out);
    const compileS = (performance.now() - t) / 1000;
    const build = await buildSim(out);
    const inputs = split.inputs.map((x) => quantizeInput(design.df.inputQuant[0], x));
    const r = await simulate(out, inputs);
    const checked = Math.min(SAMPLE, inputs.length);
    const { mismatches } = compareOutputs(r.outputs.slice(0, checked), referenceOutputs(design.df, inputs.slice(0, checked)));
    const est = design.manifest.estimate;
    const hits = r.outputs.map((codes, k) => argmax(applyOutputAffine(design.df.outputAffine[0], codes)) === split.labels[k]);
    const acc = (n: number) => hits.slice(0, n).filter(Boolean).length / Math.min(n, hits.length);
    const session = await ort.InferenceSession.create(floatModel, { graphOptimizationLevel: 'disabled' });
    let floatHits = 0;
    for (let k = 0; k < SAMPLE; k++) {
      const y = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', split.inputs[k], [1, 1, 28, 28]) });
      if (argmax(y[session.outputNames[0]].data as Float32Array) === split.labels[k]) floatHits++;
    }
    await session.release();
    const [full, sample, floatSample] = [acc(hits.length), acc(SAMPLE), floatHits / SAMPLE];
    const okFull = hits.length === meta.dataset.test && Math.abs(full - meta.test_accuracy) <= TOLERANCE + 1e-9;
    const okSample = Math.abs(sample - floatSample) <= TOLERANCE + 1e-9;
    ctx.log('');
    ctx.log(`${name} (float in the zoo → int8 PTQ, pow2 scales, 256 calibration images): compress ${compressS.toFixed(1)} s, compile ${compileS.toFixed(1)} s, ` +
      `Verilator build ${build.seconds.toFixed(1)} s${build.cached ? ' (cached)' : ''}, II ${est.cyclesPerInference} cycles, latency ${est.firstOutputLatency} cycles, ` +
      `${inputs.length} images, ${Math.round(inputs.length / r.runSeconds)} inferences/s, ${(r.stats.cycles / r.runSeconds / 1e6).toFixed(2)} Mcycles/s, ` +
      `simulated II ${r.stats.cyclesPerInference.toFixed(1)}, mismatches vs reference ${mismatches} of ${checked}`);
    ctx.log(`${name}: Verilator on all ${hits.length} test images ${pct(full)} vs meta.json ${pct(meta.test_accuracy)} (float, on ${meta.dataset.test}) → ` +
      `${okFull ? 'within 0.2 %' : `DIFFERS by ${pct(Math.abs(full - meta.test_accuracy))}`}; on the first ${SAMPLE}: ${pct(sample)} vs float onnxruntime ${pct(floatSample)} → ` +
      `${okSample ? 'within 0.2 %' : `DIFFERS by ${pct(Math.abs(sample - floatSample))}`}`);
    if (mismatches > 0 || !okFull || !okSample) process.exitCode = 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
