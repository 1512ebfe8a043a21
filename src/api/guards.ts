// What kind of model the API was given: an imported Graph or a lowered DataflowGraph (else a path or bytes).
import type { DataflowGraph } from '../ir/dataflow.ts';
import type { Graph } from '../ir/graph.ts';

export function isGraph(m: unknown): m is Graph {
  return typeof m === 'object' && m !== null && Array.isArray((m as Graph).nodes) && (m as Graph).initializers instanceof Map;
}

export function isDataflow(m: unknown): m is DataflowGraph {
  return typeof m === 'object' && m !== null && Array.isArray((m as DataflowGraph).layers) && (m as DataflowGraph).streams instanceof Map;
}
