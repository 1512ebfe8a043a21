// The textual form of a Graph: line-oriented, readable, and exact (parseGraph round-trips it).
//
//   kiln-ir 1
//   graph "main" ir_version=8 producer="pytorch 2.0"
//   opset "" 13
//   opset "qonnx.custom_op.general" 1
//   input %x: float32[1,784]
//   output %y: float32[1,10]
//   value %h: float32[1,64]                     (known intermediate type/shape)
//   qtype %h: INT4                               (quantized-type annotation)
//   init %w: float32[64,784] = b64"AAAA…"        (exact little-endian bytes)
//   init %s: float32[] = [0.5]                   (small tensors inline)
//   %h = MatMul(%x, %w) @MatMul_0
//   %y = Quant[qonnx.custom_op.general](%h, %s, _, %b) {narrow=0, signed=1} @q0
//
// Names that are not plain identifiers are JSON-quoted (%"input.1:0"); `_` is an omitted input.
// Floats are printed as the shortest decimal that reads back to the same value.
import type { AttrValue, Dim, Graph, Node, ValueInfo } from './graph.ts';
import { qtypeName } from './datatype.ts';
import { numel, type DType, type Tensor } from './tensor.ts';

export const IR_MAGIC = 'kiln-ir 1';

/** Tensors up to this many elements are printed as numbers, larger ones as base64. */
const INLINE_LIMIT = 16;

// ':' is allowed inside (PyTorch's 'onnx::Gemm_0') but not last, so `%x: float32` stays unambiguous.
const PLAIN_NAME = /^[A-Za-z0-9_.\-/:]*[A-Za-z0-9_.\-/]$/;

export function printName(name: string): string {
  return `%${PLAIN_NAME.test(name) ? name : JSON.stringify(name)}`;
}

function printNodeName(name: string): string {
  return `@${PLAIN_NAME.test(name) ? name : JSON.stringify(name)}`;
}

/** Shortest exact decimal for a number; keeps -0, NaN and infinities distinguishable. */
export function printNumber(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

/** A float attribute always shows it is a float (1.0, not 1), so the kind survives a round trip. */
function printFloat(v: number): string {
  const s = printNumber(v);
  return /^-?\d+$/.test(s) ? `${s}.0` : s;
}

function printDim(d: Dim): string {
  if (typeof d === 'number') return String(d);
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(d) ? d : JSON.stringify(d);
}

/** 'float32[1,3]', 'float32[]' for a scalar, 'float32' when the shape is unknown. */
export function printType(dtype: DType, shape: readonly Dim[] | undefined): string {
  return shape === undefined ? dtype : `${dtype}[${shape.map(printDim).join(',')}]`;
}

/** Little-endian bytes of a tensor's elements in its own dtype (the ONNX raw_data layout). */
export function tensorBytes(t: Tensor): Uint8Array {
  const n = numel(t.shape);
  const d = t.data as ArrayLike<number>;
  const size = BYTES[t.dtype];
  const out = new Uint8Array(n * size);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    const o = i * size;
    const v = d[i];
    switch (t.dtype) {
      case 'float32': dv.setFloat32(o, v, true); break;
      case 'float64': dv.setFloat64(o, v, true); break;
      // float16/bfloat16 values are stored widened to float32; keep those exact 32 bits.
      case 'float16': case 'bfloat16': dv.setFloat32(o, v, true); break;
      case 'int8': dv.setInt8(o, v); break;
      case 'uint8': case 'bool': dv.setUint8(o, v); break;
      case 'int16': dv.setInt16(o, v, true); break;
      case 'uint16': dv.setUint16(o, v, true); break;
      case 'int32': dv.setInt32(o, v, true); break;
      case 'uint32': dv.setUint32(o, v, true); break;
      // int64/uint64 live in JS numbers (exact to 2^53); a float64 holds every one of them exactly.
      case 'int64': case 'uint64': dv.setFloat64(o, v, true); break;
      case 'string': break;
    }
  }
  return out;
}

/** Bytes per element in the printed base64 encoding. */
export const BYTES: Record<DType, number> = {
  float32: 4, float64: 8, float16: 4, bfloat16: 4, int8: 1, uint8: 1, int16: 2, uint16: 2,
  int32: 4, uint32: 4, int64: 8, uint64: 8, bool: 1, string: 0,
};

export function printTensor(t: Tensor): string {
  const type = printType(t.dtype, t.shape);
  if (t.dtype === 'string') return `${type} = ${JSON.stringify(t.data)}`;
  const n = numel(t.shape);
  if (n <= INLINE_LIMIT) {
    return `${type} = [${Array.from(t.data as ArrayLike<number>, printNumber).join(', ')}]`;
  }
  return `${type} = b64"${Buffer.from(tensorBytes(t)).toString('base64')}"`;
}

function printAttr(a: AttrValue): string {
  switch (a.kind) {
    case 'int': return String(a.v);
    case 'float': return printFloat(a.v);
    case 'string': return JSON.stringify(a.v);
    case 'ints': return a.v.length ? `[${a.v.join(', ')}]` : 'ints[]';
    case 'floats': return a.v.length ? `[${a.v.map(printFloat).join(', ')}]` : 'floats[]';
    case 'strings': return a.v.length ? `[${a.v.map((s) => JSON.stringify(s)).join(', ')}]` : 'strings[]';
    case 'tensor': return `tensor(${printTensor(a.v)})`;
    case 'graph': return 'graph';
  }
}

function printAttrName(k: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : JSON.stringify(k);
}

export function printNode(n: Node): string {
  const outs = n.outputs.map((o) => (o === '' ? '_' : printName(o))).join(', ');
  const ins = n.inputs.map((i) => (i === '' ? '_' : printName(i))).join(', ');
  const op = /^[A-Za-z_][A-Za-z0-9_]*$/.test(n.op) ? n.op : JSON.stringify(n.op);
  const domain = n.domain === '' ? '' : `[${JSON.stringify(n.domain)}]`;
  const keys = Object.keys(n.attrs);
  const attrs = keys.length ? ` {${keys.map((k) => `${printAttrName(k)}=${printAttr(n.attrs[k])}`).join(', ')}}` : '';
  return `${outs || '()'} = ${op}${domain}(${ins})${attrs} ${printNodeName(n.name)}`;
}

function printValue(kw: string, v: ValueInfo): string {
  return `${kw} ${printName(v.name)}: ${printType(v.dtype, v.shape)}`;
}

export function printGraph(g: Graph): string {
  const lines: string[] = [IR_MAGIC];
  lines.push(`graph ${JSON.stringify(g.name)} ir_version=${g.irVersion} producer=${JSON.stringify(g.producer)}`);
  for (const [domain, version] of Object.entries(g.opsets)) lines.push(`opset ${JSON.stringify(domain)} ${version}`);
  for (const i of g.inputs) lines.push(printValue('input', i));
  for (const o of g.outputs) lines.push(printValue('output', o));
  for (const v of g.valueInfo.values()) lines.push(printValue('value', v));
  for (const [name, q] of g.qtypes) lines.push(`qtype ${printName(name)}: ${qtypeName(q)}`);
  for (const [name, t] of g.initializers) lines.push(`init ${printName(name)}: ${printTensor(t)}`);
  for (const n of g.nodes) lines.push(printNode(n));
  return lines.join('\n') + '\n';
}
