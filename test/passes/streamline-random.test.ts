// Random quantized MLPs lower exactly: integer dataflow executor == ONNX executor, 50 seeded cases.
import { describe, expect, it } from 'vitest';
import { randomMlp } from '../helpers/random-mlp.ts';
import { compareLowering } from './streamline-compare.ts';

describe('random quantized MLPs lower exactly', () => {
  const seeds = Array.from({ length: 50 }, (_, i) => 1000 + i);
  it.each(seeds)('seed %i', (seed) => {
    const { graph, inputs, description } = randomMlp(seed);
    const c = compareLowering(graph, inputs);
    // Power-of-two MAC scales make the float MatMul exact, so every code must match.
    expect(c.mismatches, description).toEqual([]);
    expect(c.codesEqual).toBe(c.elements);
    expect(c.maxRelError, description).toBeLessThan(2 ** -20);
  });
});
