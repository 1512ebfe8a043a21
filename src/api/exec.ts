// The ONNX-level reference executor on tensor files (`kiln exec` and the API): one input file per
// runtime input, batched over dim 0 when a batch-1 model is given N stacked samples.
import { extname } from 'node:path';
import { fail } from '../diag/index.ts';
import { runGraph } from '../exec/run.ts';
import { runtimeInputs, type Graph, type ValueInfo } from '../ir/graph.ts';
import { printType } from '../ir/print.ts';
import { makeTensor, numel, type Tensor } from '../ir/tensor.ts';
import { readTensorFile } from './tensors.ts';

/**
 * The batch size N of a file for input `decl`: N = 1 normally; N > 1 when the model takes one
 * sample (dim 0 is 1) and the file stacks N of them. Any other difference is a KLN1012 error.
 */
export function checkInput(decl: ValueInfo, t: Tensor, file: string): number {
  const given = printType(t.dtype, t.shape);
  const want = printType(decl.dtype, decl.shape);
  const bad = () => fail('InputMismatch', `input '${decl.name}' expects ${want}, but '${file}' holds ${given}`);
  if (t.dtype !== decl.dtype) bad();
  const shape = decl.shape;
  if (!shape) return 1;
  if (shape.length !== t.shape.length) bad();
  for (let i = 1; i < shape.length; i++) if (typeof shape[i] === 'number' && shape[i] !== t.shape[i]) bad();
  if (shape.length === 0 || typeof shape[0] === 'string' || shape[0] === t.shape[0]) return 1;
  if (shape[0] === 1 && t.shape[0] > 1) return t.shape[0];
  return bad();
}

function sliceRow(t: Tensor, i: number): Tensor {
  const row = numel(t.shape.slice(1));
  const data = (t.data as Float64Array).subarray(i * row, (i + 1) * row);
  return makeTensor(t.dtype, [1, ...t.shape.slice(1)], data);
}

function stack(parts: Tensor[]): Tensor {
  const first = parts[0];
  const rest = first.shape.length > 0 && first.shape[0] === 1 ? first.shape.slice(1) : first.shape;
  const t = makeTensor(first.dtype, [parts.length, ...rest]);
  const row = numel(rest);
  parts.forEach((p, i) => (t.data as Float64Array).set(p.data as Float64Array, i * row));
  return t;
}

/** Runs g on the files' tensors (one per runtime input, in order), batching over dim 0 when needed. */
export function execGraph(g: Graph, files: string[]): Map<string, Tensor> {
  const decls = runtimeInputs(g);
  if (files.length !== decls.length) {
    fail('InputMismatch', `the model has ${decls.length} input${decls.length === 1 ? '' : 's'} (${decls.map((d) => `'${d.name}'`).join(', ')}), but ${files.length} input file${files.length === 1 ? ' was' : 's were'} given`);
  }
  const tensors = files.map(readTensorFile);
  const batches = decls.map((d, i) => checkInput(d, tensors[i], files[i]));
  const n = Math.max(...batches, 1);
  if (batches.some((b) => b !== 1 && b !== n)) {
    fail('InputMismatch', `input files stack different numbers of samples (${batches.join(', ')})`);
  }
  if (n === 1) return runGraph(g, new Map(decls.map((d, i) => [d.name, tensors[i]])));
  const runs: Map<string, Tensor>[] = [];
  for (let r = 0; r < n; r++) {
    runs.push(runGraph(g, new Map(decls.map((d, i) => [d.name, batches[i] > 1 ? sliceRow(tensors[i], r) : tensors[i]]))));
  }
  return new Map(g.outputs.map((o) => [o.name, stack(runs.map((m) => m.get(o.name)!))]));
}

/**
 * Output file names: one --out per graph output; or a single --out 'y.npy' for several outputs,
 * which writes y.npy, y_1.npy, y_2.npy, … in output order.
 */
export function outputPaths(outs: string[], count: number): string[] {
  if (outs.length === count) return outs;
  if (outs.length === 1) {
    const ext = extname(outs[0]);
    const stem = outs[0].slice(0, outs[0].length - ext.length);
    return Array.from({ length: count }, (_, i) => (i === 0 ? outs[0] : `${stem}_${i}${ext}`));
  }
  fail('BadArgument', `the model has ${count} outputs, but ${outs.length} --out files were given (give ${count}, or one to number them)`);
}
