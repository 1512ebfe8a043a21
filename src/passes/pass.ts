// What a pass is, for either IR: the ONNX Graph (passes/) or the dataflow graph (dataflow/). A pass
// rewrites its graph in place and says whether it changed anything; runPass runs one with the
// checks and dumps every pipeline shares (verify after the pass, print it for --dump-after).
import { InternalError } from '../diag/index.ts';
import type { Graph } from '../ir/graph.ts';

export interface Pass<G = Graph> {
  /** kebab-case, used in pipelines and in --dump-after. */
  name: string;
  run(g: G): boolean;
}

/** What the runner needs of an IR: its text form (--dump-after) and its checks (one line per problem). */
export interface PassIr<G> {
  print(g: G): string;
  problems(g: G): string[];
}

export interface RunPipelineOptions {
  /** Verify the graph after every pass; a problem is an InternalError naming the pass. */
  verify?: boolean;
  /** Pass names (or 'all') after which the printed IR is handed to `dump`. */
  dumpAfter?: string[];
  dump?: (passName: string, irText: string) => void;
}

/** Runs one pass on g: verified after it when asked (or KILN_VERIFY=1), printed when named in dumpAfter. */
export function runPass<G>(g: G, pass: Pass<G>, ir: PassIr<G>, opts: RunPipelineOptions): boolean {
  const changed = pass.run(g);
  if (opts.verify ?? process.env.KILN_VERIFY === '1') {
    const problems = ir.problems(g);
    if (problems.length) throw new InternalError(`graph invalid after pass '${pass.name}':\n${problems.join('\n')}`);
  }
  const dumpAfter = opts.dumpAfter ?? [];
  if (changed && (dumpAfter.includes(pass.name) || dumpAfter.includes('all'))) {
    (opts.dump ?? ((name, text) => process.stderr.write(`# after ${name}\n${text}`)))(pass.name, ir.print(g));
  }
  return changed;
}
