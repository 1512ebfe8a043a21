// Residual graphs for the streamline driver: a layer DAG. An accumulator with several consumers is
// duplicated and each consumer edge gets its own activation (evaluated from that edge's own
// quantizers); joins follow rule join (src/lower/rules/join.ts).
import { Code, KilnError, type Diagnostic } from '../diag/index.ts';
import { smallestIntFor, type QType } from '../ir/datatype.ts';
import type { OutputAffine } from '../ir/dataflow.ts';
import type { Node } from '../ir/graph.ts';
import { numel } from '../ir/tensor.ts';
import { MACS } from '../lower/ops.ts';
import type { BranchEdge, BranchNode, CodeModel, CodeOp, InSide, LayerPlan, StreamlineOptions } from '../lower/plan.ts';
import { isJoin, joinInput, runtimeInputsOf } from '../lower/rules/join.ts';
import { gridMultiple } from '../lower/rules/integer-composition.ts';
import { codeModel, lastActivation } from '../lower/support.ts';
import { cannotLower, cannotLowerGraph, type GraphView } from '../lower/view.ts';
import { lowerLayer } from './streamline-layer.ts';

export const isLayerNode = (v: GraphView, n: Node): boolean => MACS.has(n.op) || isJoin(v, n);

export function isBranched(v: GraphView): boolean {
  const uses = new Map<string, number>();
  for (const n of v.path) for (const i of runtimeInputsOf(v, n)) uses.set(i, (uses.get(i) ?? 0) + 1);
  return v.path.some((n) => isJoin(v, n)) || [...uses.values()].some((k) => k > 1);
}

interface Edge { nodes: Node[]; to?: Node; port: number }

/** The chains from tensor t to the next layer nodes (or the output tensor), one per consumer path. */
export function edgesFrom(v: GraphView, t: string, outputTensor: string): Edge[] {
  const out: Edge[] = [];
  const walk = (x: string, nodes: Node[]) => {
    if (x === outputTensor) return void out.push({ nodes, port: 0 });
    const cons = v.path.filter((n) => runtimeInputsOf(v, n).includes(x));
    for (const n of cons) {
      if (isLayerNode(v, n)) runtimeInputsOf(v, n).forEach((i, port) => { if (i === x) out.push({ nodes, to: n, port }); });
      else walk(n.outputs[0], [...nodes, n]);
    }
  };
  walk(t, []);
  return out;
}

interface EdgeState { model: CodeModel; codes: number[]; type: QType; node: string; edge: number; scale: number }

/**
 * Lowers a graph with residual joins: every layer node's accumulator feeds one activation per
 * consumer edge (evaluated, as in chains, from that edge's own quantizers); a join adds two
 * quantized branches whose scales are integer multiples of the smaller one, the factor folded into
 * the larger-scale branch's Threshold (outBias, outScale × f: exact); other scale ratios are refused.
 */
