// A lowering rule: one class of ONNX patterns and what it becomes. The rules are data (listed in
// ./index.ts, the order the driver src/passes/streamline.ts consults them): docs/lowering.md is
// generated from the list, and every op on a model's run-time path must be claimed by a rule.
import type { QType } from '../../ir/datatype.ts';
import type { OutputAffine } from '../../ir/dataflow.ts';
import type { Node } from '../../ir/graph.ts';
import type { Chain } from '../chain.ts';
import type { CodeModel, CodeOp, InSide, LayerPlan, MacWeights, StreamlineOptions } from '../plan.ts';
import type { ChannelRange } from '../thresholds.ts';
import type { GraphView } from '../view.ts';

export interface LoweringRule {
  /** Stable id (kebab-case): names the rule in docs/lowering.md. */
  name: string;
  /** One line: what the rule does and why it is exact. */
  doc: string;
  /** The ONNX patterns it covers. */
  matches: string;
  /** The hardware (or host work) it produces. */
  emits: string;
  /** Test files that pin it. */
  tests: string[];
  /** ONNX ops on the run-time path this rule claims (the first rule claiming an op checks it). */
  ops: ReadonlySet<string>;
  /** Why node n, its run-time input at index `dyn`, is out of this rule's reach, and the fix; undefined = in reach. */
  operand?(n: Node, dyn: number): { reason: string; fix: string } | undefined;
}

/** A rule for a layer node (an integer sum: MAC, pooling, join): its weights as rows × columns. */
export interface LayerRule extends LoweringRule {
  /** The zero point of the layer's input codes (default: the input code model's); may refuse the input. */
  inputZero?(v: GraphView, mac: Node, input: InSide): number;
  weights(v: GraphView, mac: Node, input: InSide, notes: string[]): MacWeights;
  /** Float ops the layer itself applies after its sum (Gemm's alpha and bias, QLinearMatMul's requantization). */
  chainPrefix?(v: GraphView, mac: Node, chain: Chain, rows: number): void;
}

export const isLayerRule = (r: LoweringRule): r is LayerRule => 'weights' in r;

/** The shared operand rule of weighted layers: the run-time vector comes first. */
export const runtimeFirst = (what: string) => (_n: Node, dyn: number): { reason: string; fix: string } | undefined =>
  (dyn === 0 ? undefined : { reason: what, fix: 'give the run-time tensor as the first input, constants after it' });

/**
 * One layer being lowered, as the driver hands it to the rule that produces its activation
 * (activation, integer-composition, output): the layer's sum v = α[r]·acc + β[r] per row and the
 * float chain after it.
 */
export interface LayerCtx {
  v: GraphView;
  mac: Node;
  /** The float chain after the layer (code ops split off). */
  chainNodes: Node[];
  /** MaxPool / Pad nodes acting on the activation's codes. */
  codeNodes: Node[];
  /** The layer ends at the graph output. */
  last: boolean;
  input: InSide;
  opts: StreamlineOptions;
  notes: string[];
  mw: MacWeights;
  chain: Chain;
  alpha: number[];
  beta: number[];
  origin: string[];
  /** LayerPlan fields of the hardware unit (unit, window, concat, global). */
  unitFields: Pick<LayerPlan, 'unit' | 'concat' | 'window' | 'padCode' | 'global'>;
  /** The accumulator range of row r under weights ws (padding included). */
  accRange(ws: number[], r: number): ChannelRange;
}

/** What lowering one layer yields: its plan, the code model it hands on (or the output affine), code ops after it. */
export interface LayerResult { plan: LayerPlan; next?: { model: CodeModel; codes: number[]; type: QType }; affine?: OutputAffine; after: CodeOp[] }
