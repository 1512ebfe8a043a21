// The API's estimate (re-exported by src/api/index.ts) and `kiln estimate`'s handler: a module of its
// own, light to load (no ONNX importer, simulator or synthesis: `kiln estimate` must start fast). The
// importer and lowering load only on a lowered-model cache miss, auto-folding only with `auto`.
import { foldedDataflow } from '../dataflow/pipeline.ts';
import { estimateNetwork, type NetworkEstimate } from '../estimate/network.ts';
import { fps as fpsAt } from '../estimate/perf.ts';
import type { DataflowGraph } from '../ir/dataflow.ts';
import type { Graph } from '../ir/graph.ts';
import type { Folding } from '../dataflow/fold.ts';
import type { AutoFoldOptions } from '../dataflow/fold-auto.ts';
import { isDataflow } from './guards.ts';
import { loweredModel } from './lowered.ts';

export interface FoldOptions {
  /** PE/SIMD per layer; layers not named keep the default folding. */
  folding?: Folding;
  /** Choose PE/SIMD for a target FPS on a device (src/dataflow/fold-auto.ts); `folding` is then ignored. */
  auto?: AutoFoldOptions;
  /** Folded MVUs skip all-zero SIMD groups where that saves cycles. */
  sparse?: boolean;
}

export interface EstimateOptions extends FoldOptions {
  /** Clock for the FPS figure (MHz, default 200). */
  clockMHz?: number;
}

export type Estimate = NetworkEstimate & { clockMHz: number; fps: number };

/**
 * Cycles, II, first-output latency, FPS and per-layer resources (xc7 and iCE40) without writing RTL.
 * A model path is lowered through `kiln estimate`'s cache of lowered models; a Graph or ONNX bytes are
 * imported and lowered, a DataflowGraph is used as it is.
 */
export async function estimate(model: string | Uint8Array | Graph | DataflowGraph, opts: EstimateOptions = {}): Promise<Estimate> {
  let df: DataflowGraph;
  if (isDataflow(model)) df = model;
  else if (typeof model === 'string') df = await loweredModel(model);
  else df = (await import('./model.ts')).lower(model);
  const fold = opts.auto ? (await import('../dataflow/fold-auto.ts')).autoFolding(df, opts.auto).folding : opts.folding;
  const { df: folded, checked } = foldedDataflow(df, { fold, sparse: opts.sparse });
  const e = estimateNetwork(folded, checked);
  const clockMHz = opts.clockMHz ?? 200;
  return { ...e, clockMHz, fps: fpsAt(e.cyclesPerInference, clockMHz) };
}
