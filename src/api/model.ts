// The API's importModel and lower: an ONNX model (path, bytes or Graph) to kiln's dataflow graph.
import type { DataflowGraph } from '../ir/dataflow.ts';
import type { Graph } from '../ir/graph.ts';
import { decodeModel } from '../onnx/load.ts';
import { importGraph, importModel as importModelFile, type ImportOptions } from '../onnx/import.ts';
import { lowerModel, type LowerOptions } from '../passes/to-dataflow.ts';
import { isGraph } from './guards.ts';

/** An ONNX model: a file path, the file's bytes, or an already imported graph. */
export type ModelSource = string | Uint8Array | Graph;

/**
 * Loads and checks an ONNX model and tidies it (pipeline 'tidy-exact' by default: the one lowering
 * needs). Throws a KilnError listing every problem (unsupported ops with their node names, bad structure).
 */
export function importModel(model: string | Uint8Array, opts: ImportOptions = {}): Graph {
  const o = { pipeline: 'tidy-exact', ...opts };
  return typeof model === 'string' ? importModelFile(model, o) : importGraph(decodeModel(model), o).graph;
}

/** Streamlines an imported model into kiln's integer dataflow graph (thresholds, MVUs, …). */
export function lower(model: ModelSource, opts: LowerOptions = {}): DataflowGraph {
  const g = isGraph(model) ? model : importModel(model);
  return lowerModel(g, typeof model === 'string' ? { source: model, ...opts } : opts);
}
