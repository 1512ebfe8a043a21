// Issue-4 bench section: LeNet-5 (zoo lenet5_int8_qdq, lenet5_w4a4_qdq) and the small CNV (zoo
// cnv_small_w2a2) under the default folding: compile time, Verilator build time, cycles per
// inference, simulation throughput, and the accuracy in Verilator on 1,000 test images against the
// meta.json test accuracy (within 0.2 %). meta.json's figure is over the whole split, so the float
// model's onnxruntime accuracy on the same 1,000 images is printed too, to tell sampling from error.
// MNIST comes from examples/ (the 2,000-image split the zoo evaluated LeNet-5 on); Fashion-MNIST for
// cnv_small is not in the repo: it is read from the shared zoo's data/ when present, else that
// accuracy is skipped with a note. Run alone: `npx tsx bench/run.ts issue 4`.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { compileModel } from '../src/cli/compile.ts';
import { decodeNpy } from '../src/io/npy.ts';
import { applyOutputAffine, quantizeInput } from '../src/lower/host.ts';
import { buildSim } from '../src/sim/build.ts';
import { simulateAndCompare } from '../src/sim/check.ts';
import type { BenchContext, BenchSection } from './run.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const IMAGES = 1000;
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

const mnist = (): Split => loadSplit(join(root, 'examples/tfc_w1a1/mnist_test_2000.npy'), join(root, 'examples/tfc_w1a1/mnist_test_2000_labels.npy'), IMAGES);
function fashion(ctx: BenchContext): Split | string {
  const dir = ctx.shared ? join(ctx.shared, 'zoo/data') : undefined;
  if (!dir || !existsSync(join(dir, 'fashion_test.npy'))) return 'Fashion-MNIST test split not found (shared zoo data/ absent)';
  return loadSplit(join(dir, 'fashion_test.npy'), join(dir, 'fashion_test_labels.npy'), IMAGES);
}

const models: { name: string; data: (ctx: BenchContext) => Split | string }[] = [
  { name: 'lenet5_int8_qdq', data: mnist },
  { name: 'lenet5_w4a4_qdq', data: mnist },
  { name: 'cnv_small_w2a2', data: fashion },
];

const f1 = (v: number) => v.toFixed(1);
const int = (v: number) => Math.round(v).toLocaleString('en-US');

async function benchCnn(ctx: BenchContext): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'kiln-bench-cnn-'));
  const lines: string[][] = [['model', 'compile s', 'Verilator build s', 'II cycles', 'latency cycles', 'images', 'sim inferences/s', 'sim Mcycles/s', 'mismatches']];
  const accuracy: string[] = [];
  try {
    for (const m of models) {
      const out = join(work, m.name);
      const t = performance.now();
      const design = compileModel(join(root, 'test/fixtures/zoo', m.name, 'model.onnx'), out);
      const compileS = (performance.now() - t) / 1000;
      const build = await buildSim(out);
      const data = m.data(ctx);
      // Without a test split the throughput still runs on the zoo's 100 fixture images.
      const split: Split = typeof data === 'string' ? { rows: zooImages(m.name), labels: [] } : data;
      const inputs = split.rows.map((x) => quantizeInput(design.df.inputQuant[0], x));
      const r = await simulateAndCompare(out, design.df, inputs);
      const est = design.manifest.estimate;
      lines.push([m.name, f1(compileS), f1(build.seconds), int(est.cyclesPerInference), int(est.firstOutputLatency), String(inputs.length),
        int(inputs.length / r.runSeconds), (r.stats.cycles / r.runSeconds / 1e6).toFixed(2), String(r.mismatches)]);
      if (r.mismatches > 0) process.exitCode = 1;
      const meta = JSON.parse(readFileSync(join(root, 'test/fixtures/zoo', m.name, 'meta.json'), 'utf8')) as { test_accuracy: number; dataset: { test: number } };
      if (typeof data === 'string') {
        accuracy.push(`${m.name}: accuracy SKIPPED: ${data}`);
        continue;
      }
      const correct = r.outputs.filter((codes, k) => {
        const y = applyOutputAffine(design.df.outputAffine[0], codes);
        return y.indexOf(Math.max(...y)) === split.labels[k];
      }).length;
      const acc = correct / inputs.length;
      const ok = Math.abs(acc - meta.test_accuracy) <= TOLERANCE + 1e-9;
      const ortAcc = await ortAccuracy(join(root, 'test/fixtures/zoo', m.name, 'model.onnx'), split);
      accuracy.push(`${m.name} in Verilator on the first ${inputs.length} test images: ${(100 * acc).toFixed(2)} % (${correct}/${inputs.length}); ` +
        `meta.json ${(100 * meta.test_accuracy).toFixed(2)} % (on ${meta.dataset.test} images) → ${ok ? 'within 0.2 %' : `DIFFERS by ${(100 * Math.abs(acc - meta.test_accuracy)).toFixed(2)} %`}; ` +
        `onnxruntime on the same ${inputs.length} images: ${(100 * ortAcc).toFixed(2)} %`);
      if (!ok) process.exitCode = 1;
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
  name: `issue 4: CNNs → RTL → Verilator (LeNet-5, cnv_small; default folding; accuracy on ${IMAGES} test images)`,
  run: benchCnn,
};
