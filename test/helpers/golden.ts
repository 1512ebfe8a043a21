// Shared helpers for golden tests: fixture paths, ONNX test_data_set_N folders, .npy rows, and
// tensor comparison with the project's tolerance (1e-4 abs + 1e-3 rel for float, exact otherwise).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { producers, runtimeInputs, type Graph, type Node } from '../../src/ir/graph.ts';
import { isFloat, makeTensor, numel, nums, type Tensor } from '../../src/ir/tensor.ts';
import { decodeNpy } from '../../src/io/npy.ts';
import { expandTo } from '../../src/exec/kernels/broadcast.ts';
import { roundHalfEven } from '../../src/exec/kernels/round.ts';
import { decodeTensorFile } from '../../src/onnx/tensor.ts';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

export const ZOO = join(FIXTURES, 'zoo');

/** The zoo models present in the fixtures, sorted. */
export function zooModels(): string[] {
  return readdirSync(ZOO).filter((m) => existsSync(join(ZOO, m, 'model.onnx'))).sort();
}

export const ATOL = 1e-4;
export const RTOL = 1e-3;

export function readPb(path: string): Tensor {
  return decodeTensorFile(readFileSync(path), path);
}

export function readNpy(path: string): Tensor {
  return decodeNpy(readFileSync(path), path);
}

export interface TestDataSet {
  name: string;
  /** input_K.pb in order (K-th runtime input of the graph). */
  inputs: Tensor[];
  /** output_K.pb in order (K-th graph output). */
  outputs: Tensor[];
}

/** The test_data_set_N folders next to `<stem>.onnx` (in `<stem>/`), each with its .pb files. */
export function loadTestDataSets(modelPath: string): TestDataSet[] {
  const dir = modelPath.replace(/\.onnx$/, '');
  if (!existsSync(dir)) return [];
  const byIndex = (files: string[], prefix: string) =>
    files.filter((f) => f.startsWith(prefix) && f.endsWith('.pb')).sort((a, b) => Number(a.slice(prefix.length, -3)) - Number(b.slice(prefix.length, -3)));
  return readdirSync(dir)
    .filter((d) => d.startsWith('test_data_set_'))
    .sort()
    .map((name) => {
      const files = readdirSync(join(dir, name));
      return {
        name,
        inputs: byIndex(files, 'input_').map((f) => readPb(join(dir, name, f))),
        outputs: byIndex(files, 'output_').map((f) => readPb(join(dir, name, f))),
      };
    });
}

/** Feeds for g from tensors given in runtime-input order. */
export function feedsFor(g: Graph, inputs: Tensor[]): Map<string, Tensor> {
  return new Map(runtimeInputs(g).map((vi, k) => [vi.name, inputs[k]]));
}

/** Row i (along dim 0) of t, keeping a leading dimension of 1: the batch-1 input of a zoo vector. */
export function row(t: Tensor, i: number): Tensor {
  const per = numel(t.shape.slice(1));
  return makeTensor(t.dtype, [1, ...t.shape.slice(1)], nums(t).subarray(i * per, (i + 1) * per));
}

export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

export function close(a: number, b: number, atol = ATOL, rtol = RTOL): boolean {
  return (Number.isNaN(a) && Number.isNaN(b)) || a === b || Math.abs(a - b) <= atol + rtol * Math.abs(b);
}

export interface Comparison {
  /** Elements outside tolerance (float) or unequal (integer). */
  bad: number;
  maxAbs: number;
  /** First problem, for the failure message; undefined when everything matches. */
  why?: string;
}

/**
 * Compare got with want: same shape (dims of 1 are ignored, so [1,10] matches [10]); float within
 * atol + rtol·|want|, integer types exactly. dtype must match unless `anyDtype`.
 */
export function compareTensors(got: Tensor | undefined, want: Tensor, opts: { atol?: number; rtol?: number; anyDtype?: boolean } = {}): Comparison {
  if (!got) return { bad: numel(want.shape), maxAbs: Infinity, why: 'no output' };
  if (!opts.anyDtype && got.dtype !== want.dtype) return { bad: numel(want.shape), maxAbs: Infinity, why: `dtype ${got.dtype}, want ${want.dtype}` };
  const squeeze = (s: number[]) => s.filter((d) => d !== 1).join(',');
  if (squeeze(got.shape) !== squeeze(want.shape)) return { bad: numel(want.shape), maxAbs: Infinity, why: `shape [${got.shape}], want [${want.shape}]` };
  const a = nums(got), b = nums(want);
  const exact = !isFloat(want.dtype);
  let bad = 0, maxAbs = 0, why: string | undefined;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > maxAbs) maxAbs = d;
    const ok = exact ? a[i] === b[i] : close(a[i], b[i], opts.atol ?? ATOL, opts.rtol ?? RTOL);
    if (!ok) {
      bad++;
      why ??= `element ${i}: ${a[i]}, want ${b[i]}`;
    }
  }
  return { bad, maxAbs, why };
}

/** An initializer, possibly behind Identity nodes (the zoo feeds zero points through Identity). */
export function constantOf(g: Graph, name: string): Tensor | undefined {
  const prod = producers(g);
  let n = prod.get(name);
  while (n && n.op === 'Identity') {
    name = n.inputs[0];
    n = prod.get(name);
  }
  return g.initializers.get(name);
}

/** The quantizer whose scale defines an output's integer grid, looking through Identity. */
export function quantizerOf(g: Graph, name: string): Node | undefined {
  const prod = producers(g);
  let n = prod.get(name);
  while (n && n.op === 'Identity') n = prod.get(n.inputs[0]);
  return n && ['Quant', 'IntQuant', 'BipolarQuant', 'DequantizeLinear'].includes(n.op) ? n : undefined;
}

/** Integer codes value/scale of a quantizer output (scale taken from the initializers). */
export function codes(g: Graph, q: Node, t: Tensor): Tensor | undefined {
  const scale = constantOf(g, q.inputs[1]);
  if (!scale) return undefined;
  // DequantizeLinear's 1-D scale lies along `axis`; QONNX scales broadcast numpy-style.
  let shaped = scale;
  if (q.op === 'DequantizeLinear' && scale.shape.length === 1 && scale.shape[0] > 1) {
    const a = q.attrs.axis?.kind === 'int' ? q.attrs.axis.v : 1;
    const axis = a < 0 ? a + t.shape.length : a;
    shaped = makeTensor(scale.dtype, t.shape.map((d, i) => (i === axis ? d : 1)), nums(scale));
  }
  const s = expandTo(shaped, t.shape);
  const v = nums(t);
  return makeTensor('int32', t.shape, Array.from(v, (x, i) => roundHalfEven(x / s[i])));
}

export interface ZooVectors {
  inputs: Tensor;
  outputs: Tensor;
  labels: Tensor;
  /** Original vector number of each fixture row. */
  index: Tensor;
  margin?: Tensor;
}

export function zooVectors(model: string): ZooVectors {
  const f = (n: string) => join(ZOO, model, n);
  return {
    inputs: readNpy(f('inputs.npy')),
    outputs: readNpy(f('outputs.npy')),
    labels: readNpy(f('labels.npy')),
    index: readNpy(f('index.npy')),
    margin: existsSync(f('rounding_margin.npy')) ? readNpy(f('rounding_margin.npy')) : undefined,
  };
}
