// Rule dataflow-graph: what the driver walks. One run-time input and one output; the data path is a
// chain of layers, or (residual blocks) a DAG whose branches leave layer outputs and meet again at
// two-input Add / Concat joins. Refusals of the graph as a whole name this rule.
import type { LoweringRule } from './rule.ts';

export const dataflowGraphRule: LoweringRule = {
  name: 'dataflow-graph',
  doc: 'The run-time path is one input to one output: a chain of layers, or a DAG whose branches leave layer outputs and meet at two-input joins.',
  matches: 'one run-time input, one graph output, at least one layer (MatMul/Gemm/Conv/pooling); fan-out only from a layer output',
  emits: 'the dataflow graph: a chain of stream layers, duplicated accumulators and bypass FIFOs for branches',
  tests: ['test/passes/streamline-passes.test.ts', 'test/passes/lower-cnn.test.ts'],
  ops: new Set(),
};
