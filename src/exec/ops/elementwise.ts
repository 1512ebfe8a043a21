// Elementwise ONNX ops: arithmetic, comparisons, logic and activations, with numpy broadcasting.
// Values are computed in float64 and stored once into the output's element type (so float32
// outputs round once; narrow integers wrap as in C; int64 stays exact up to 2^53).
import { fail } from '../../diag/index.ts';
import { attrFloat, attrInt, attrString, type Node } from '../../ir/graph.ts';
import { formatShape, isFloat, makeTensor, nums, type DType, type Tensor } from '../../ir/tensor.ts';
import { dtypeFromOnnx } from '../../onnx/tensor.ts';
import { binaryMap, broadcastShapes, expandTo, ternaryMap, unaryMap } from '../kernels/broadcast.ts';
import { roundHalfEven } from '../kernels/round.ts';
import { need, storer } from '../kernels/util.ts';
import type { OpImpl, OpTable } from '../op-types.ts';

type Un = (x: number) => number;
type Bin = (a: number, b: number) => number;

/** A unary op whose output has the input's element type. */
function unary(f: (node: Node) => Un): OpImpl {
  return (node, inputs) => {
    const x = need(node, inputs, 0, 'X');
    return [unaryMap(x, x.dtype, f(node))];
  };
}

/**
 * Before opset 7, binary ops broadcast only with broadcast=1, and then B is aligned at `axis` of A
 * (default: trailing), not numpy-style: B [C] against A [N,C,H,W] with axis=1 means [1,C,1,1].
 */
function legacyAlign(node: Node, a: Tensor, b: Tensor, opset: number): Tensor {
  if (opset >= 7 || attrInt(node, 'broadcast', 0) === 0 || node.attrs.axis === undefined) return b;
  const axis = attrInt(node, 'axis');
  const start = axis < 0 ? axis + a.shape.length : axis;
  const trailing = a.shape.length - start - b.shape.length;
  if (start < 0 || trailing < 0) fail('ShapeMismatch', `${node.op} cannot align B ${formatShape(b.shape)} at axis ${axis} of A ${formatShape(a.shape)}`);
  return { ...b, shape: [...b.shape, ...new Array<number>(trailing).fill(1)] };
}

function binary(f: (dtype: DType, node: Node) => Bin, outDtype?: DType): OpImpl {
  return (node, inputs, ctx) => {
    const a = need(node, inputs, 0, 'A');
    const b = legacyAlign(node, a, need(node, inputs, 1, 'B'), ctx.opset);
    return [binaryMap(a, b, outDtype ?? a.dtype, f(a.dtype, node))];
  };
}

const isInt32Like = (d: DType) => d === 'int32' || d === 'uint32';

/** C-style integer division: truncate toward zero (division by zero gives 0, not a trap). */
function intDiv(a: number, b: number): number {
  return b === 0 ? 0 : Math.trunc(a / b);
}

/** Mod with fmod=0: the result takes the divisor's sign (Python %); fmod=1: the dividend's (C fmod). */
function modOp(dtype: DType, node: Node): Bin {
  const fmod = attrInt(node, 'fmod', 0);
  if (isFloat(dtype) && fmod !== 1) fail('BadAttribute', `Mod on ${dtype} must have fmod=1, not ${fmod}`);
  if (fmod === 1) return (a, b) => (isFloat(dtype) ? a % b : b === 0 ? 0 : a % b);
  return (a, b) => {
    if (b === 0) return 0;
    const r = a % b;
    return r !== 0 && r < 0 !== b < 0 ? r + b : r;
  };
}

/** Variadic Max/Min/Sum/Mean over broadcast inputs, accumulated in float64. */
function variadic(step: (acc: number, v: number) => number, finish?: (acc: number, n: number) => number): OpImpl {
  return (node, inputs) => {
    const xs = inputs.filter((t): t is Tensor => t !== undefined);
    if (xs.length === 0) fail('BadAttribute', `${node.op} needs at least one input`);
    const shape = broadcastShapes(xs.map((t) => t.shape));
    const acc = expandTo(xs[0], shape);
    for (const t of xs.slice(1)) {
      const v = expandTo(t, shape);
      for (let i = 0; i < acc.length; i++) acc[i] = step(acc[i], v[i]);
    }
    const out = makeTensor(xs[0].dtype, shape);
    const o = nums(out);
    const st = storer(out.dtype) ?? ((v: number) => v);
    for (let i = 0; i < o.length; i++) o[i] = st(finish ? finish(acc[i], xs.length) : acc[i]);
    return [out];
  };
}

const nanMax = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b));
const nanMin = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b));

