// The shape of an op implementation, apart from the op table (registry.ts) so the op files under
// ./ops import it without importing the registry that imports them.
import type { Node } from '../ir/graph.ts';
import type { Tensor } from '../ir/tensor.ts';

export interface ExecContext {
  /** ai.onnx opset of the model (semantics of some ops changed between opsets). */
  opset: number;
}

/** Inputs arrive in node order; an omitted optional input is undefined. */
export type OpImpl = (node: Node, inputs: (Tensor | undefined)[], ctx: ExecContext) => Tensor[];

export type OpTable = Record<string, OpImpl>;
