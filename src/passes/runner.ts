// Applies a pipeline to a graph: optional verification after every pass (tests turn it on, as
// does KILN_VERIFY=1) and a dump of the printed IR after chosen passes (--dump-after).
import { InternalError, KilnError } from '../diag/index.ts';
import type { Graph } from '../ir/graph.ts';
import { printGraph } from '../ir/print.ts';
import { verifyGraph } from '../ir/verify.ts';
import { runPass, type Pass, type PassIr, type RunPipelineOptions } from './pass.ts';
import { PASSES, PIPELINES, type Pipeline } from './pipelines.ts';

export type { RunPipelineOptions };

export const MAX_ROUNDS = 20;

/** The ONNX IR for the pass runner: printed as src/ir/print.ts, checked by src/ir/verify.ts. */
const onnxIr: PassIr<Graph> = {
  print: printGraph,
  problems: (g) => verifyGraph(g).map((d) => `${d.code} ${d.message}${d.node ? ` at node '${d.node}'` : ''}`),
};

export function passByName(name: string): Pass {
  const p = PASSES.find((x) => x.name === name);
  if (!p) throw new KilnError({ code: 'KLN1014', message: `unknown pass '${name}' (known: ${PASSES.map((x) => x.name).join(', ')})` });
  return p;
}

export function pipelineByName(name: string): Pipeline {
  const p = PIPELINES[name];
  if (!p) throw new KilnError({ code: 'KLN1014', message: `unknown pipeline '${name}' (known: ${Object.keys(PIPELINES).join(', ')})` });
  return p;
}

function runOne(g: Graph, pass: Pass, opts: RunPipelineOptions): boolean {
  return runPass(g, pass, onnxIr, opts);
}

/** Runs the pipeline on g in place; returns whether anything changed. */
export function runPipeline(g: Graph, pipeline: Pipeline | string, opts: RunPipelineOptions = {}): boolean {
  const steps = typeof pipeline === 'string' ? pipelineByName(pipeline) : pipeline;
  for (const name of opts.dumpAfter ?? []) if (name !== 'all') passByName(name);
  let any = false;
  for (const step of steps) {
    if (typeof step === 'string') {
      any = runOne(g, passByName(step), opts) || any;
      continue;
    }
    const passes = step.map(passByName);
    for (let round = 0; ; round++) {
      if (round === MAX_ROUNDS) throw new InternalError(`passes ${step.join(', ')} did not settle after ${MAX_ROUNDS} rounds`);
      let changed = false;
      for (const p of passes) changed = runOne(g, p, opts) || changed;
      any ||= changed;
      if (!changed) break;
    }
  }
  return any;
}
