// The zoo's fine-tuned mlp_pruned90 (int8) in the folded sparse mode, simulated in Verilator: RTL ==
// reference, simulated II == estimate for dense and sparse, and the sparse II is the bottleneck MVU's
// nonzero SIMD groups (+ its all-zero row folds), i.e. the cycles fall in proportion to the zero groups.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileDataflow } from '../../src/codegen/index.ts';
import { foldedDataflow } from '../../src/dataflow/pipeline.ts';
import { markSparse } from '../../src/dataflow/sparse.ts';
import { sparseStudy, uniformFolding } from '../../src/compress/sparse-cycles.ts';
import { lowerModel } from '../../src/passes/to-dataflow.ts';
import { simulateAndCompare } from '../../src/sim/check.ts';
import { rng } from '../unit/layers-helpers.ts';
import { haveVerilator, randomValues } from '../sim/layer-matrix.ts';
import { zooModel } from './helpers.ts';

const df = lowerModel(zooModel('mlp_pruned90_int8_qdq'));

describe('mlp_pruned90 sparse cycle model', () => {
  it.each([[1, 1], [1, 2], [2, 4], [2, 8]])('pe %i simd %i: II falls with the all-zero groups of the bottleneck', (pe, simd) => {
    const s = sparseStudy(df, uniformFolding(df, pe, simd));
    const fc1 = s.layers[0]; // 784 inputs: the bottleneck dense and sparse
    expect(s.denseII).toBe(fc1.denseCycles);
    expect(s.sparseII).toBe(Math.max(...s.layers.map((l) => l.sparseCycles)));
    expect(s.sparseII).toBe(fc1.groups - fc1.zeroGroups + fc1.zeroFolds);
    // cycles ∝ nonzero groups: sparse/dense = 1 − zero-group fraction (+ the all-zero folds' steps)
    expect(s.sparseII / s.denseII).toBeCloseTo(1 - fc1.zeroGroups / fc1.groups + fc1.zeroFolds / fc1.groups, 12);
    expect(s.sparseII).toBeLessThan(s.denseII);
    if (pe * simd === 1) expect(s.sparseII / s.denseII).toBeLessThan(0.101); // 90 % zero weights = 90 % zero groups
  });
});

describe('compile --sparse keeps the sparse mode only where it saves cycles', () => {
  it('marks MVUs with zero weights, then drops it where a layer is input-bound or unrolled', () => {
    expect(markSparse(df).layers.filter((l) => l.attrs.sparse === 1).map((l) => l.name)).toEqual(['fc1_Gemm', 'fc2_Gemm', 'fc3_Gemm']);
    const fold = { ...uniformFolding(df, 2, 16), fc3_Gemm: { pe: 10, simd: 64 } };
    const { df: folded } = foldedDataflow(df, { fold, sparse: true });
    const sparse = Object.fromEntries(folded.layers.filter((l) => l.kind === 'MVU').map((l) => [l.name, l.attrs.sparse]));
    expect(sparse).toEqual({ fc1_Gemm: 1, fc2_Gemm: 1, fc3_Gemm: 0 });
    // without --sparse nothing is marked
    expect(foldedDataflow(df, { fold }).df.layers.some((l) => l.attrs.sparse !== undefined)).toBe(false);
  });
});

describe.skipIf(!haveVerilator)('mlp_pruned90 sparse mode in Verilator', () => {
  it.each([[1, 2], [2, 8]])('pe %i simd %i: RTL == reference, simulated II == estimate, dense and sparse', async (pe, simd) => {
    const fold = uniformFolding(df, pe, simd);
    const s = sparseStudy(df, fold);
    const r = rng(pe * 100 + simd);
    const inputs = Array.from({ length: 6 }, () => randomValues('UINT8', 784, r));
    const dir = mkdtempSync(join(tmpdir(), 'kiln-sparse-'));
    try {
      for (const sparse of [false, true]) {
        const out = join(dir, String(sparse));
        const design = compileDataflow(df, out, { fold, sparse });
        const res = await simulateAndCompare(out, df, inputs);
        expect(res.mismatches).toBe(0);
        expect(res.stats.cyclesPerInference).toBe(sparse ? s.sparseII : s.denseII);
        expect(design.manifest.estimate.cyclesPerInference).toBe(res.stats.cyclesPerInference);
        expect(design.manifest.files.some((f) => f.endsWith('mvu_sparse.v'))).toBe(sparse);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
