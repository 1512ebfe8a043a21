// Dense tensors as the ONNX importer and the reference executors see them.
// Storage follows the element type so that stores round/wrap like the real type:
// float32 lives in a Float32Array (every store rounds to float32, as ONNX float ops do).
// 64-bit integers are held as JS numbers (exact to 2^53), which covers shapes, indices and
// every integer a quantized network carries.
import { fail } from '../diag/index.ts';

export type DType =
  | 'float32' | 'float64' | 'float16' | 'bfloat16'
  | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64'
  | 'bool' | 'string';

export type TensorData =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array
  | Int32Array | Uint32Array | string[];

export interface Tensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

/** Largest tensor kiln will allocate (elements). Anything bigger is refused before allocation. */
export const MAX_ELEMENTS = 1 << 28;

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function checkSize(shape: readonly number[], what: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) fail('ShapeMismatch', `${what} has invalid dimension ${d} in shape [${shape.join(',')}]`);
  }
  const n = numel(shape);
  if (n > MAX_ELEMENTS) {
    fail('TensorTooLarge', `${what} has ${n.toExponential(2)} elements (shape [${shape.join(',')}]), more than the limit of ${MAX_ELEMENTS}`);
  }
}

export function allocData(dtype: DType, n: number): TensorData {
  switch (dtype) {
    case 'float32': case 'float16': case 'bfloat16': return new Float32Array(n);
    case 'float64': case 'int64': case 'uint64': case 'uint32': return new Float64Array(n);
    case 'int8': return new Int8Array(n);
    case 'uint8': case 'bool': return new Uint8Array(n);
    case 'int16': return new Int16Array(n);
    case 'uint16': return new Uint16Array(n);
    case 'int32': return new Int32Array(n);
    case 'string': return new Array<string>(n).fill('');
  }
}

export function makeTensor(dtype: DType, shape: number[], data?: ArrayLike<number> | string[]): Tensor {
  checkSize(shape, 'tensor');
  const n = numel(shape);
  const t: Tensor = { dtype, shape: [...shape], data: allocData(dtype, n) };
  if (data !== undefined) {
    if (data.length !== n) fail('ShapeMismatch', `tensor data has ${data.length} elements, shape [${shape.join(',')}] needs ${n}`);
    if (dtype === 'string') t.data = [...(data as string[])];
    else (t.data as Float64Array).set(data as ArrayLike<number>);
  }
  return t;
}

export function scalar(dtype: DType, v: number): Tensor {
  return makeTensor(dtype, [], [v]);
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}

/** The value ranges of the integer types quantized tensors are stored in (ONNX QuantizeLinear and QLinear ops, saturating casts). */
export const INT_RANGES: Partial<Record<DType, [number, number]>> = {
  uint8: [0, 255], int8: [-128, 127], uint16: [0, 65535], int16: [-32768, 32767], int32: [-(2 ** 31), 2 ** 31 - 1],
};

export function isInteger(dtype: DType): boolean {
  return !isFloat(dtype) && dtype !== 'string' && dtype !== 'bool';
}

/** Numeric view of a tensor's data (throws on string tensors). */
export function nums(t: Tensor): Exclude<TensorData, string[]> {
  if (t.dtype === 'string') fail('UnsupportedDType', 'string tensor used where numbers are needed');
  return t.data as Exclude<TensorData, string[]>;
}

/** Element values as plain JS numbers, a fresh array. */
export function toNumbers(t: Tensor): number[] {
  return Array.from(nums(t));
}

export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function cloneTensor(t: Tensor): Tensor {
  return { dtype: t.dtype, shape: [...t.shape], data: t.dtype === 'string' ? [...(t.data as string[])] : (nums(t).slice() as TensorData) };
}

export function formatShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(',')}]`;
}

/** The number float16 bits encode. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** The number bfloat16 bits encode. */
export function bfloatToFloat(b: number): number {
  const buf = new DataView(new ArrayBuffer(4));
  buf.setUint32(0, (b & 0xffff) << 16);
  return buf.getFloat32(0);
}

/** One little-endian element of a numeric type at byte offset `o` (64-bit integers round beyond 2^53). */
export function readElement(dv: DataView, dtype: Exclude<DType, 'string'>, o: number): number {
  switch (dtype) {
    case 'float32': return dv.getFloat32(o, true);
    case 'float64': return dv.getFloat64(o, true);
    case 'float16': return halfToFloat(dv.getUint16(o, true));
    case 'bfloat16': return bfloatToFloat(dv.getUint16(o, true));
    case 'int8': return dv.getInt8(o);
    case 'uint8': case 'bool': return dv.getUint8(o);
    case 'int16': return dv.getInt16(o, true);
    case 'uint16': return dv.getUint16(o, true);
    case 'int32': return dv.getInt32(o, true);
    case 'uint32': return dv.getUint32(o, true);
    case 'int64': return Number(dv.getBigInt64(o, true));
    case 'uint64': return Number(dv.getBigUint64(o, true));
  }
}

/**
 * Inputs must be finite: NaN and ±Infinity have no code in the hardware's integer formats and no
 * defined result through quantizers. KLN1011 names the first one by its flat index.
 */
export function checkFinite(t: Tensor, what: string): void {
  if (!isFloat(t.dtype)) return;
  const d = t.data as ArrayLike<number>;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) fail('BadInputFile', `${what} holds ${d[i]} at index ${i}: inputs must be finite numbers`);
  }
}
