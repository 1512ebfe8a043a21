// Random quantized MLPs lower exactly: integer dataflow executor == ONNX executor, 50 seeded cases.
import { describe, expect, it } from 'vitest';
import { randomMlp } from '../helpers/random-mlp.ts';
import { compareLowering } from './streamline-compare.ts';

const seen = new Set<string>();

describe('random quantized MLPs lower exactly', () => {
  const seeds = Array.from({ length: 50 }, (_, i) => 1000 + i);
  it.each(seeds)('seed %i', (seed) => {
    const { graph, inputs, description } = randomMlp(seed);
    const c = compareLowering(graph, inputs);
    for (const l of c.plan.layers) {
      seen.add(`w:${l.weightType.kind}`);
      seen.add(`act:${l.act.kind}`);
      if (l.act.kind === 'threshold' && l.act.thresholds[0].length > 1) seen.add('multi-threshold');
    }
    // Power-of-two MAC scales make the float MatMul exact, so every code must match.
    expect(c.mismatches, description).toEqual([]);
    expect(c.codesEqual).toBe(c.elements);
    expect(c.maxRelError, description).toBeLessThan(2 ** -20);
  });
});

describe('the 50 cases cover', () => {
  it('every weight kind and activation form', () => {
    for (const k of ['w:BIPOLAR', 'w:TERNARY', 'w:INT', 'act:threshold', 'act:requant', 'act:none', 'multi-threshold']) expect(seen, k).toContain(k);
  });
});
