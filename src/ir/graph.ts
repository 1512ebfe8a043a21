// The ONNX-level graph: nodes in topological order over named tensors, constant initializers,
// typed graph inputs/outputs, and optional quantized-type annotations per tensor.
import { fail } from '../diag/index.ts';
import type { QType } from './datatype.ts';
import type { DType, Tensor } from './tensor.ts';

export type AttrValue =
  | { kind: 'int'; v: number }
  | { kind: 'float'; v: number }
  | { kind: 'string'; v: string }
  | { kind: 'tensor'; v: Tensor }
  | { kind: 'ints'; v: number[] }
  | { kind: 'floats'; v: number[] }
  | { kind: 'strings'; v: string[] }
  | { kind: 'graph' }; // subgraphs (If/Loop/Scan) are recognised only to be refused

export interface Node {
  name: string;
  op: string;
  /** '' for the default ONNX domain. */
  domain: string;
  /** '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
}

/** A dimension is a number, or a symbolic name when the model leaves it open. */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  dtype: DType;
  shape?: Dim[];
}

export interface Graph {
  name: string;
  nodes: Node[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Map<string, Tensor>;
  /** Known types/shapes of intermediate tensors (from the model or shape inference). */
  valueInfo: Map<string, ValueInfo>;
  /** Quantized-type annotations (FINN datatype annotations, or set by passes). */
  qtypes: Map<string, QType>;
  /** domain ('' = ai.onnx) → opset version. */
  opsets: Record<string, number>;
  irVersion: number;
  producer: string;
}

export function emptyGraph(name = 'main'): Graph {
  return {
    name, nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: new Map(),
    qtypes: new Map(), opsets: { '': 13 }, irVersion: 8, producer: 'kiln',
  };
}

// ---- attribute accessors: "X must be Y, not Z" on misuse --------------------------------------

function attrOf(node: Node, name: string): AttrValue | undefined {
  return node.attrs[name];
}

function wrongKind(node: Node, name: string, want: string, got: AttrValue): never {
  fail('BadAttribute', `attribute '${name}' of ${node.op} must be ${want}, not ${got.kind}`, node.name);
}

export function attrInt(node: Node, name: string, dflt?: number): number {
  const a = attrOf(node, name);
  if (a === undefined) {
    if (dflt === undefined) fail('BadAttribute', `${node.op} needs attribute '${name}'`, node.name);
    return dflt;
  }
  if (a.kind !== 'int') wrongKind(node, name, 'an int', a);
  return a.v;
}

export function attrFloat(node: Node, name: string, dflt?: number): number {
  const a = attrOf(node, name);
  if (a === undefined) {
    if (dflt === undefined) fail('BadAttribute', `${node.op} needs attribute '${name}'`, node.name);
    return dflt;
  }
  if (a.kind === 'float' || a.kind === 'int') return a.v;
  wrongKind(node, name, 'a float', a);
}

export function attrString(node: Node, name: string, dflt?: string): string {
  const a = attrOf(node, name);
  if (a === undefined) {
    if (dflt === undefined) fail('BadAttribute', `${node.op} needs attribute '${name}'`, node.name);
    return dflt;
  }
  if (a.kind !== 'string') wrongKind(node, name, 'a string', a);
  return a.v;
}

export function attrInts(node: Node, name: string, dflt?: number[]): number[] {
  const a = attrOf(node, name);
  if (a === undefined) {
    if (dflt === undefined) fail('BadAttribute', `${node.op} needs attribute '${name}'`, node.name);
    return dflt;
  }
  if (a.kind === 'ints') return a.v;
  if (a.kind === 'int') return [a.v];
  wrongKind(node, name, 'a list of ints', a);
}

export function attrFloats(node: Node, name: string, dflt?: number[]): number[] {
  const a = attrOf(node, name);
  if (a === undefined) {
    if (dflt === undefined) fail('BadAttribute', `${node.op} needs attribute '${name}'`, node.name);
    return dflt;
  }
  if (a.kind === 'floats' || a.kind === 'ints') return a.v;
  wrongKind(node, name, 'a list of floats', a);
}

export function attrTensor(node: Node, name: string): Tensor | undefined {
  const a = attrOf(node, name);
  if (a === undefined) return undefined;
  if (a.kind !== 'tensor') wrongKind(node, name, 'a tensor', a);
  return a.v;
}

// ---- graph queries ------------------------------------------------------------------------------

/** Map tensor name → the node producing it. */
export function producers(g: Graph): Map<string, Node> {
  const m = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o !== '') m.set(o, n);
  return m;
}

/** Map tensor name → nodes consuming it. */
export function consumers(g: Graph): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of g.nodes) {
    for (const i of n.inputs) {
      if (i === '') continue;
      const list = m.get(i);
      if (list) list.push(n);
      else m.set(i, [n]);
    }
  }
  return m;
}

/** Graph inputs that are real run-time inputs (not also initializers, as old exporters list them). */
export function runtimeInputs(g: Graph): ValueInfo[] {
  return g.inputs.filter((i) => !g.initializers.has(i.name));
}

/** Op name with its domain when it is not the default one, e.g. 'onnx.brevitas:Quant'. */
export function qualifiedOp(n: Node): string {
  return n.domain && n.domain !== 'ai.onnx' ? `${n.domain}:${n.op}` : n.op;
}

/** A fresh tensor/node name not yet used in g, built from a base. */
export function freshName(g: Graph, base: string): string {
  const used = new Set<string>();
  for (const n of g.nodes) {
    used.add(n.name);
    for (const o of n.outputs) used.add(o);
  }
  for (const k of g.initializers.keys()) used.add(k);
  for (const i of g.inputs) used.add(i.name);
  if (!used.has(base)) return base;
  for (let i = 1; ; i++) if (!used.has(`${base}_${i}`)) return `${base}_${i}`;
}

export interface TensorType {
  dtype: DType;
  shape?: Dim[];
}

/** The known type of tensor `name` in g: initializer, graph input/output or inferred value. */
export function tensorType(g: Graph, name: string): TensorType | undefined {
  const t = g.initializers.get(name);
  if (t) return { dtype: t.dtype, shape: t.shape };
  const v = g.valueInfo.get(name) ?? g.inputs.find((i) => i.name === name) ?? g.outputs.find((o) => o.name === name);
  return v ? { dtype: v.dtype, shape: v.shape } : undefined;
}

/** The fully numeric shape of `name`, or undefined when some dimension is unknown. */
export function staticShape(g: Graph, name: string): number[] | undefined {
  const s = tensorType(g, name)?.shape;
  return s && s.every((d) => typeof d === 'number') ? (s as number[]) : undefined;
}
