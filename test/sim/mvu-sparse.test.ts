// Sparse MVU sim matrix (hw/mvu/mvu_sparse.v): random sparsity patterns with whole SIMD groups zero,
// all-zero row folds, all-zero matrices, dense matrices; weight/input kinds with and without
// multipliers; foldings with few and many steps per vector (incl. fewer steps than input beats).
// Every case: RTL == reference under back-pressure and gaps, simulated cycles == the cycle model ==
// max(Σ_folds max(1, nonzero groups), cols/simd), latency == model.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { compileDataflow } from '../../src/codegen/index.ts';
import { lowerModel } from '../../src/passes/to-dataflow.ts';
import { parseQType, qtypeName, range } from '../../src/ir/datatype.ts';
import { findTool } from '../../src/tools/index.ts';
import { zooModel } from '../compress/helpers.ts';
import { mvuOutType } from '../../src/layers/mvu.ts';
import { nonzeroGroups } from '../../src/layers/common/mvu-weights.ts';
import { rng } from '../unit/layers-helpers.ts';
import { expectExact, haveVerilator, randomValues, runLayerCase, type LayerCase } from './layer-matrix.ts';

interface Pattern {
  /** Probability that a whole SIMD group (PE rows × SIMD inputs) is zero. */
  group: number;
  /** Probability that a single remaining weight is zero. */
  single?: number;
  /** Row folds forced all-zero. */
  zeroFolds?: number[];
}

function sparseCase(label: string, rows: number, cols: number, pe: number, simd: number, inType: string, weightType: string, seed: number, pattern: Pattern, vectors = 1): LayerCase {
  const r = rng(seed);
  const weights = randomValues(weightType, rows * cols, r);
  const sf = cols / simd;
  for (let n = 0; n < rows / pe; n++) {
    for (let g = 0; g < sf; g++) {
      const zero = pattern.zeroFolds?.includes(n) || r() < pattern.group;
      for (let p = 0; p < pe; p++) {
        for (let i = 0; i < simd; i++) {
          const k = (n * pe + p) * cols + g * simd + i;
          if (zero || r() < (pattern.single ?? 0)) weights[k] = 0;
        }
      }
    }
  }
  const outType = qtypeName(mvuOutType(rows, cols, parseQType(inType), weights));
  const [lo, hi] = range(parseQType(inType));
  const row0 = weights.slice(0, cols);
  const extra = vectors > 1 ? [] : [new Array(cols).fill(lo), new Array(cols).fill(hi), row0.map((w) => (w >= 0 ? hi : lo))];
  return {
    label, kind: 'MVU', attrs: { rows, cols, vectors, pe, simd, sparse: 1, inType, weightType, outType }, consts: { weights },
    inType, inElems: vectors * cols, outType, outElems: vectors * rows, extra,
  };
}

const cases: LayerCase[] = [
  sparseCase('int8_16x32_pe2_simd4_half_groups', 16, 32, 2, 4, 'INT8', 'INT8', 1, { group: 0.5, single: 0.2 }),
  sparseCase('int4w_uint4x_12x24_pe3_simd2_90pct', 12, 24, 3, 2, 'UINT4', 'INT4', 2, { group: 0.9 }),
  sparseCase('int8_8x16_serial_zero_folds', 8, 16, 1, 1, 'INT8', 'INT8', 3, { group: 0.3, zeroFolds: [0, 3, 7] }),
  sparseCase('ternary_int3x_10x20_pe5_simd4', 10, 20, 5, 4, 'INT3', 'TERNARY', 4, { group: 0.4, single: 0.3 }),
  sparseCase('int2w_bipolarx_8x12_pe4_simd3_zero_first_last', 8, 12, 4, 3, 'BIPOLAR', 'INT2', 5, { group: 0.3, zeroFolds: [0, 1] }),
  sparseCase('uint3w_int5x_6x12_pe1_simd2_dense', 6, 12, 1, 2, 'INT5', 'UINT3', 6, { group: 0 }),
  sparseCase('int8_4x32_pe4_simd1_few_steps', 4, 32, 4, 1, 'INT8', 'INT8', 7, { group: 0.95 }),
  sparseCase('int8_6x8_pe2_simd2_all_zero', 6, 8, 2, 2, 'INT8', 'INT8', 8, { group: 1 }),
  sparseCase('binaryw_int4x_8x8_pe8_simd2', 8, 8, 8, 2, 'INT4', 'BINARY', 9, { group: 0.5 }),
  sparseCase('int4_conv_4x18_pe2_simd3_3vectors', 4, 18, 2, 3, 'INT4', 'INT4', 10, { group: 0.6 }, 3),
];

/** The sparse cycle model written out independently: steps per vector, at least the input beats. */
function expectedCycles(c: LayerCase): number {
  const a = c.attrs as { rows: number; cols: number; pe: number; simd: number; vectors: number };
  const steps = nonzeroGroups(a, c.consts!.weights).reduce((s, g) => s + Math.max(1, g.length), 0);
  return a.vectors * Math.max(steps, a.cols / a.simd);
}

describe.skipIf(!haveVerilator)('sparse MVU RTL == reference, cycles == model', () => {
  it.each(cases.map((c, i) => [c.label, c, i] as const))('%s', async (_label, c, i) => {
    const res = await runLayerCase(c, 300 + i, 30);
    expectExact(res);
    expect(res.cycles).toBe(expectedCycles(c));
  });

  it('the patterns really skip: fewer cycles than dense, except where one row fold is input-bound', () => {
    const dense = (c: LayerCase) => { const a = c.attrs as { rows: number; cols: number; pe: number; simd: number; vectors: number }; return a.vectors * (a.rows / a.pe) * (a.cols / a.simd); };
    const notFaster = cases.filter((c) => expectedCycles(c) >= dense(c)).map((c) => c.label);
    // A single row fold already runs at one input beat per cycle: skipping cannot beat the input.
    expect(notFaster).toEqual(['int8_4x32_pe4_simd1_few_steps', 'binaryw_int4x_8x8_pe8_simd2']);
  });
});

describe.skipIf(!haveVerilator)('a generated design with sparse MVUs', () => {
  it('passes verilator --lint-only -Wall and names mvu_sparse.v and both ROM files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-sparse-lint-'));
    try {
      const df = lowerModel(zooModel('mlp_pruned90_int8_qdq'));
      const fold = Object.fromEntries(df.layers.filter((l) => l.kind === 'MVU').map((l) => [l.name, { pe: 1, simd: 2 }]));
      const d = compileDataflow(df, join(dir, 'd'), { fold, sparse: true });
      expect(d.manifest.files.filter((f) => f.startsWith('rtl/mvu'))).toEqual(['rtl/mvu_sparse.v', 'rtl/mvu_sparse_fc1_Gemm.v', 'rtl/mvu_sparse_fc2_Gemm.v', 'rtl/mvu_sparse_fc3_Gemm.v']);
      expect(readFileSync(join(dir, 'd/rtl/mvu_sparse_fc1_Gemm.v'), 'utf8')).toMatch(/INDEX_FILE/);
      const r = await execa(findTool('verilator')!, ['--lint-only', '-Wall', '--top-module', 'kiln_top', ...d.manifest.files], { cwd: join(dir, 'd'), reject: false, all: true });
      expect(r.all?.trim()).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