export function lowerBranches(v: GraphView, input: InSide, before: CodeOp[], outputTensor: string, opts: StreamlineOptions, notes: string[]):
  { nodes: BranchNode[]; layers: LayerPlan[]; outputAffine: OutputAffine; tail: CodeOp[] } {
  const problems: Diagnostic[] = [];
  const fail = (e: unknown) => {
    if (e instanceof KilnError && e.code === Code.CannotLower) problems.push(...e.diagnostics);
    else throw e;
  };
  const inEdges = edgesFrom(v, v.input, outputTensor);
  // The prefix (input quantizer, code ops) was lowered by the caller: one edge into the first layer.
  const firstLayer = v.path.find((n) => isLayerNode(v, n));
  if (inEdges.length !== 1 || inEdges[0].to !== firstLayer) throw new KilnError(cannotLowerGraph('the graph input fans out before its first layer (only layer outputs may branch)', { rule: 'dataflow-graph', fix: 'start the model with one layer that every branch reads' }));
  const state = new Map<string, EdgeState>(); // key `${node}:${port}`
  state.set(`${firstLayer!.name}:${inEdges[0].port}`, { model: input.model, codes: input.codes, type: input.type, node: 'input', edge: 0, scale: 1 });
  const nodes: BranchNode[] = [{ name: 'input', inputs: [], edges: [{ act: { kind: 'none' }, origin: [], after: before, scale: 1, to: firstLayer!.name, outType: input.type }] }];
  // Scale of the code each edge ends in (its last quantizer), to align join inputs before lowering.
  const edgeScale = (e: Edge): number | undefined => {
    const qi = lastActivation(e.nodes);
    return qi >= 0 ? codeModel(v, e.nodes[qi]).s : undefined;
  };
  const layers: LayerPlan[] = [];
  let outputAffine: OutputAffine | undefined;
  let tail: CodeOp[] = [];
  for (const L of v.path.filter((n) => isLayerNode(v, n))) {
    try {
      const ins = runtimeInputsOf(v, L).map((_, port) => state.get(`${L.name}:${port}`));
      if (ins.some((x) => !x)) {
        // Downstream of a refused layer: that refusal is the cause, no knock-on line for this one.
        if (problems.length) continue;
        throw new KilnError(cannotLower(L, 'an input that no lowered layer produces', { fix: 'lower the layers that feed it' }));
      }
      let inSide: InSide;
      if (isJoin(v, L)) {
        const [a, b] = ins as EdgeState[];
        alignJoin(a, b, nodes);
        inSide = joinInput(L, a, b, input.positions);
      } else {
        const a = ins[0]!;
        inSide = { model: a.model, codes: a.codes, type: a.type, elems: numel(v.shapes.get(L.inputs[0]) ?? [NaN]), positions: input.positions };
      }
      const edges = edgesFrom(v, L.outputs[0], outputTensor);
      if (edges.length === 0) throw new KilnError(cannotLower(L, 'its output reaches neither a layer nor the graph output', { rule: 'dataflow-graph', fix: 'remove the dead branch, or make it reach the graph output' }));
      let plan: LayerPlan | undefined;
      const bEdges: BranchEdge[] = [];
      edges.forEach((e, k) => {
        // A join input that will be scaled up must stay a Threshold (Requant outputs cannot be multiplied exactly).
        const mineS = edgeScale(e);
        const partnerS = e.to && isJoin(v, e.to) ? joinPartnerScale(v, e.to, e.port, outputTensor, edgeScale) : undefined;
        // (A raw-accumulator partner has no quantizer scale: its grid is known only once lowered, so keep a Threshold too.)
        const scaled = mineS !== undefined && e.to !== undefined && isJoin(v, e.to) && (partnerS === undefined || mineS > partnerS);
        const res = lowerLayer(v, L, e.nodes, e.to === undefined, inSide, scaled ? { ...opts, maxThresholdSteps: Infinity } : opts, notes);
        if (!plan) plan = res.plan;
        else if (res.plan.weights.some((w, i) => w !== plan!.weights[i])) throw new KilnError(cannotLower(L, 'its consumers need differently signed activations (a decreasing one on one branch only)', { rule: 'join', fix: 'give every consumer of this layer an activation of the same direction (no negative scale on one branch only)' }));
        const act = res.plan.act;
        // A join input: scale up the branch with the larger code scale (exact for thresholds).
        let scale = 1;
        if (e.to && isJoin(v, e.to) && res.next) {
          const mine = res.next.model.s;
          const sOther = joinPartnerScale(v, e.to, e.port, outputTensor, edgeScale);
          // (A raw accumulator's edge is aligned at the join instead: alignJoin scales its integer map.)
          if (sOther !== undefined && mine > sOther && res.plan.quantizer !== undefined) {
            const f = mine / sOther;
            if (!Number.isInteger(f)) throw new KilnError(cannotLower(e.to, `branch scales ${mine} and ${sOther} are not integer multiples of each other`, { rule: 'join', fix: 'align the branch scales to an integer ratio (e.g. power-of-two scales)' }));
            if (f !== 1 && act.kind !== 'threshold') throw new KilnError(cannotLower(e.to, `its input branch with scale ${mine} must be ×${f} to align with ${sOther}, which needs a Threshold activation (this one is ${act.kind})`, { rule: 'join', fix: 'give that branch an activation with fewer levels (a Threshold), or align the branch scales' }));
            scale = f;
          }
        }
        const codes = res.next ? res.next.codes.map((c) => c * scale) : [];
        const outType = act.kind === 'none' ? res.plan.accType : scale === 1 ? (res.next?.type ?? act.outType) : smallestIntFor(Math.min(codes[0], 0), Math.max(codes[codes.length - 1], 0));
        bEdges.push({ act, quantizer: res.plan.quantizer, origin: res.plan.origin.slice(1), after: res.after, scale, to: e.to?.name, outType });
        if (e.to && res.next) state.set(`${e.to.name}:${e.port}`, { model: res.next.model, codes: res.next.codes, type: outType, node: L.name, edge: k, scale });
        else if (e.to) throw new KilnError(cannotLower(L, 'no quantizer between this layer and the next', { rule: 'integer-composition', fix: 'put a quantizer on this edge, before the next layer' }));
        if (!e.to) {
          outputAffine = res.affine;
          tail = res.after;
        }
      });
      layers.push(plan!);
      const inputs = (ins as EdgeState[]).map((x) => ({ node: x.node, edge: x.edge }));
      nodes.push({ name: L.name, plan: plan!, inputs, edges: bEdges });
    } catch (e) {
      fail(e);
    }
  }
  if (problems.length) throw new KilnError(problems);
  if (!outputAffine) throw new KilnError(cannotLowerGraph(`no layer reaches the graph output '${outputTensor}'`, { rule: 'dataflow-graph', fix: 'end the model in a layer and its activation' }));
  notes.push(`branched graph: ${nodes.length - 1} layers, ${nodes.filter((n) => n.edges.length > 1).length} duplicated accumulators, ${v.path.filter((n) => isJoin(v, n)).length} residual joins`);
  return { nodes, layers, outputAffine, tail };
}

