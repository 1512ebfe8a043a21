// The issue-4 CNN targets end to end: ONNX → streamline → dataflow → RTL → Verilator. For each model
// and two foldings (the default; and a serial one: every image layer and element-wise layer one
// channel per beat, MVUs pe 1 with the default simd): RTL == integer reference, bit for bit, on 20
// vectors with random back-pressure and input gaps; without stalls the simulated steady-state cycles
// per inference equal the estimate exactly and the first-output latency is within 5 % of it.
// The serial foldings of the bigger models simulate for a long time, so `make test` runs the
// selection in DEFAULT_RUN; KILN_E2E=1 (`make test-e2e`) runs both foldings for every model,
// including nn2fpga's ResNet-8 (residual: Duplicate / bypass Fifo / AddStreams, strided 1×1
// downsample convs; several minutes per folding). Cycles per inference are checked in steady state:
// every completion interval after the first equals the estimate; the first (the pipeline filling,
// bypass FIFOs included) is reported and must be within 5 %.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileDataflow } from '../../src/codegen/index.ts';
import type { DataflowGraph } from '../../src/ir/dataflow.ts';
import type { Graph } from '../../src/ir/graph.ts';
import { decodeNpy } from '../../src/io/npy.ts';
import { decodeTensorFile } from '../../src/onnx/tensor.ts';
import { quantizeInput } from '../../src/lower/host.ts';
import { importGraph } from '../../src/onnx/import.ts';
import { loadModel } from '../../src/onnx/load.ts';
import { defaultFolding, type Folding } from '../../src/dataflow/fold.ts';
import { lowerModel } from '../../src/passes/to-dataflow.ts';
import { checkDesign, serialFolding } from '../helpers/design-check.ts';
import { rng } from '../helpers/random-mlp.ts';

const FULL = process.env.KILN_E2E === '1';
const VECTORS = 20;
const root = join(import.meta.dirname, '..', '..');
const corpus = (f: string) => join(root, 'test/fixtures/corpus/qonnx-test-artifacts', f);
const zoo = (m: string, f: string) => join(root, 'test/fixtures/zoo', m, f);
const nn2fpga = (f: string) => join(root, 'test/fixtures/corpus/nn2fpga', f);

/** The zoo's test images (float32 [100, 1, 28, 28], x = pixel/255). */
function zooImages(m: string): Float32Array[] {
  const t = decodeNpy(readFileSync(zoo(m, 'inputs.npy')));
  const per = t.shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: t.shape[0] }, (_, k) => Float32Array.from((t.data as Float32Array).subarray(k * per, (k + 1) * per)));
}
/** Seeded vectors on the default QKeras input grid (2^-10 steps in [-8, 8)). */
const gridInputs = (n: number, len: number, seed: number) => {
  const r = rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: len }, () => Math.floor((r() * 16 - 8) * 1024) / 1024));
};

/** The corpus golden input (1×3×32×32) and seeded vectors spread over its value range. */
function resnetInputs(n: number): Float32Array[] {
  const file = nn2fpga('resnet8/test_data_set_0/input_0.pb');
  const golden = decodeTensorFile(readFileSync(file), file).data as Float32Array;
  let [lo, hi] = [Infinity, -Infinity];
  for (const v of golden) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  const r = rng(88);
  return [Float32Array.from(golden), ...Array.from({ length: n - 1 }, () => Float32Array.from(golden, () => lo + r() * (hi - lo)))];
}

interface Target { name: string; graph: () => Graph; inputs: () => Float32Array[] }

const qconv = readdirSync(join(root, 'test/fixtures/corpus/qonnx-test-artifacts')).filter((f) => /^qkeras_qconv2d_\d+\.onnx$/.test(f)).sort();
const targets: Target[] = [
  ...['lenet5_int8_qdq', 'lenet5_w4a4_qdq', 'cnv_small_w2a2'].map((m) => ({ name: m, graph: () => loadModel(zoo(m, 'model.onnx')), inputs: () => zooImages(m) })),
  ...qconv.map((f, i) => ({ name: f.replace('.onnx', ''), graph: () => loadModel(corpus(f)), inputs: () => gridInputs(VECTORS, 28 * 28 * 3, i) })),
  { name: 'qkeras_qconv2d_conversion', graph: () => loadModel(corpus('qkeras_qconv2d_conversion.onnx')), inputs: () => gridInputs(VECTORS, 784, 9) },
  { name: 'resnet8', graph: () => loadModel(nn2fpga('resnet8.onnx')), inputs: () => resnetInputs(VECTORS) },
];

type FoldingKind = 'default' | 'serial';

function folding(df: DataflowGraph, kind: FoldingKind): Folding {
  return kind === 'default' ? defaultFolding(df) : serialFolding(df);
}

/** What `make test` runs: every model under the default folding, the serial one where it simulates quickly. */
const DEFAULT_RUN: Record<string, FoldingKind[]> = {
  lenet5_int8_qdq: ['default', 'serial'],
  lenet5_w4a4_qdq: ['default'],
  cnv_small_w2a2: ['default'],
  qkeras_qconv2d_0: ['default', 'serial'],
  qkeras_qconv2d_conversion: ['default', 'serial'],
  resnet8: [], // KILN_E2E=1 only
};

const work = mkdtempSync(join(tmpdir(), 'kiln-e2e-cnn-'));
const results: string[] = [];
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  process.stdout.write(`e2e CNN models:\n${results.map((r) => `  ${r}`).join('\n')}\n`);
});

describe('issue-4 CNN models: RTL == reference, cycles == estimate', () => {
  targets.forEach((t, i) => {
    const run: FoldingKind[] = FULL ? ['default', 'serial'] : DEFAULT_RUN[t.name] ?? ['default'];
    for (const kind of run) {
      it(`${t.name}, ${kind} folding`, async () => {
        const g = importGraph(t.graph(), { pipeline: 'tidy-exact' }).graph;
        const df = lowerModel(g, { source: `${t.name}.onnx` });
        const out = join(work, `${t.name}-${kind}`);
        const design = compileDataflow(df, out, { fold: folding(df, kind) });
        const inputs = t.inputs().slice(0, VECTORS).map((x) => quantizeInput(design.df.inputQuant[0], x));
        expect(inputs.length).toBe(VECTORS);
        const { checked, intervals, latency } = await checkDesign(out, design.df, inputs, design.manifest.estimate, { seed: i + 1 });
        const est = design.manifest.estimate;
        results.push(`${t.name} [${kind}]: ${inputs.length} vectors, 0 mismatches, II ${intervals[1]} (est ${est.cyclesPerInference}; first interval ${intervals[0]}), ` +
          `latency ${latency} (est ${est.firstOutputLatency}), build ${checked.build.cached ? 'cached' : `${checked.build.seconds.toFixed(1)} s`}, sim ${checked.runSeconds.toFixed(2)} s`);
      }, 900_000);
    }
  });
});
