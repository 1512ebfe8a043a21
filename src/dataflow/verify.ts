// Checks on a dataflow graph: the wiring the top level needs (point-to-point streams) and the
// structure every layer needs (attrs, consts and ports agree with its streams: exec/dataflow.ts).
import { fail } from '../diag/index.ts';
import type { DataflowGraph } from '../ir/dataflow.ts';
import { checkDataflow, type CheckedLayer } from '../exec/dataflow.ts';

export type { CheckedLayer };

/**
 * The top level wires streams point to point: one graph input and one output, every stream read by
 * exactly one layer (or the graph output) and written by one layer (or the graph input), layers in
 * topological order. Fan-out is an explicit Duplicate layer; joins are multi-input layers (AddStreams).
 */
export function checkWiring(df: DataflowGraph): void {
  if (df.inputs.length !== 1 || df.outputs.length !== 1) {
    fail('CannotLower', `hardware designs take one input and one output stream, not ${df.inputs.length} and ${df.outputs.length}`);
  }
  if (df.layers.length === 0) fail('CannotLower', 'the dataflow graph has no layers');
  const produced = new Set(df.inputs);
  const readers = new Map<string, number>();
  for (const l of df.layers) {
    for (const s of l.inputs) {
      if (!produced.has(s)) fail('CannotLower', `layer reads stream '${s}' before any layer writes it (layers must be in topological order)`, l.name);
      readers.set(s, (readers.get(s) ?? 0) + 1);
    }
    for (const s of l.outputs) {
      if (produced.has(s)) fail('CannotLower', `stream '${s}' is written twice`, l.name);
      produced.add(s);
    }
  }
  const out = df.outputs[0];
  if (!produced.has(out)) fail('CannotLower', `no layer writes the graph output '${out}'`);
  readers.set(out, (readers.get(out) ?? 0) + 1);
  for (const s of produced) {
    const n = readers.get(s) ?? 0;
    if (n === 0) fail('CannotLower', `stream '${s}' is never read (every stream needs exactly one reader)`);
    if (n > 1) fail('CannotLower', `stream '${s}' has ${n} readers; a stream feeds one layer (fan-out needs a Duplicate layer)`);
  }
}

/** Wiring, then every layer's structure; the checked layers are what codegen and the estimates read. */
export function verifyDataflow(df: DataflowGraph): CheckedLayer[] {
  checkWiring(df);
  return checkDataflow(df);
}
