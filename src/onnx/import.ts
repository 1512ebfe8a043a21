// Import = load the model file, check its structure, check that kiln can execute every op (listing
// ALL unsupported ops with their node names at once), then tidy it with a pass pipeline.
import { KilnError, type Diagnostic } from '../diag/index.ts';
import { unsupportedNodes } from '../exec/run.ts';
import type { Graph } from '../ir/graph.ts';
import { sortNodes, verifyGraph } from '../ir/verify.ts';
import type { Pipeline } from '../passes/pipelines.ts';
import { runPipeline, type RunPipelineOptions } from '../passes/runner.ts';
import { loadModel } from './load.ts';

export interface ImportOptions extends RunPipelineOptions {
  /** Pipeline to tidy with (default 'tidy'); [] to keep the graph as loaded. */
  pipeline?: Pipeline | string;
  /** Return a graph with unsupported ops (their diagnostics in `unsupported`) instead of throwing. */
  allowUnsupported?: boolean;
}

export interface Imported {
  graph: Graph;
  /** One KLN1003 per node kiln cannot execute (empty when the whole model is supported). */
  unsupported: Diagnostic[];
}

/** Checks a freshly loaded graph and tidies it. Throws a KilnError with every problem found. */
export function importGraph(g: Graph, opts: ImportOptions = {}): Imported {
  // ONNX requires topological order but some exporters do not keep it; a cycle is an error (KLN1006).
  sortNodes(g);
  const structural = verifyGraph(g);
  const unsupported = unsupportedNodes(g)?.diagnostics ?? [];
  if (structural.length || (unsupported.length && !opts.allowUnsupported)) throw new KilnError([...structural, ...unsupported]);
  runPipeline(g, opts.pipeline ?? 'tidy', opts);
  return { graph: g, unsupported };
}

/** Loads and imports a model file; throws on anything kiln cannot run. */
export function importModel(path: string, opts: ImportOptions = {}): Graph {
  return importGraph(loadModel(path), opts).graph;
}