/**
 * Aligns the two inputs of a join whose code scales differ by an integer factor f that the
 * quantizer-scale rule above did not handle (a raw accumulator on either side, rule
 * integer-composition): the coarser branch is multiplied by f where that is exact — a Threshold's
 * outBias/outScale, or a raw accumulator's integer Requant (M·f, B·f, shift 0; no clamp reachable).
 * Anything else is left for joinInput to refuse.
 */
function alignJoin(a: EdgeState, b: EdgeState, nodes: BranchNode[]): void {
  const [sa, sb] = [a.model.s / a.scale, b.model.s / b.scale];
  if (sa === sb) return;
  const [big, bigS, smallS] = sa > sb ? [a, sa, sb] : [b, sb, sa];
  // f exactly, or (a raw accumulator's map) as the float32 scales the model has: gridMultiple.
  const exact = Number.isInteger(bigS / smallS) && (bigS / smallS) * smallS === bigS;
  const f = exact ? bigS / smallS : gridMultiple(bigS, smallS);
  if (f === undefined || f < 1) return;
  const node = nodes.find((n) => n.name === big.node);
  const edge = node?.edges[big.edge];
  if (!node?.plan || !edge) return; // 'input' (no plan) never joins: the graph input cannot fan out
  const lo = big.codes[0] * big.scale * f;
  const hi = big.codes[big.codes.length - 1] * big.scale * f;
  const type = smallestIntFor(Math.min(lo, 0), Math.max(hi, 0));
  if (edge.act.kind === 'threshold') {
    if (!exact) return;
    big.scale *= f;
    edge.scale = big.scale;
  } else if (edge.quantizer === undefined && (edge.act.kind === 'none' || (edge.act.shift === 0 && edge.act.round === undefined))) {
    // A raw accumulator's integer map (rule integer-composition): its codes never reach the type's clamp.
    const rows = node.plan.rows;
    const act = edge.act;
    edge.act = act.kind === 'none'
      ? { kind: 'requant', mul: new Array<number>(rows).fill(f), bias: new Array<number>(rows).fill(0), shift: 0, outType: type }
      : { ...act, mul: act.mul.map((m) => m * f), bias: act.bias.map((x) => x * f), outType: type };
    big.model = { s: smallS * big.scale, z: big.model.z * f };
    big.codes = big.codes.map((c) => c * f);
  } else return;
  edge.outType = type;
  big.type = type;
}

/** The code scale the other input of join `j` arrives with (from its edge's last quantizer). */
export function joinPartnerScale(v: GraphView, j: Node, port: number, outputTensor: string, edgeScale: (e: Edge) => number | undefined): number | undefined {
  const x = runtimeInputsOf(v, j)[1 - port];
  // Walk back from x to the layer node (or input) that produces its chain, then take that edge.
  let t = x;
  for (;;) {
    const p = v.producer.get(t);
    if (!p || isLayerNode(v, p)) break;
    t = runtimeInputsOf(v, p)[0];
  }
  const e = edgesFrom(v, t, outputTensor).find((e) => e.to === j && e.port === 1 - port);
  return e ? edgeScale(e) : undefined;
}