/** erf to about 1e-14: Taylor series below 2.5, the erfc continued fraction above. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Taylor series: erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
    let term = ax;
    let sum = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction (Lentz), accurate for |x| >= 2.5.
  const z = ax;
  let f = z;
  let c = z;
  let d = 0;
  for (let n = 1; n < 200; n++) {
    const an = n / 2;
    d = z + an * d;
    d = d === 0 ? 1e-300 : 1 / d;
    c = z + an / c;
    if (c === 0) c = 1e-300;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

/** Clip bounds: attributes before opset 11, optional inputs from 11. */
function clip(node: Node, inputs: (Tensor | undefined)[], ctx: { opset: number }): Tensor[] {
  const x = need(node, inputs, 0, 'input');
  let lo = -Infinity;
  let hi = Infinity;
  if (ctx.opset < 11) {
    lo = attrFloat(node, 'min', -Infinity);
    hi = attrFloat(node, 'max', Infinity);
  } else {
    for (const [k, t] of [[1, inputs[1]], [2, inputs[2]]] as const) {
      if (t === undefined) continue;
      if (nums(t).length !== 1) fail('ShapeMismatch', `Clip ${k === 1 ? 'min' : 'max'} must be a scalar, not shape [${t.shape.join(',')}]`);
      if (k === 1) lo = nums(t)[0];
      else hi = nums(t)[0];
    }
  }
  return [unaryMap(x, x.dtype, (v) => (Number.isNaN(v) ? v : Math.min(Math.max(v, lo), hi)))];
}

/** Cast to `to`, with the conversions C/numpy make: float→int truncates, float16/bfloat16 round. */
export function castTensor(x: Tensor, to: DType): Tensor {
  if (x.dtype === 'string' || to === 'string') fail('UnsupportedDType', `Cast from ${x.dtype} to ${to} is not supported (kiln executes numeric tensors only)`);
  // Stores round to float16/bfloat16 and make bool 0/1 (see storer); integers truncate toward zero.
  const f: Un = isFloat(to) || to === 'bool' ? (v) => v : (v) => (Number.isFinite(v) ? Math.trunc(v) : 0);
  return unaryMap(x, to, f);
}

/** Cast's target type: an enum int, or (opset 1-5) the type's name as a string. */
function castTarget(node: Node): DType {
  const a = node.attrs.to;
  if (a?.kind === 'string') {
    const byName: Record<string, DType> = {
      FLOAT: 'float32', DOUBLE: 'float64', FLOAT16: 'float16', BFLOAT16: 'bfloat16', INT8: 'int8', UINT8: 'uint8',
      INT16: 'int16', UINT16: 'uint16', INT32: 'int32', UINT32: 'uint32', INT64: 'int64', UINT64: 'uint64', BOOL: 'bool',
    };
    const d = byName[a.v.toUpperCase()];
    if (!d) fail('BadAttribute', `Cast 'to' must name a numeric type, not ${a.v}`);
    return d;
  }
  return dtypeFromOnnx(attrInt(node, 'to'), `Cast 'to' attribute`);
}

const cmp = (f: (a: number, b: number) => boolean) => binary(() => (a, b) => (f(a, b) ? 1 : 0), 'bool');
const logic = (f: (a: boolean, b: boolean) => boolean) => binary(() => (a, b) => (f(a !== 0, b !== 0) ? 1 : 0), 'bool');

