// The pass runner: pipelines as data, fixed points with a cap, --verify after each pass, dumps.
import { describe, expect, it } from 'vitest';
import { InternalError, KilnError } from '../../src/diag/index.ts';
import { PASSES, PIPELINES, tidy } from '../../src/passes/pipelines.ts';
import { MAX_ROUNDS, runPipeline } from '../../src/passes/runner.ts';
import type { Pass } from '../../src/passes/pass.ts';
import { makeTensor } from '../../src/ir/tensor.ts';
import { graphWithInput, node } from './helpers.ts';

function small() {
  const g = graphWithInput('x', [1, 2]);
  g.initializers.set('a', makeTensor('float32', [2], [1, 2]));
  g.nodes.push(node('neg', 'Neg', ['a'], ['na']), node('add', 'Add', ['x', 'na'], ['y']), node('dead', 'Relu', ['x'], ['unused']));
  g.outputs.push({ name: 'y', dtype: 'float32' });
  return g;
}

describe('runPipeline', () => {
  it('every pipeline names only registered passes', () => {
    const names = new Set(PASSES.map((p) => p.name));
    for (const [name, steps] of Object.entries(PIPELINES)) {
      for (const s of steps.flat()) expect(names.has(s), `${name}: ${s}`).toBe(true);
    }
    expect(tidy).toContain('fold-batchnorm');
    expect(PIPELINES['tidy-exact']).not.toContain('fold-batchnorm');
  });

  it('runs tidy, says it changed the graph, and dumps the IR after the named pass only when it changed something', () => {
    const g = small();
    const dumps: string[] = [];
    expect(runPipeline(g, 'tidy', { verify: true, dumpAfter: ['fold-constants', 'dce'], dump: (p, text) => dumps.push(`${p}:${text.split('\n')[0]}`) })).toBe(true);
    expect(g.nodes.map((n) => n.op)).toEqual(['Add']);
    expect(g.outputs[0].shape).toEqual([1, 2]);
    expect(dumps).toEqual(['fold-constants:kiln-ir 1', 'dce:kiln-ir 1']);
    expect(runPipeline(g, 'tidy')).toBe(false);
  });

  it('verification after a pass that breaks the graph names the pass', () => {
    const breaker: Pass = { name: 'dce', run: (g) => ((g.nodes[0].inputs = ['ghost']), true) };
    const idx = PASSES.findIndex((p) => p.name === 'dce');
    const saved = PASSES[idx];
    PASSES[idx] = breaker;
    try {
      expect(() => runPipeline(small(), ['dce'], { verify: true })).toThrow(InternalError);
      expect(() => runPipeline(small(), ['dce'], { verify: true })).toThrow(/graph invalid after pass 'dce':\nKLN1007 tensor 'ghost' used by Neg/);
    } finally {
      PASSES[idx] = saved;
    }
  });

  it(`a fixed point that never settles stops after ${MAX_ROUNDS} rounds`, () => {
    const restless: Pass = { name: 'dce', run: () => true };
    const idx = PASSES.findIndex((p) => p.name === 'dce');
    const saved = PASSES[idx];
    PASSES[idx] = restless;
    try {
      expect(() => runPipeline(small(), [['dce']])).toThrow(`passes dce did not settle after ${MAX_ROUNDS} rounds`);
    } finally {
      PASSES[idx] = saved;
    }
  });

  it('unknown pipelines and passes are user errors (KLN1014)', () => {
    expect(() => runPipeline(small(), 'nope')).toThrow(KilnError);
    expect(() => runPipeline(small(), 'nope')).toThrow("KLN1014 unknown pipeline 'nope' (known: tidy, tidy-exact");
    expect(() => runPipeline(small(), ['fold-everything'])).toThrow("KLN1014 unknown pass 'fold-everything'");
  });
});
