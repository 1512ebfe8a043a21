// Issue-4 bench section: LeNet-5 (zoo lenet5_int8_qdq, lenet5_w4a4_qdq), the small CNV (zoo
// cnv_small_w2a2) and nn2fpga's ResNet-8, ResNet-20 and MobileNet-v1 VWW (corpus) under the default folding: compile time, Verilator
// build time, cycles per inference, simulation throughput; for the zoo models also the accuracy in
// Verilator. meta.json's test accuracy is measured on a whole test split (2,000 MNIST / 10,000
// Fashion-MNIST images), so the Verilator run covers that same split and must match it within 0.2 %;
// and on the first 1,000 images (the issue's sample) it must match onnxruntime on those same images
// within 0.2 % (a 1,000-image sample of the split legitimately differs from the split's figure:
// cnv_small gets 89.3 % on the first 1,000 against 88.6 % on all 10,000).
// MNIST comes from examples/ (the 2,000-image split the zoo evaluated LeNet-5 on); Fashion-MNIST for
// cnv_small is not in the repo: it is read from the shared zoo's data/ when present, else that
// accuracy is skipped with a note. The nn2fpga models have no data set here (CIFAR-10, VWW): random inputs, values
// checked against the integer reference. Run alone: `npx tsx bench/run.ts issue 4`.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import ort from 'onnxruntime-node';
import { compileModel } from '../src/cli/compile.ts';
import { range } from '../src/ir/datatype.ts';
import { numel } from '../src/ir/tensor.ts';
import { decodeNpy } from '../src/io/npy.ts';
import { applyOutputAffine, quantizeInput } from '../src/lower/host.ts';
import { buildSim } from '../src/sim/build.ts';
import { compareOutputs, referenceOutputs } from '../src/sim/check.ts';
import { simulate } from '../src/sim/simulate.ts';
import type { BenchContext, BenchSection } from './section.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const SAMPLE = 1000;
const RESNET_VECTORS = 8;
const TOLERANCE = 0.002;

interface Split { rows: Float32Array[]; labels: number[] }

/** uint8 [n, 28, 28] images and labels → x = float32(pixel) / 255 rows (the zoo's preprocessing). */
function loadSplit(images: string, labels: string, n: number): Split {
  const x = decodeNpy(readFileSync(images));
  const y = decodeNpy(readFileSync(labels));
  const px = x.data as ArrayLike<number>;
  const per = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const rows = Array.from({ length: Math.min(n, x.shape[0]) }, (_, k) => {
    const r = new Float32Array(per);
    for (let i = 0; i < per; i++) r[i] = Math.fround(Math.fround(px[k * per + i]) / Math.fround(255));
    return r;
  });
  return { rows, labels: Array.from(y.data as ArrayLike<number>).slice(0, rows.length) };
}

const mnist = (_ctx: BenchContext, n: number): Split => loadSplit(join(root, 'examples/tfc_w1a1/mnist_test_2000.npy'), join(root, 'examples/tfc_w1a1/mnist_test_2000_labels.npy'), n);
function fashion(ctx: BenchContext, n: number): Split | string {
  const dir = ctx.shared ? join(ctx.shared, 'zoo/data') : undefined;
  if (!dir || !existsSync(join(dir, 'fashion_test.npy'))) return 'Fashion-MNIST test split not found (shared zoo data/ absent)';
  return loadSplit(join(dir, 'fashion_test.npy'), join(dir, 'fashion_test_labels.npy'), n);
}

/** The test split, as many images as meta.json's accuracy was measured on. */
const models: { name: string; data: (ctx: BenchContext, n: number) => Split | string }[] = [
  { name: 'lenet5_int8_qdq', data: mnist },
  { name: 'lenet5_w4a4_qdq', data: mnist },
  { name: 'cnv_small_w2a2', data: fashion },
];

const f1 = (v: number) => v.toFixed(1);
const int = (v: number) => Math.round(v).toLocaleString('en-US');

const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
const within = (a: number, b: number) => Math.abs(a - b) <= TOLERANCE + 1e-9;

