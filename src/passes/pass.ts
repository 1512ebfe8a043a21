// What a pass is. Every pass rewrites a Graph in place and says whether it changed anything.
import type { Graph } from '../ir/graph.ts';

export interface Pass {
  /** kebab-case, used in pipelines and in --dump-after. */
  name: string;
  run(g: Graph): boolean;
}
