// `make sparse-cycles`: the folded sparse MVU mode on the zoo's fine-tuned mlp_pruned90 (int8), per
// folding: all-zero SIMD groups of the bottleneck layer, estimated and Verilator-measured II of the
// dense and the sparse design, written into docs/compression.md (between the sparse-cycles markers).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileDataflow } from '../src/codegen/index.ts';
import { sparseStudy, uniformFolding } from '../src/compress/sparse-cycles.ts';
import { range } from '../src/ir/datatype.ts';
import { importModel } from '../src/onnx/import.ts';
import { lowerModel } from '../src/passes/to-dataflow.ts';
import { simulateAndCompare } from '../src/sim/check.ts';
import { replaceBetweenMarkers, ROOT } from './mnist.ts';

const df = lowerModel(importModel(join(ROOT, 'test/fixtures/zoo/mlp_pruned90_int8_qdq/model.onnx'), { pipeline: 'tidy-exact' }));
const FOLDINGS: [number, number][] = [[1, 1], [1, 2], [1, 4], [2, 4], [2, 8], [4, 16], [8, 16]];
const INFERENCES = 6;

const [lo, hi] = range(df.streams.get(df.inputs[0])!.qtype);
let seed = 1;
const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const inputs = Array.from({ length: INFERENCES }, () => Array.from({ length: 784 }, () => lo + Math.floor(rand() * (hi - lo + 1))));

async function simII(fold: ReturnType<typeof uniformFolding>, sparse: boolean): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-sparse-cycles-'));
  try {
    compileDataflow(df, join(dir, 'd'), { fold, sparse });
    const r = await simulateAndCompare(join(dir, 'd'), df, inputs);
    if (r.mismatches) throw new Error(`RTL != reference (${r.mismatches} mismatches)`);
    return r.stats.cyclesPerInference;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const lines: string[] = [];
for (const [pe, simd] of FOLDINGS) {
  const fold = uniformFolding(df, pe, simd);
  const s = sparseStudy(df, fold);
  const bottleneck = s.layers.reduce((a, b) => (b.sparseCycles > a.sparseCycles ? b : a));
  const fc1 = s.layers[0];
  const denseSim = await simII(fold, false);
  const sparseSim = await simII(fold, true);
  const f = fold[fc1.name];
  lines.push(`| ${f.pe} × ${f.simd} | ${fc1.groups} | ${(100 * fc1.zeroGroups / fc1.groups).toFixed(1)} % | ${fc1.zeroFolds} | ${s.denseII} | ${denseSim} | ${s.sparseII} | ${sparseSim} | ${bottleneck.name.replace(/_Gemm$/, '')} | ${(s.sparseII / s.denseII).toFixed(3)} | ${((fc1.groups - fc1.zeroGroups + fc1.zeroFolds) / fc1.groups).toFixed(3)} |`);
  process.stderr.write(`${lines[lines.length - 1]}\n`);
}
const table = [
  `mlp_pruned90_int8_qdq (784-64-64-10, 90 % zero weights), every MVU folded PE × SIMD (fc3: the largest divisor of its 10 rows), Verilator II over ${INFERENCES} back-to-back inferences (RTL == reference in every run). Regenerate with \`make sparse-cycles\`.`,
  '',
  '| fc1 PE × SIMD | fc1 groups | all-zero groups | all-zero row folds | dense II est. | dense II sim | sparse II est. | sparse II sim | sparse bottleneck | sparse / dense | 1 − zero-group fraction (+ zero folds) |',
  '|---|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|',
  ...lines,
].join('\n');
process.stdout.write(`${table}\n`);
const docPath = join(ROOT, 'docs/compression.md');
writeFileSync(docPath, replaceBetweenMarkers(readFileSync(docPath, 'utf8'), 'sparse-cycles', table));
