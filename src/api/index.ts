// kiln's library API: `import { importModel, lower, fold, compile, simulate, estimate, synth, compress } from 'kiln'`
// (docs/api.md, examples/api.mjs). The CLI commands call these same functions; errors are KilnErrors
// with the same KLNxxxx codes and one-line messages the CLI prints.
import { fail } from '../diag/index.ts';
import { compileDataflow, type Design } from '../codegen/index.ts';
import { foldedDataflow } from '../dataflow/pipeline.ts';
import { checkOutputDir } from '../codegen/write.ts';
import { compress as compressGraph, type Recipe } from '../compress/index.ts';
import type { CheckedLayer } from '../exec/dataflow.ts';
import type { NetworkEstimate } from '../estimate/network.ts';
import { estimate, type Estimate, type EstimateOptions, type FoldOptions } from './estimate.ts';
import { isDataflow, isGraph } from './guards.ts';
import { importModel, lower, type ModelSource } from './model.ts';
import type { DataflowGraph } from '../ir/dataflow.ts';
import type { Graph } from '../ir/graph.ts';
import { makeTensor, type Tensor } from '../ir/tensor.ts';
import { markSparse } from '../dataflow/sparse.ts';
import { encodeModel } from '../onnx/load.ts';
import type { ImportOptions } from '../onnx/import.ts';
import { defaultFolding, type Folding } from '../dataflow/fold.ts';
import { autoFolding, knownDevices, type AutoFoldOptions } from '../dataflow/fold-auto.ts';
import type { LowerOptions } from '../passes/to-dataflow.ts';
import { synthDesign, type DesignSynth } from '../synth/design.ts';
import type { Family } from '../estimate/units.ts';
import { readTensorFile, writeTensorFile } from './tensors.ts';
import { simulate, type SimulationOptions, type SimulationSummary } from './simulate.ts';

export { KilnError, type Diagnostic } from '../diag/index.ts';
export type {
  AutoFoldOptions, DataflowGraph, Design, DesignSynth, Family, Folding, Graph, ImportOptions, LowerOptions,
  NetworkEstimate, Recipe, SimulationOptions, SimulationSummary, Tensor,
};
export { encodeModel, estimate, importModel, knownDevices, lower, makeTensor, simulate };
export type { ModelSource };
export type { Estimate, EstimateOptions, FoldOptions };

/** readTensor: a tensor file (.npy or ONNX TensorProto .pb), as `kiln exec` / `kiln sim` read it; writeTensor by the name's extension. */
export { readTensorFile as readTensor, writeTensorFile as writeTensor };

export interface Folded {
  /** The folding that was applied (give it to compile / estimate). */
  folding: Folding;
  /** The folded graph with width converters, as the design will have it. */
  graph: DataflowGraph;
  /** Per layer: the checked layer (ports, cycles). */
  layers: CheckedLayer[];
}

/** Resolves a folding (default, given, or auto) for a lowered graph and applies it (KLN errors on illegal PE/SIMD). */
export function fold(df: DataflowGraph, opts: FoldOptions = {}): Folded {
  const folding = resolveFolding(df, opts) ?? defaultFolding(opts.sparse ? markSparse(df) : df);
  const { df: graph, checked } = foldedDataflow(df, { fold: folding, sparse: opts.sparse });
  return { folding, graph, layers: checked };
}

function resolveFolding(df: DataflowGraph, opts: FoldOptions): Folding | undefined {
  return opts.auto ? autoFolding(opts.sparse ? markSparse(df) : df, opts.auto).folding : opts.folding;
}

export interface CompileOptions extends FoldOptions {
  /** Replace an existing output directory (else KLN1015). */
  force?: boolean;
  /** Dataflow passes (src/dataflow/pipeline.ts DATAFLOW_PASSES, or 'all') after which the printed IR goes to `dump` (default: stderr). */
  dumpAfter?: string[];
  dump?: (passName: string, irText: string) => void;
  /** Lowering options (when the model is not lowered yet). */
  lower?: LowerOptions;
  /**
   * Unrolled MVUs' adder graphs: the most LUT / CARRY4 cells between registers (--max-logic-levels;
   * default DEFAULT_MAX_LOGIC_LEVELS in src/layers/common/cmvm.ts, ~200 MHz on 7-series).
   */
  maxLogicLevels?: number;
}

/** The graph with every MVU's maxLogicLevels attr set (absent n: unchanged). */
function withLogicLevels(df: DataflowGraph, n: number | undefined): DataflowGraph {
  if (n === undefined) return df;
  if (!Number.isInteger(n) || n < 1) fail('BadArgument', `--max-logic-levels must be a positive integer, not ${n}`);
  return { ...df, layers: df.layers.map((l) => (l.kind === 'MVU' ? { ...l, attrs: { ...l.attrs, maxLogicLevels: n } } : l)) };
}

/**
 * The whole compile: import → lower → fold → RTL, weights, manifest.json, dataflow.json, report.json
 * and report.html into outDir. The directory is checked first and written atomically: a failed compile
 * leaves nothing behind.
 */
export function compile(model: ModelSource | DataflowGraph, outDir: string, opts: CompileOptions = {}): Design {
  checkOutputDir(outDir, opts.force ?? false);
  const df = withLogicLevels(isDataflow(model) ? model : lower(model, opts.lower), opts.maxLogicLevels);
  return compileDataflow(df, outDir, { fold: resolveFolding(df, opts), force: opts.force, sparse: opts.sparse, device: opts.auto?.device, dumpAfter: opts.dumpAfter, dump: opts.dump });
}

export interface SynthOptions {
  family?: Family;
  /** xc7: also each layer's logic depth (Yosys `ltp -noff`, cells between registers). */
  depth?: boolean;
  /** Also synthesize each layer out of context (default true). */
  layers?: boolean;
  onProgress?: (msg: string) => void;
}

/** Measures a compiled design's resources with Yosys (merged into its report.json / report.html). */
export function synth(dir: string, opts: SynthOptions = {}): Promise<DesignSynth> {
  return synthDesign(dir, opts.family ?? 'xc7', { layers: opts.layers, depth: opts.depth, onProgress: opts.onProgress });
}

export interface CompressOptions {
  /** Calibration inputs (one Float32Array per sample) for quantization. */
  calibration?: Float32Array[];
}

/**
 * Post-training compression of a float model (quantize, binarize, prune, low rank, weight sharing).
 * Returns the compressed graph (a copy; encodeModel gives its ONNX bytes) and a note per step.
 */
export function compress(model: ModelSource, recipe: Recipe, opts: CompressOptions = {}): { graph: Graph; notes: string[] } {
  return compressGraph(isGraph(model) ? model : importModel(model), recipe, opts);
}