async function benchCnn(ctx: BenchContext): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'kiln-bench-cnn-'));
  const lines: string[][] = [['model', 'compile s', 'Verilator build s', 'II cycles', 'latency cycles', 'images', 'sim inferences/s', 'sim Mcycles/s', 'mismatches vs reference']];
  const accuracy: string[] = [];
  // Values are compared with the integer reference on the first SAMPLE inferences (the JS reference
  // takes ~0.1 s per cnv_small image; the accuracy over the whole split needs only the RTL outputs).
  const row = async (name: string, model: string, inputsOf: (design: ReturnType<typeof compileModel>) => number[][]) => {
    const out = join(work, name);
    const t = performance.now();
    const design = compileModel(model, out);
    const compileS = (performance.now() - t) / 1000;
    const build = await buildSim(out);
    const inputs = inputsOf(design);
    const r = await simulate(out, inputs);
    const checked = Math.min(SAMPLE, inputs.length);
    const { mismatches } = compareOutputs(r.outputs.slice(0, checked), referenceOutputs(design.df, inputs.slice(0, checked)));
    const est = design.manifest.estimate;
    lines.push([name, f1(compileS), f1(build.seconds), int(est.cyclesPerInference), int(est.firstOutputLatency), String(inputs.length),
      int(inputs.length / r.runSeconds), (r.stats.cycles / r.runSeconds / 1e6).toFixed(2), `${mismatches} of ${checked}`]);
    if (mismatches > 0) process.exitCode = 1;
    return { design, r };
  };
  try {
    for (const m of models) {
      const meta = JSON.parse(readFileSync(join(root, 'test/fixtures/zoo', m.name, 'meta.json'), 'utf8')) as { test_accuracy: number; dataset: { test: number } };
      const data = m.data(ctx, meta.dataset.test);
      // Without a test split the throughput still runs on the zoo's 100 fixture images.
      const split: Split = typeof data === 'string' ? { rows: zooImages(m.name), labels: [] } : data;
      const model = join(root, 'test/fixtures/zoo', m.name, 'model.onnx');
      const { design, r } = await row(m.name, model, (d) => split.rows.map((x) => quantizeInput(d.df.inputQuant[0], x)));
      if (typeof data === 'string') {
        accuracy.push(`${m.name}: accuracy SKIPPED: ${data}`);
        continue;
      }
      const hits = r.outputs.map((codes, k) => {
        const y = applyOutputAffine(design.df.outputAffine[0], codes);
        return y.indexOf(Math.max(...y)) === split.labels[k];
      });
      const accOf = (n: number) => hits.slice(0, n).filter(Boolean).length / Math.min(n, hits.length);
      const full = accOf(hits.length);
      const sample = accOf(SAMPLE);
      const ortSample = await ortAccuracy(model, { rows: split.rows.slice(0, SAMPLE), labels: split.labels.slice(0, SAMPLE) });
      const okFull = hits.length === meta.dataset.test && within(full, meta.test_accuracy);
      const okSample = within(sample, ortSample);
      accuracy.push(`${m.name}: Verilator on all ${hits.length} test images ${pct(full)} vs meta.json ${pct(meta.test_accuracy)} (on ${meta.dataset.test}) → ` +
        `${okFull ? 'within 0.2 %' : `DIFFERS by ${pct(Math.abs(full - meta.test_accuracy))}`}; on the first ${SAMPLE}: ${pct(sample)} vs onnxruntime ${pct(ortSample)} → ` +
        `${okSample ? 'within 0.2 %' : `DIFFERS by ${pct(Math.abs(sample - ortSample))}`}`);
      if (!okFull || !okSample) process.exitCode = 1;
    }
    // ResNet-8 (nn2fpga, corpus): no CIFAR-10 here; random inputs on the model's input grid.
    const resnet = join(root, 'test/fixtures/corpus/nn2fpga/resnet8.onnx');
    const gridCodes = (seed: number) => (d: ReturnType<typeof compileModel>) => {
      const x = d.df.streams.get(d.df.inputs[0])!;
      const [lo, hi] = range(x.qtype);
      const next = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
      return Array.from({ length: RESNET_VECTORS }, () => Array.from({ length: numel(x.shape) }, () => lo + Math.floor(next() * (hi - lo + 1))));
    };
    await row('nn2fpga resnet8', resnet, gridCodes(8));
    // ResNet-20 and MobileNet-v1 VWW (nn2fpga, corpus; gzipped fixtures): the same random codes.
    for (const [name, seed] of [['resnet20_a8w8b16', 20], ['mobilenet_v1_vww_a8w8', 96]] as const) {
      const onnx = join(work, `${name}.onnx`);
      writeFileSync(onnx, gunzipSync(readFileSync(join(root, `test/fixtures/corpus/nn2fpga/${name}.onnx.gz`))));
      await row(`nn2fpga ${name}`, onnx, gridCodes(seed));
    }
    for (const line of table(lines)) ctx.log(line);
    ctx.log('');
    for (const line of accuracy) ctx.log(line);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Top-1 accuracy of the float ONNX model in onnxruntime-node (optimizations off) on the same images. */
async function ortAccuracy(model: string, split: Split): Promise<number> {
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'disabled' });
  let correct = 0;
  for (const [k, x] of split.rows.entries()) {
    const r = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [1, 1, 28, 28]) });
    const y = Array.from(r[session.outputNames[0]].data as Float32Array);
    if (y.indexOf(Math.max(...y)) === split.labels[k]) correct++;
  }
  return correct / split.rows.length;
}

/** The zoo's 100 fixture images (float32 [100, 1, 28, 28]). */
function zooImages(m: string): Float32Array[] {
  const t = decodeNpy(readFileSync(join(root, 'test/fixtures/zoo', m, 'inputs.npy')));
  const per = t.shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: t.shape[0] }, (_, k) => Float32Array.from((t.data as Float32Array).subarray(k * per, (k + 1) * per)));
}

function table(rows: string[][]): string[] {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  '));
}

export const cnnSection: BenchSection = {
  name: 'issue 4: CNNs → RTL → Verilator (LeNet-5, cnv_small, ResNet-8/-20, MobileNet-v1; default folding; accuracy on the whole test split and on its first 1,000 images)',
  run: benchCnn,
};

// --- lenet5_structpruned (float in the zoo → int8 via the compression path): its own row and accuracy
// line after the rows above; self-contained in bench/cnn-structpruned.ts. ---
import { benchStructpruned } from './cnn-structpruned.ts';
const runBeforeStructpruned = cnnSection.run;
cnnSection.run = async (ctx) => {
  await runBeforeStructpruned(ctx);
  await benchStructpruned(ctx);
};
