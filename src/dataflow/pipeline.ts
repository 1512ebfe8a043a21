// The dataflow stage between lowering and codegen: the lowered graph → the folded, verified graph a
// design is built from (also for `kiln estimate` and the folding searches).
import type { DataflowGraph } from '../ir/dataflow.ts';
import { checkDataflow } from '../exec/dataflow.ts';
import { applyFolding, defaultFolding, type Folding } from './fold.ts';
import { keepSparseWhereFaster, markSparse } from './sparse.ts';
import { checkWiring, type CheckedLayer } from './verify.ts';
import { insertWidthConverters } from './width-converters.ts';

export interface FoldOptions {
  /** PE/SIMD per layer; layers not named keep their attrs. Omitted: the default folding (src/dataflow/fold.ts). */
  fold?: Folding;
  /** Sparse mode for folded MVUs where it saves cycles (skips all-zero SIMD groups; src/dataflow/sparse.ts). */
  sparse?: boolean;
}

/** The folded graph with width converters, as the design will have it, and its checked layers. */
export function foldedDataflow(graph: DataflowGraph, opts: FoldOptions = {}): { df: DataflowGraph; checked: CheckedLayer[] } {
  checkWiring(graph);
  const marked = opts.sparse ? markSparse(graph) : graph;
  const folded = opts.sparse ? keepSparseWhereFaster(applyFolding(marked, opts.fold ?? defaultFolding(marked))) : applyFolding(graph, opts.fold ?? defaultFolding(graph));
  const df = insertWidthConverters(folded);
  return { df, checked: checkDataflow(df) };
}
