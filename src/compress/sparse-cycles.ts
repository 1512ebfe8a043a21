// What the folded sparse MVU mode (hw/mvu/mvu_sparse.v) buys a design: per folding, the dense and the
// sparse estimated II, and per MVU the fraction of all-zero SIMD groups (PE rows × SIMD inputs of one
// row fold) and the all-zero row folds (which still cost one step each). The bottleneck MVU's
// sparse cycles are its nonzero groups plus its all-zero row folds (at least its input beats), so the
// cycles fall in proportion to the all-zero groups. `scripts/sparse-cycles.ts` adds the simulation.
import type { DataflowGraph } from '../ir/dataflow.ts';
import { nonzeroGroups } from '../layers/common/mvu-weights.ts';
import type { Folding } from '../dataflow/fold.ts';
import { foldedDataflow } from '../dataflow/pipeline.ts';
import { estimateNetwork } from '../estimate/network.ts';

export interface SparseLayerStudy {
  name: string;
  groups: number;
  zeroGroups: number;
  zeroFolds: number;
  denseCycles: number;
  sparseCycles: number;
}

export interface SparseStudy {
  denseII: number;
  sparseII: number;
  layers: SparseLayerStudy[];
}

/** Dense vs sparse II of `df` under `fold` (the estimates the simulation must reproduce exactly). */
export function sparseStudy(df: DataflowGraph, fold: Folding): SparseStudy {
  const dense = foldedDataflow(df, { fold });
  const sparse = foldedDataflow(df, { fold, sparse: true });
  const layers = dense.checked.filter((c) => c.layer.kind === 'MVU').map((c) => {
    const a = c.attrs as { rows: number; cols: number; pe: number; simd: number; vectors: number };
    const folds = nonzeroGroups(a, c.layer.consts.weights);
    const sf = a.cols / a.simd;
    const nonzero = folds.reduce((s, g) => s + g.length, 0);
    const zeroFolds = folds.filter((g) => g.length === 0).length;
    return {
      name: c.layer.name,
      groups: folds.length * sf,
      zeroGroups: folds.length * sf - nonzero,
      zeroFolds,
      denseCycles: a.vectors * folds.length * sf,
      sparseCycles: a.vectors * Math.max(nonzero + zeroFolds, sf),
    };
  });
  return { denseII: estimateNetwork(dense.df, dense.checked).cyclesPerInference, sparseII: estimateNetwork(sparse.df, sparse.checked).cyclesPerInference, layers };
}

/** The same PE and SIMD for every MVU, or the largest divisor of its rows / cols below them. */
export function uniformFolding(df: DataflowGraph, pe: number, simd: number): Folding {
  const fit = (n: number, d: number) => { let k = Math.min(n, d); while (n % k) k--; return k; };
  return Object.fromEntries(df.layers.filter((l) => l.kind === 'MVU').map((l) => [l.name, { pe: fit(l.attrs.rows as number, pe), simd: fit(l.attrs.cols as number, simd) }]));
}
