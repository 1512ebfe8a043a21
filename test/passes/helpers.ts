// Shared by the pass tests: tiny graph builders, a seeded generator, and the qonnx pass-test pattern.
import { join } from 'node:path';
import { expect } from 'vitest';
import { runGraph } from '../../src/exec/run.ts';
import { emptyGraph, runtimeInputs, type Graph, type Node } from '../../src/ir/graph.ts';
import { makeTensor, nums, type Tensor } from '../../src/ir/tensor.ts';
import { verifyGraph } from '../../src/ir/verify.ts';
import { loadModel } from '../../src/onnx/load.ts';
import { FIXTURES, feedsFor, loadTestDataSets } from '../helpers/golden.ts';

export const node = (name: string, op: string, inputs: string[], outputs: string[], attrs: Node['attrs'] = {}): Node => ({ name, op, domain: '', inputs, outputs, attrs });

/** Deterministic pseudo-random numbers in [-1, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
}

export function randomTensor(shape: number[], r: () => number, lo = -1, hi = 1): Tensor {
  const t = makeTensor('float32', shape);
  const d = nums(t);
  for (let i = 0; i < d.length; i++) d[i] = lo + ((r() + 1) / 2) * (hi - lo);
  return t;
}

export function graphWithInput(name: string, shape: (number | string)[]): Graph {
  const g = emptyGraph();
  g.inputs.push({ name, dtype: 'float32', shape });
  return g;
}

export function fixtureModel(rel: string): { path: string; g: Graph } {
  const path = join(FIXTURES, rel);
  return { path, g: loadModel(path) };
}

/** Random feeds for every runtime input of g (float inputs only). */
export function randomFeeds(g: Graph, seed = 1): Map<string, Tensor> {
  const r = rng(seed);
  return new Map(runtimeInputs(g).map((i) => [i.name, randomTensor(i.shape as number[], r)]));
}

/** Feeds from the model's first golden test set, or random ones. */
export function feedsOf(path: string, g: Graph): Map<string, Tensor> {
  const [set] = loadTestDataSets(path);
  return set ? feedsFor(g, set.inputs) : randomFeeds(g);
}

export function outputsOf(g: Graph, feeds: Map<string, Tensor>): number[][] {
  const r = runGraph(g, feeds);
  return g.outputs.map((o) => Array.from(nums(r.get(o.name)!)));
}

export function expectClose(got: number[][], want: number[][], rel = 1e-5): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, k) => {
    expect(g.length).toBe(want[k].length);
    g.forEach((v, i) => {
      if (Math.abs(v - want[k][i]) > 1e-6 + rel * Math.abs(want[k][i])) expect.fail(`output ${k}[${i}] = ${v}, want ${want[k][i]}`);
    });
  });
}

export function expectValid(g: Graph): void {
  expect(verifyGraph(g)).toEqual([]);
}

export const ops = (g: Graph) => g.nodes.map((n) => n.op);
