// Applies a pipeline to a graph: optional verification after every pass (tests turn it on, as
// does KILN_VERIFY=1) and a dump of the printed IR after chosen passes (--dump-after).
import { InternalError, KilnError } from '../diag/index.ts';
import type { Graph } from '../ir/graph.ts';
import { printGraph } from '../ir/print.ts';
import { verifyGraph } from '../ir/verify.ts';
import type { Pass } from './pass.ts';
import { PASSES, PIPELINES, type Pipeline } from './pipelines.ts';

export const MAX_ROUNDS = 20;

export interface RunPipelineOptions {
  /** Verify the graph after every pass; a problem is an InternalError naming the pass. */
  verify?: boolean;
  /** Pass names (or 'all') after which the printed IR is handed to `dump`. */
  dumpAfter?: string[];
  dump?: (passName: string, irText: string) => void;
}

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
  const changed = pass.run(g);
  if (opts.verify ?? process.env.KILN_VERIFY === '1') {
    const diags = verifyGraph(g);
    if (diags.length) {
      throw new InternalError(`graph invalid after pass '${pass.name}':\n${diags.map((d) => `${d.code} ${d.message}${d.node ? ` at node '${d.node}'` : ''}`).join('\n')}`);
    }
  }
  const dumpAfter = opts.dumpAfter ?? [];
  if (changed && (dumpAfter.includes(pass.name) || dumpAfter.includes('all'))) {
    (opts.dump ?? ((name, text) => process.stderr.write(`# after ${name}\n${text}`)))(pass.name, printGraph(g));
  }
  return changed;
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
