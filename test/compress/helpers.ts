// Shared fixtures for the compression tests: zoo models and their 100 MNIST vectors.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { runGraph } from '../../src/exec/run.ts';
import type { Graph } from '../../src/ir/graph.ts';
import { makeTensor, toNumbers } from '../../src/ir/tensor.ts';
import { decodeNpy } from '../../src/io/npy.ts';
import { importModel } from '../../src/onnx/import.ts';
import { decodeModel, encodeModel } from '../../src/onnx/load.ts';
import { ZOO } from '../helpers/golden.ts';

export const zooPath = (m: string, f = 'model.onnx') => join(ZOO, m, f);

export function zooModel(m: string): Graph {
  return importModel(zooPath(m), { pipeline: 'tidy-exact' });
}

/** The zoo's first 100 test digits as per-inference vectors, and their labels. */
export function zooDigits(m: string): { inputs: Float32Array[]; labels: number[] } {
  const x = decodeNpy(readFileSync(zooPath(m, 'inputs.npy')));
  const y = decodeNpy(readFileSync(zooPath(m, 'labels.npy')));
  const per = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const data = x.data as Float32Array;
  return { inputs: Array.from({ length: x.shape[0] }, (_, i) => data.slice(i * per, (i + 1) * per)), labels: toNumbers(y) };
}

function inputShape(g: Graph): number[] {
  return (g.inputs[0].shape ?? []).map((d) => (typeof d === 'number' ? d : 1));
}

/** kiln's reference executor on the model as written to bytes and read back. */
export function kilnOutputs(bytes: Uint8Array, inputs: Float32Array[]): Float32Array[] {
  const g = decodeModel(bytes);
  const shape = inputShape(g);
  return inputs.map((x) => Float32Array.from(toNumbers(runGraph(g, new Map([[g.inputs[0].name, makeTensor('float32', shape, x)]])).get(g.outputs[0].name)!)));
}

/** onnxruntime-node on the same bytes, graph optimizations off. */
export async function ortOutputs(bytes: Uint8Array, inputs: Float32Array[]): Promise<Float32Array[]> {
  const g = decodeModel(bytes);
  const shape = inputShape(g);
  const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' });
  const out: Float32Array[] = [];
  for (const x of inputs) {
    const r = await s.run({ [g.inputs[0].name]: new ort.Tensor('float32', x, shape) });
    out.push(Float32Array.from(r[g.outputs[0].name].data as Float32Array));
  }
  await s.release();
  return out;
}

export { encodeModel };
