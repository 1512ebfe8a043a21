// BatchNorm folding. Inference-mode BatchNormalization is y = x·s + t per channel with
// s = scale/√(var+ε), t = B − mean·s. Where the producer is a Conv, Gemm or MatMul(+Add) with
// constant weights read by nobody else, s and t go into the weights and bias; otherwise the
// BatchNormalization becomes Mul(s) + Add(t), which later passes (streamlining) understand.
import { attrFloat, attrInt, consumers, freshName, producers, tensorType, type Graph, type Node } from '../ir/graph.ts';
import { makeTensor, numel, toNumbers, type Tensor } from '../ir/tensor.ts';
import type { Pass } from './pass.ts';

interface Affine {
  s: number[];
  t: number[];
}

function affineOf(g: Graph, bn: Node): Affine | undefined {
  const [, scaleN, biasN, meanN, varN] = bn.inputs;
  const p = [scaleN, biasN, meanN, varN].map((n) => g.initializers.get(n));
  if (p.some((x) => x === undefined)) return undefined;
  const [scale, bias, mean, variance] = p.map((x) => toNumbers(x!));
  const c = scale.length;
  if (![bias, mean, variance].every((a) => a.length === c)) return undefined;
  const eps = attrFloat(bn, 'epsilon', 1e-5);
  // float32 like the executor: ε is a float attribute, statistics are float32 tensors.
  const s = scale.map((sc, i) => Math.fround(sc / Math.fround(Math.sqrt(Math.fround(variance[i] + eps)))));
  const t = bias.map((b, i) => Math.fround(b - Math.fround(mean[i] * s[i])));
  return { s, t };
}

/** The single consumer of tensor `name`, when it is not also a graph output. */
function soleUse(g: Graph, name: string, uses: Map<string, Node[]>): Node | undefined {
  const u = uses.get(name) ?? [];
  return u.length === 1 && !g.outputs.some((o) => o.name === name) ? u[0] : undefined;
}

/** A constant only `user` reads (so it can be rewritten in place). */
function privateConst(g: Graph, name: string | undefined, uses: Map<string, Node[]>, user: Node): Tensor | undefined {
  if (!name) return undefined;
  const t = g.initializers.get(name);
  const u = uses.get(name) ?? [];
  return t && t.dtype === 'float32' && u.every((n) => n === user) && !g.outputs.some((o) => o.name === name) ? t : undefined;
}

function f32(shape: number[], values: number[]): Tensor {
  return makeTensor('float32', shape, values);
}

/** Scale W along axis `axis` (the output channel) by s. */
function scaleAlong(w: Tensor, axis: number, s: number[]): Tensor {
  const vals = toNumbers(w);
  const inner = numel(w.shape.slice(axis + 1));
  const c = w.shape[axis];
  return f32(w.shape, vals.map((v, i) => v * s[Math.floor(i / inner) % c]));
}

/** Per-channel bias vector of length c from an optional constant of 1 or c elements. */
function channelVector(t: Tensor | undefined, c: number): number[] | undefined {
  if (!t) return new Array(c).fill(0);
  const v = toNumbers(t);
  if (v.length === c) return v;
  if (v.length === 1) return new Array(c).fill(v[0]);
  return undefined;
}

function rewire(g: Graph, bn: Node, into: Node): void {
  // The producer now writes the BatchNorm's output name directly.
  into.outputs[0] = bn.outputs[0];
  g.nodes = g.nodes.filter((n) => n !== bn);
}

function foldIntoConv(g: Graph, conv: Node, bn: Node, a: Affine, uses: Map<string, Node[]>): boolean {
  if (conv.domain.includes('channels_last')) return false;
  const w = privateConst(g, conv.inputs[1], uses, conv);
  if (!w || w.shape[0] !== a.s.length) return false;
  const bias = conv.inputs[2] ? privateConst(g, conv.inputs[2], uses, conv) : undefined;
  if (conv.inputs[2] && !bias) return false;
  const b = channelVector(bias, a.s.length)!;
  g.initializers.set(conv.inputs[1], scaleAlong(w, 0, a.s));
  const nb = f32([a.s.length], b.map((v, i) => v * a.s[i] + a.t[i]));
  if (conv.inputs[2]) g.initializers.set(conv.inputs[2], nb);
  else {
    const name = freshName(g, `${conv.name}_bias`);
    g.initializers.set(name, nb);
    while (conv.inputs.length < 2) conv.inputs.push('');
    conv.inputs[2] = name;
  }
  rewire(g, bn, conv);
  return true;
}

