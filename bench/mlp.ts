// Issue-3 bench section: per TFC model (default folding) the compile time, the Verilator build time
// cold (empty build cache, ccache disabled) and cached, the simulation throughput and the integer
// reference executor's throughput; then tfc_w1a1's accuracy in Verilator on the 2,000-image MNIST
// split against its meta.json accuracy. Run alone: `npx tsx bench/run.ts issue 3`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileModel } from '../src/cli/compile.ts';
import { runDataflowBatch } from '../src/exec/dataflow.ts';
import { decodeNpy } from '../src/io/npy.ts';
import { applyOutputAffine, quantizeInput } from '../src/lower/host.ts';
import { buildSim } from '../src/sim/build.ts';
import { simulateAndCompare } from '../src/sim/check.ts';
import type { BenchContext, BenchSection } from './section.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const models: [string, string][] = [
  ['TFC_1W1A', 'test/fixtures/corpus/qonnx-model-zoo/TFC_1W1A.onnx'],
  ['TFC_1W2A', 'test/fixtures/corpus/qonnx-model-zoo/TFC_1W2A.onnx'],
  ['TFC_2W2A', 'test/fixtures/corpus/qonnx-model-zoo/TFC_2W2A.onnx'],
  ['tfc_w1a1', 'examples/tfc_w1a1/model.onnx'],
];
const SIM_INFERENCES = 2000;

/** The 2,000-image MNIST split as x = pixel/255 rows, and its labels. */
function mnist2000(): { rows: Float32Array[]; labels: number[] } {
  const x = decodeNpy(readFileSync(join(root, 'examples/tfc_w1a1/mnist_test_2000.npy')));
  const y = decodeNpy(readFileSync(join(root, 'examples/tfc_w1a1/mnist_test_2000_labels.npy')));
  const px = x.data as Float64Array;
  const rows = Array.from({ length: x.shape[0] }, (_, k) => {
    const r = new Float32Array(784);
    for (let i = 0; i < 784; i++) r[i] = Math.fround(Math.fround(px[k * 784 + i]) / Math.fround(255));
    return r;
  });
  return { rows, labels: Array.from(y.data as Float64Array) };
}

async function withColdCache<T>(f: () => Promise<T>): Promise<T> {
  const saved = { cache: process.env.KILN_CACHE, ccache: process.env.CCACHE_DISABLE };
  const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-cache-'));
  process.env.KILN_CACHE = dir;
  process.env.CCACHE_DISABLE = '1';
  try {
    return await f();
  } finally {
    if (saved.cache === undefined) delete process.env.KILN_CACHE;
    else process.env.KILN_CACHE = saved.cache;
    if (saved.ccache === undefined) delete process.env.CCACHE_DISABLE;
    else process.env.CCACHE_DISABLE = saved.ccache;
    rmSync(dir, { recursive: true, force: true });
  }
}

const f1 = (v: number) => v.toFixed(1);
const int = (v: number) => Math.round(v).toLocaleString('en-US');

async function benchMlp(ctx: BenchContext): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'kiln-bench-'));
  const { rows, labels } = mnist2000();
  const head = ['model', 'compile s', 'Verilator build cold s', 'cached s', 'II cycles', 'sim inferences/s', 'reference inferences/s', 'mismatches'];
  const lines: string[][] = [head];
  let accuracyLine = '';
  try {
    for (const [name, path] of models) {
      const out = join(work, name);
      let t = performance.now();
      const design = compileModel(join(root, path), out);
      const compileS = (performance.now() - t) / 1000;
      const cold = await withColdCache(() => buildSim(out));
      await buildSim(out); // fill the real cache
      const cached = await buildSim(out);
      const inputs = rows.slice(0, SIM_INFERENCES).map((x) => quantizeInput(design.df.inputQuant[0], x));
      const r = await simulateAndCompare(out, design.df, inputs);
      t = performance.now();
      runDataflowBatch(design.df, inputs.map((x) => [x]));
      const refS = (performance.now() - t) / 1000;
      lines.push([name, f1(compileS), f1(cold.seconds), cached.seconds.toFixed(3), String(design.manifest.estimate.cyclesPerInference),
        int(inputs.length / r.runSeconds), int(inputs.length / refS), String(r.mismatches)]);

      if (name === 'tfc_w1a1') {
        const meta = JSON.parse(readFileSync(join(root, 'test/fixtures/zoo/tfc_w1a1/meta.json'), 'utf8')) as { test_accuracy: number };
        const preds = r.outputs.map((codes) => {
          const y = applyOutputAffine(design.df.outputAffine[0], codes);
          return y.indexOf(Math.max(...y));
        });
        const correct = preds.filter((p, k) => p === labels[k]).length;
        const acc = correct / preds.length;
        const ok = Math.abs(acc - meta.test_accuracy) <= 0.001;
        accuracyLine = (`tfc_w1a1 in Verilator on the ${preds.length}-image MNIST split: accuracy ${(100 * acc).toFixed(2)} % ` +
          `(${correct}/${preds.length}); meta.json test_accuracy ${(100 * meta.test_accuracy).toFixed(2)} % → ${ok ? 'within 0.1 %' : 'DIFFERS by more than 0.1 %'}; ` +
          `${r.mismatches} mismatches vs the integer reference`);
        if (!ok || r.mismatches > 0) process.exitCode = 1;
      }
    }
    for (const line of table(lines)) ctx.log(line);
    ctx.log('');
    ctx.log(accuracyLine);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function table(rows: string[][]): string[] {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  '));
}

export const mlpSection: BenchSection = {
  name: `issue 3: TFC MLPs → RTL → Verilator (default folding, ${SIM_INFERENCES} MNIST digits; tfc_w1a1 accuracy)`,
  run: benchMlp,
};
