// The float chain between an integer sum and its activation tensor, as one small graph the reference
// executor (or src/exec/chain.ts, the same float32 arithmetic without tensors) evaluates: the
// activation rule bisects it for thresholds, the output rule reads it as an affine map.
import { KilnError } from '../diag/index.ts';
import { compileChain, type ChainEvaluator } from '../exec/chain.ts';
import { runGraph } from '../exec/run.ts';
import { attrFloat, attrInts, type Graph, type Node } from '../ir/graph.ts';
import { makeTensor, numel, toNumbers, type Tensor } from '../ir/tensor.ts';
import { LAYOUT } from './ops.ts';
import { perChannel } from './support.ts';
import { cannotLower, type GraphView } from './view.ts';

/** A chain of path nodes between a MAC and its activation tensor, evaluated as one small graph. */
export class Chain {
  private readonly graph: Graph;
  readonly extra = new Map<string, Tensor>();
  readonly nodes: Node[] = [];
  private readonly inName = 'kiln_chain_in';
  private out: string;

  /**
   * `spatial`: the chain follows a Conv/pooling layer, so it runs on [rows, channels, 1, 1] (NCHW, where
   * per-channel constants are [C, 1, 1]) and applies Transposes (QKeras' NCHW → NHWC), which keep the
   * (row, channel) element order as long as the batch axis stays first.
   */
  constructor(private readonly v: GraphView, private readonly channels: number, private readonly spatial = false) {
    this.out = this.inName;
    this.graph = { ...v.g, name: 'chain', nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: new Map(), qtypes: new Map() };
  }

  /** Appends a path node (layout nodes are skipped: the chain works on [rows, channels]). */
  push(n: Node): void {
    this.compiled = undefined;
    if (this.spatial && n.op === 'Transpose') {
      if (attrInts(n, 'perm', [3, 2, 1, 0])[0] !== 0) throw new KilnError(cannotLower(n, 'a transpose that moves the batch axis', { fix: 'keep the batch axis first (perm[0] = 0)' }));
    } else if (LAYOUT.has(n.op)) return;
    const dyn = n.op === 'Gemm' ? 0 : this.v.dynIndex.get(n) ?? 0;
    const inputs = n.inputs.map((i, k) => (k === dyn ? this.out : i));
    const node: Node = { ...n, inputs, outputs: [n.outputs[0]] };
    this.nodes.push(node);
    this.out = n.outputs[0];
  }

  /** Appends a synthetic node with constant operands (Gemm's alpha and bias, QLinearMatMul's requantization). */
  pushConst(op: 'Add' | 'Mul' | 'QuantizeLinear', values: Tensor[], tag: string): void {
    this.compiled = undefined;
    const cnames = values.map((t, i) => {
      const cname = `kiln_chain_${tag}_${i}`;
      this.extra.set(cname, t);
      return cname;
    });
    const oname = `kiln_chain_${tag}_out`;
    this.nodes.push({ name: `kiln_${tag}`, op, domain: '', inputs: [this.out, ...cnames], outputs: [oname], attrs: {} });
    this.out = oname;
  }

  constValue(name: string): Tensor | undefined {
    return this.extra.get(name) ?? this.v.consts.get(name);
  }

  private compiled?: { f?: ChainEvaluator };

  /**
   * The chain compiled by src/exec/chain.ts (the same float32 arithmetic as eval, on a flat vector of
   * (channel, value) queries), or undefined when it has a node that only the generic executor runs.
   * Compiled on first use after the last push (a push drops it).
   */
  fast(): ChainEvaluator | undefined {
    this.compiled ??= { f: process.env.KILN_CHAIN_GENERIC === '1' ? undefined : compileChain(this.nodes, this.inName, (n) => this.constValue(n), this.channels, this.spatial, this.v.g.opsets[''] ?? 13) };
    return this.compiled.f;
  }

  /** Evaluates the chain on a [rows, channels] float32 tensor of MAC outputs. */
  eval(x: Float32Array, rows: number): Float64Array {
    if (this.nodes.length === 0) return Float64Array.from(x);
    const g = this.graph;
    g.nodes = this.nodes;
    g.initializers = new Map();
    for (const n of this.nodes) {
      for (const i of n.inputs) {
        if (i === '' || i === this.inName) continue;
        const c = this.constValue(i);
        if (c) g.initializers.set(i, c);
      }
    }
    const shape = this.spatial ? [rows, this.channels, 1, 1] : [rows, this.channels];
    g.inputs = [{ name: this.inName, dtype: 'float32', shape }];
    g.outputs = [{ name: this.out, dtype: 'float32' }];
    const y = runGraph(g, new Map([[this.inName, makeTensor('float32', shape, x)]])).get(this.out)!;
    if (numel(y.shape) !== rows * this.channels) {
      throw new KilnError(cannotLower(this.nodes[this.nodes.length - 1], 'changes the number of elements between a MAC and its activation', { fix: 'keep the element count between a layer and its activation (reshape after the quantizer)' }));
    }
    return Float64Array.from(toNumbers(y));
  }

  /**
   * y = a[c]·x + b[c] when every node is affine (float64 composition), for the last layer's output.
   * Undefined if some node is not affine (Relu, Clip, a quantizer, …).
   */
  affine(a: number[], b: number[], nodes: readonly Node[] = this.nodes): { a: number[]; b: number[] } | undefined {
    const C = this.channels;
    a = [...a];
    b = [...b];
    for (const n of nodes) {
      const other = (k: number) => perChannel(this.constValue(n.inputs[k])!, C, n);
      const dyn = n.inputs.indexOf(n.inputs.find((i) => !this.constValue(i) && i !== '')!);
      switch (n.op) {
        case 'Add': { const c = other(1 - dyn); b = b.map((x, i) => x + c[i]); break; }
        case 'Sub': {
          const c = other(1 - dyn);
          if (dyn === 0) b = b.map((x, i) => x - c[i]);
          else { a = a.map((x) => -x); b = b.map((x, i) => c[i] - x); }
          break;
        }
        case 'Mul': { const c = other(1 - dyn); a = a.map((x, i) => x * c[i]); b = b.map((x, i) => x * c[i]); break; }
        case 'Div': { const c = other(1); a = a.map((x, i) => x / c[i]); b = b.map((x, i) => x / c[i]); break; }
        case 'Neg': a = a.map((x) => -x); b = b.map((x) => -x); break;
        case 'Cast': break; // int32 accumulator to float: exact below 2^24
        case 'Transpose': break; // spatial chains: keeps the (row, channel) order
        case 'BatchNormalization': {
          const [sc, bi, mu, va] = [1, 2, 3, 4].map((k) => other(k));
          const eps = attrFloat(n, 'epsilon', 1e-5);
          const f = sc.map((x, i) => x / Math.sqrt(va[i] + eps));
          a = a.map((x, i) => x * f[i]);
          b = b.map((x, i) => (x - mu[i]) * f[i] + bi[i]);
          break;
        }
        default: return undefined;
      }
    }
    return { a, b };
  }

  /**
   * The affine map of `affine`, allowing one Relu as the last node: y = max(0, a[c]·x + b[c]), for
   * a sum that stays an integer (the Relu becomes the clamp of an unsigned type).
   */
  affineRelu(a: number[], b: number[]): { a: number[]; b: number[]; relu: boolean } | undefined {
    const last = this.nodes[this.nodes.length - 1];
    const relu = last?.op === 'Relu';
    const af = this.affine(a, b, relu ? this.nodes.slice(0, -1) : this.nodes);
    return af && { ...af, relu };
  }
}
