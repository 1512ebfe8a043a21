// The dataflow stage between lowering and codegen: the lowered graph → the folded, verified graph a
// design is built from (also for `kiln estimate` and the folding searches). The steps are passes
// (src/passes/pass.ts) under the same runner as the ONNX passes: verified after each one when asked
// (tests, KILN_VERIFY=1) and printed for `--dump-after <pass>` (src/ir/print-dataflow.ts).
import { fail, KilnError } from '../diag/index.ts';
import type { DataflowGraph } from '../ir/dataflow.ts';
import { printDataflow } from '../ir/print-dataflow.ts';
import { runPass, type Pass, type PassIr, type RunPipelineOptions } from '../passes/pass.ts';
import { defaultFolding, foldFifos, setFolding, type Folding } from './fold.ts';
import { keepSparseWhereFaster, markSparse } from './sparse.ts';
import { checkWiring, verifyDataflow, type CheckedLayer } from './verify.ts';
import { insertWidthConverters } from './width-converters.ts';

export interface FoldOptions {
  /** PE/SIMD per layer; layers not named keep their attrs. Omitted: the default folding (src/dataflow/fold.ts). */
  fold?: Folding;
  /** Sparse mode for folded MVUs where it saves cycles (skips all-zero SIMD groups; src/dataflow/sparse.ts). */
  sparse?: boolean;
}

/** The dataflow passes in the order they run (the names --dump-after takes). */
export const DATAFLOW_PASSES = ['mark-sparse', 'fold', 'fifos', 'keep-sparse', 'width-converters'] as const;

/** The dataflow IR for the pass runner. */
const dataflowIr: PassIr<DataflowGraph> = {
  print: printDataflow,
  problems: (df) => {
    try {
      verifyDataflow(df);
      return [];
    } catch (e) {
      if (e instanceof KilnError) return e.diagnostics.map((d) => `${d.code} ${d.message}${d.node ? ` at layer '${d.node}'` : ''}`);
      throw e;
    }
  },
};

/** The passes for one folding: each replaces the graph's fields with its result (in place, as passes do). */
function foldPasses(opts: FoldOptions): Pass<DataflowGraph>[] {
  const replace = (df: DataflowGraph, next: DataflowGraph): boolean => {
    const changed = next.layers !== df.layers || next.streams !== df.streams;
    Object.assign(df, next);
    return changed;
  };
  let folded = new Set<string>(); // layers the 'fold' pass changed, whose FIFOs 'fifos' re-sizes
  const passes: Record<(typeof DATAFLOW_PASSES)[number], (df: DataflowGraph) => boolean> = {
    'mark-sparse': (df) => opts.sparse === true && replace(df, markSparse(df)),
    fold: (df) => {
      const r = setFolding(df, opts.fold ?? defaultFolding(df));
      folded = r.changed;
      return replace(df, r.df);
    },
    fifos: (df) => replace(df, foldFifos(df, folded)),
    'keep-sparse': (df) => opts.sparse === true && replace(df, keepSparseWhereFaster(df)),
    'width-converters': (df) => {
      const n = df.layers.length;
      replace(df, insertWidthConverters(df));
      return df.layers.length !== n;
    },
  };
  return DATAFLOW_PASSES.map((name) => ({ name, run: passes[name] }));
}

/** The folded graph with width converters, as the design will have it, and its checked layers. */
export function foldedDataflow(graph: DataflowGraph, opts: FoldOptions & RunPipelineOptions = {}): { df: DataflowGraph; checked: CheckedLayer[] } {
  for (const name of opts.dumpAfter ?? []) {
    if (name !== 'all' && !(DATAFLOW_PASSES as readonly string[]).includes(name)) {
      fail('BadArgument', `unknown dataflow pass '${name}' (known: ${DATAFLOW_PASSES.join(', ')}, or all)`);
    }
  }
  checkWiring(graph);
  const df = { ...graph }; // the passes replace its fields, never the lowered graph's
  for (const pass of foldPasses(opts)) runPass(df, pass, dataflowIr, opts);
  return { df, checked: verifyDataflow(df) };
}
