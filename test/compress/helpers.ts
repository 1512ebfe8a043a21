// Shared fixtures for the compression tests: zoo models and their 100 MNIST vectors.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';
import { runGraph } from '../../src/exec/run.ts';
import type { Graph } from '../../src/ir/graph.ts';
import { makeTensor, toNumbers } from '../../src/ir/tensor.ts';
import { decodeNpy, encodeNpy } from '../../src/io/npy.ts';
import { importModel } from '../../src/onnx/import.ts';
import { decodeModel, encodeModel } from '../../src/onnx/load.ts';
import { ZOO } from '../helpers/golden.ts';
import { kilnAsync } from '../unit/cli-helpers.ts';

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

/**
 * `kiln sim <design>` on the first 20 mlp_fp32 digits: RTL == integer reference (no mismatches), and
 * the simulated outputs equal onnxruntime's on `onnx` (the compressed model the design came from).
 * Returns sim's JSON summary.
 */
export async function simDigitsMatchOrt(design: string, onnx: string, dir: string): Promise<{ cyclesPerInference: number; estimate: { cyclesPerInference: number } }> {
  const digits = zooDigits('mlp_fp32').inputs.slice(0, 20);
  const x = join(dir, 'x.npy');
  const flat = new Float32Array(20 * 784);
  digits.forEach((d, i) => flat.set(d, i * 784));
  writeFileSync(x, encodeNpy(makeTensor('float32', [20, 784], flat)));
  const y = join(dir, 'y.npy');
  const s = await kilnAsync(['sim', design, '--in', x, '--out', y, '--json']);
  expect(s.code, s.stderr).toBe(0);
  const summary = JSON.parse(s.stdout);
  expect(summary).toMatchObject({ inferences: 20, mismatches: 0 });
  const sim = decodeNpy(readFileSync(y)).data as Float32Array;
  const ort = await ortOutputs(readFileSync(onnx), digits);
  ort.forEach((o, i) => o.forEach((v, j) => expect(Math.abs(sim[i * 10 + j] - v)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(v)))));
  return summary;
}
