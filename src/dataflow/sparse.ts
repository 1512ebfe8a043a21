// Sparse MVU mode (`--sparse`, docs/compression.md): folded MVUs skip all-zero SIMD groups. Marked
// on every MVU that can use it before folding (so the default folding and the folding searches see
// the sparse cycles), kept after folding only where it saves cycles. The per-layer rules are the
// MVU's (src/layers/mvu.ts).
import type { DataflowGraph } from '../ir/dataflow.ts';
import { canBeSparse, sparseSavesCycles } from '../layers/mvu.ts';

/** Marks every MVU with zero weights for sparse mode (before folding, so fold searches see its cycles). */
export function markSparse(df: DataflowGraph): DataflowGraph {
  return { ...df, layers: df.layers.map((l) => (canBeSparse(l) ? { ...l, attrs: { ...l.attrs, sparse: 1 } } : l)) };
}

/** After folding: sparse mode stays only on MVUs where it saves cycles (it costs an index ROM). */
export function keepSparseWhereFaster(df: DataflowGraph): DataflowGraph {
  return {
    ...df,
    layers: df.layers.map((l) => (l.kind !== 'MVU' || l.attrs.sparse !== 1 || sparseSavesCycles(l) ? l : { ...l, attrs: { ...l.attrs, sparse: 0 } })),
  };
}