function foldIntoGemm(g: Graph, gemm: Node, bn: Node, a: Affine, uses: Map<string, Node[]>): boolean {
  const w = privateConst(g, gemm.inputs[1], uses, gemm);
  if (!w || w.shape.length !== 2) return false;
  const transB = attrInt(gemm, 'transB', 0) === 1;
  const cols = transB ? w.shape[0] : w.shape[1];
  if (cols !== a.s.length) return false;
  const cT = gemm.inputs[2] ? privateConst(g, gemm.inputs[2], uses, gemm) : undefined;
  if (gemm.inputs[2] && !cT) return false;
  const c = channelVector(cT, cols);
  if (!c) return false;
  const alpha = attrFloat(gemm, 'alpha', 1);
  const beta = attrFloat(gemm, 'beta', 1);
  g.initializers.set(gemm.inputs[1], scaleAlong(w, transB ? 0 : 1, a.s.map((s) => s * alpha)));
  gemm.attrs.alpha = { kind: 'float', v: 1 };
  gemm.attrs.beta = { kind: 'float', v: 1 };
  const nc = f32([cols], c.map((v, i) => beta * v * a.s[i] + a.t[i]));
  if (gemm.inputs[2]) g.initializers.set(gemm.inputs[2], nc);
  else {
    const name = freshName(g, `${gemm.name}_bias`);
    g.initializers.set(name, nc);
    gemm.inputs[2] = name;
  }
  rewire(g, bn, gemm);
  return true;
}

/** MatMul(x, W) [+ Add(c)] → BN on a 2-D tensor: columns of W are the channels. */
function foldIntoMatMul(g: Graph, mm: Node, add: Node | undefined, bn: Node, a: Affine, uses: Map<string, Node[]>): boolean {
  const w = privateConst(g, mm.inputs[1], uses, mm);
  const out = tensorType(g, bn.inputs[0])?.shape;
  if (!w || w.shape.length !== 2 || w.shape[1] !== a.s.length || out?.length !== 2) return false;
  let c = new Array<number>(a.s.length).fill(0);
  let cName: string | undefined;
  if (add) {
    cName = add.inputs[0] === mm.outputs[0] ? add.inputs[1] : add.inputs[0];
    const cv = channelVector(privateConst(g, cName, uses, add), a.s.length);
    const cShape = g.initializers.get(cName)?.shape ?? [];
    if (!cv || cShape.length > 1) return false;
    c = cv;
  }
  g.initializers.set(mm.inputs[1], scaleAlong(w, 1, a.s));
  const nc = f32([a.s.length], c.map((v, i) => v * a.s[i] + a.t[i]));
  if (add && cName) {
    g.initializers.set(cName, nc);
    rewire(g, bn, add);
  } else {
    // BN becomes the bias Add of the MatMul.
    const name = freshName(g, `${bn.name}_bias`);
    g.initializers.set(name, nc);
    Object.assign(bn, { op: 'Add', domain: '', inputs: [bn.inputs[0], name], outputs: [bn.outputs[0]], attrs: {} });
  }
  return true;
}

/** The generic fallback: y = x·s + t with constants shaped to broadcast over channel axis 1. */
function toMulAdd(g: Graph, bn: Node, a: Affine): boolean {
  const rank = tensorType(g, bn.inputs[0])?.shape?.length;
  if (rank === undefined || rank < 2) return false;
  const shape = [a.s.length, ...new Array(rank - 2).fill(1)];
  const sName = freshName(g, `${bn.name}_scale`);
  g.initializers.set(sName, f32(shape, a.s));
  const tName = freshName(g, `${bn.name}_shift`);
  g.initializers.set(tName, f32(shape, a.t));
  const mid = freshName(g, `${bn.name}_scaled`);
  const mul: Node = { name: freshName(g, `${bn.name}_mul`), op: 'Mul', domain: '', inputs: [bn.inputs[0], sName], outputs: [mid], attrs: {} };
  g.nodes.splice(g.nodes.indexOf(bn), 0, mul);
  Object.assign(bn, { op: 'Add', domain: '', inputs: [mid, tName], outputs: [bn.outputs[0]], attrs: {} });
  return true;
}

export const foldBatchNorm: Pass = {
  name: 'fold-batchnorm',
  run(g: Graph): boolean {
    let changed = false;
    for (const bn of [...g.nodes]) {
      if (bn.op !== 'BatchNormalization' || (bn.domain !== '' && bn.domain !== 'ai.onnx')) continue;
      if (bn.outputs.slice(1).some((o) => o !== '') || attrInt(bn, 'training_mode', 0) === 1) continue;
      // spatial=0 (opset < 9) normalizes per activation, not per channel: not a per-channel affine.
      if (attrInt(bn, 'spatial', 1) === 0) continue;
      const a = affineOf(g, bn);
      if (!a) continue;
      const uses = consumers(g);
      const prod = producers(g).get(bn.inputs[0]);
      const sole = prod && soleUse(g, bn.inputs[0], uses) === bn;
      let done = false;
      if (sole && prod.op === 'Conv') done = foldIntoConv(g, prod, bn, a, uses);
      else if (sole && prod.op === 'Gemm') done = foldIntoGemm(g, prod, bn, a, uses);
      else if (sole && prod.op === 'MatMul') done = foldIntoMatMul(g, prod, undefined, bn, a, uses);
      else if (sole && prod.op === 'Add') {
        const mm = producers(g).get(prod.inputs.find((i) => !g.initializers.has(i)) ?? '');
        if (mm?.op === 'MatMul' && soleUse(g, mm.outputs[0], uses) === prod) done = foldIntoMatMul(g, mm, prod, bn, a, uses);
      }
      if (!done) done = toMulAdd(g, bn, a);
      changed ||= done;
    }
    return changed;
  },
};