export const elementwiseOps: OpTable = {
  Add: binary(() => (a, b) => a + b),
  Sub: binary(() => (a, b) => a - b),
  Mul: binary((d) => (isInt32Like(d) ? Math.imul : (a, b) => a * b)),
  Div: binary((d) => (isFloat(d) ? (a, b) => a / b : intDiv)),
  Pow: binary(() => Math.pow),
  Mod: binary(modOp),
  BitShift: binary((_dtype, node) => {
    const dir = attrString(node, 'direction');
    if (dir !== 'LEFT' && dir !== 'RIGHT') fail('BadAttribute', `BitShift direction must be LEFT or RIGHT, not ${dir}`);
    return dir === 'LEFT' ? (a, b) => a * 2 ** b : (a, b) => Math.floor(a / 2 ** b);
  }),
  PRelu: (node, inputs, ctx) => {
    const x = need(node, inputs, 0, 'X');
    let slope = need(node, inputs, 1, 'slope');
    // Before opset 7 a 1-D slope of length C is per channel (axis 1), not numpy-broadcast.
    if (ctx.opset < 7 && slope.shape.length === 1 && x.shape.length > 2 && slope.shape[0] === x.shape[1]) {
      slope = { ...slope, shape: [slope.shape[0], ...new Array<number>(x.shape.length - 2).fill(1)] };
    }
    return [binaryMap(x, slope, x.dtype, (v, s) => (v < 0 ? s * v : v))];
  },

  Equal: cmp((a, b) => a === b),
  Less: cmp((a, b) => a < b),
  Greater: cmp((a, b) => a > b),
  LessOrEqual: cmp((a, b) => a <= b),
  GreaterOrEqual: cmp((a, b) => a >= b),
  And: logic((a, b) => a && b),
  Or: logic((a, b) => a || b),
  Xor: logic((a, b) => a !== b),
  Not: (node, inputs) => [unaryMap(need(node, inputs, 0, 'X'), 'bool', (v) => (v === 0 ? 1 : 0))],
  Where: (node, inputs) => {
    const x = need(node, inputs, 1, 'X');
    return [ternaryMap(need(node, inputs, 0, 'condition'), x, need(node, inputs, 2, 'Y'), x.dtype, (c, a, b) => (c !== 0 ? a : b))];
  },

  Max: variadic(nanMax),
  Min: variadic(nanMin),
  Sum: variadic((a, v) => a + v),
  Mean: variadic((a, v) => a + v, (a, n) => a / n),

  Relu: unary(() => (v) => (v > 0 ? v : Number.isNaN(v) ? v : 0)),
  LeakyRelu: unary((n) => {
    const alpha = attrFloat(n, 'alpha', 0.01);
    return (v) => (v < 0 ? alpha * v : v);
  }),
  Sigmoid: unary(() => (v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)))),
  HardSigmoid: unary((n) => {
    const alpha = attrFloat(n, 'alpha', 0.2);
    const beta = attrFloat(n, 'beta', 0.5);
    return (v) => Math.max(0, Math.min(1, alpha * v + beta));
  }),
  HardSwish: unary(() => (v) => v * Math.max(0, Math.min(1, v / 6 + 0.5))),
  Tanh: unary(() => Math.tanh),
  Softplus: unary(() => (v) => (v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v)))),
  Softsign: unary(() => (v) => v / (1 + Math.abs(v))),
  Elu: unary((n) => {
    const alpha = attrFloat(n, 'alpha', 1);
    return (v) => (v < 0 ? alpha * (Math.exp(v) - 1) : v);
  }),
  Selu: unary((n) => {
    const alpha = attrFloat(n, 'alpha', 1.67326319217681884765625);
    const gamma = attrFloat(n, 'gamma', 1.05070102710723876953125);
    return (v) => gamma * (v <= 0 ? alpha * (Math.exp(v) - 1) : v);
  }),
  Celu: unary((n) => {
    const alpha = attrFloat(n, 'alpha', 1);
    return (v) => Math.max(0, v) + Math.min(0, alpha * (Math.exp(v / alpha) - 1));
  }),
  ThresholdedRelu: unary((n) => {
    const alpha = attrFloat(n, 'alpha', 1);
    return (v) => (v > alpha ? v : 0);
  }),
  Shrink: unary((n) => {
    const bias = attrFloat(n, 'bias', 0);
    const lambd = attrFloat(n, 'lambd', 0.5);
    return (v) => (v < -lambd ? v + bias : v > lambd ? v - bias : 0);
  }),
  Clip: clip,

  Sign: unary(() => (v) => (Number.isNaN(v) ? v : v > 0 ? 1 : v < 0 ? -1 : 0)),
  Neg: unary(() => (v) => -v),
  Abs: unary(() => Math.abs),
  Exp: unary(() => Math.exp),
  Log: unary(() => Math.log),
  Sqrt: unary(() => Math.sqrt),
  Reciprocal: unary(() => (v) => 1 / v),
  Floor: unary(() => Math.floor),
  Ceil: unary(() => Math.ceil),
  Round: unary(() => roundHalfEven),
  Erf: unary(() => erf),
  Sin: unary(() => Math.sin),
  Cos: unary(() => Math.cos),
  Tan: unary(() => Math.tan),
  Asin: unary(() => Math.asin),
  Acos: unary(() => Math.acos),
  Atan: unary(() => Math.atan),
  Sinh: unary(() => Math.sinh),
  Cosh: unary(() => Math.cosh),
  Asinh: unary(() => Math.asinh),
  Acosh: unary(() => Math.acosh),
  Atanh: unary(() => Math.atanh),
  IsNaN: (node, inputs) => [unaryMap(need(node, inputs, 0, 'X'), 'bool', (v) => (Number.isNaN(v) ? 1 : 0))],
  IsInf: (node, inputs) => {
    const pos = attrInt(node, 'detect_positive', 1) !== 0;
    const neg = attrInt(node, 'detect_negative', 1) !== 0;
    return [unaryMap(need(node, inputs, 0, 'X'), 'bool', (v) => ((pos && v === Infinity) || (neg && v === -Infinity) ? 1 : 0))];
  },

  Cast: (node, inputs) => [castTensor(need(node, inputs, 0, 'input'), castTarget(node))],
  CastLike: (node, inputs) => [castTensor(need(node, inputs, 0, 'input'), need(node, inputs, 1, 'target_type').dtype)],
};
