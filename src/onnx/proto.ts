// The one place that touches the onnx-proto package (CommonJS, ONNX 1.10 schema).
// Schema gaps vs the corpus: none found — the corpus uses ir_version 3–10 and only the element
// types FLOAT, DOUBLE, INT8/16/32/64, UINT8/16/32/64, BOOL, FLOAT16, BFLOAT16, STRING, all in
// the 1.10 schema. Newer enum values (FLOAT8*, INT4/UINT4) decode as plain numbers and are refused
// with KLN1010 by the tensor decoder.
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

export const onnx = onnxProto.onnx;
export type ModelProto = OnnxTypes.IModelProto;
export type GraphProto = OnnxTypes.IGraphProto;
export type NodeProto = OnnxTypes.INodeProto;
export type TensorProto = OnnxTypes.ITensorProto;
export type AttributeProto = OnnxTypes.IAttributeProto;
export type ValueInfoProto = OnnxTypes.IValueInfoProto;

interface LongLike {
  toNumber(): number;
}

/** protobufjs returns 64-bit integers as Long objects (or numbers/strings); make them JS numbers. */
export function toNum(x: number | string | LongLike | null | undefined): number {
  if (x === null || x === undefined) return 0;
  if (typeof x === 'number') return x;
  if (typeof x === 'string') return Number(x);
  return x.toNumber();
}
