// ONNX TensorProto ⇄ kiln Tensor, for raw_data and every typed field.
import { fail } from '../diag/index.ts';
import { bfloatToFloat, checkSize, halfToFloat, INT_RANGES, makeTensor, numel, readElement, type DType, type Tensor } from '../ir/tensor.ts';
import { onnx, toNum, type TensorProto } from './proto.ts';

const DT = onnx.TensorProto.DataType;

const fromOnnx: Record<number, DType> = {
  [DT.FLOAT]: 'float32', [DT.DOUBLE]: 'float64', [DT.FLOAT16]: 'float16', [DT.BFLOAT16]: 'bfloat16',
  [DT.INT8]: 'int8', [DT.UINT8]: 'uint8', [DT.INT16]: 'int16', [DT.UINT16]: 'uint16',
  [DT.INT32]: 'int32', [DT.UINT32]: 'uint32', [DT.INT64]: 'int64', [DT.UINT64]: 'uint64',
  [DT.BOOL]: 'bool', [DT.STRING]: 'string',
};
const toOnnx = Object.fromEntries(Object.entries(fromOnnx).map(([k, v]) => [v, Number(k)])) as Record<DType, number>;

export function dtypeFromOnnx(code: number, what: string): DType {
  const d = fromOnnx[code];
  if (d === undefined) fail('UnsupportedDType', `${what} has ONNX element type ${code}, which kiln does not support (supported: ${Object.values(fromOnnx).join(', ')})`);
  return d;
}

export function dtypeToOnnx(d: DType): number {
  return toOnnx[d];
}

function floatToHalf(v: number): number {
  // Round to nearest even, enough for writing tensors kiln itself produced.
  const f32 = new Float32Array([v]);
  const x = new Uint32Array(f32.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** Decode a TensorProto. `where` names it in errors. External data is always refused. */
export function decodeTensor(tp: TensorProto, where: string): Tensor {
  if (toNum(tp.dataLocation as unknown as number) === 1 || (tp.externalData && tp.externalData.length > 0)) {
    const loc = tp.externalData?.find((e) => e.key === 'location')?.value ?? '?';
    fail('ExternalData', `tensor '${tp.name || where}' stores its data in an external file ('${loc}'); kiln reads self-contained models only — re-save the model with all tensors inside it (onnx.save(model, path, save_as_external_data=False))`);
  }
  const dtype = dtypeFromOnnx(toNum(tp.dataType), `tensor '${tp.name || where}'`);
  const shape = (tp.dims ?? []).map((d) => toNum(d as unknown as number));
  checkSize(shape, `tensor '${tp.name || where}'`);
  const n = numel(shape);
  const t = makeTensor(dtype, shape);
  const raw = tp.rawData;
  const bad = (have: number) =>
    fail('MalformedModel', `tensor '${tp.name || where}' has ${have} values, its shape [${shape.join(',')}] needs ${n}`);
  if (dtype === 'string') {
    const s = (tp.stringData ?? []).map((b) => Buffer.from(b).toString('utf8'));
    if (s.length !== n) bad(s.length);
    t.data = s;
    return t;
  }
  const out = t.data as Float64Array;
  if (raw && raw.length > 0) {
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const size: Record<DType, number> = {
      float32: 4, float64: 8, float16: 2, bfloat16: 2, int8: 1, uint8: 1, int16: 2, uint16: 2,
      int32: 4, uint32: 4, int64: 8, uint64: 8, bool: 1, string: 0,
    };
    const sz = size[dtype];
    if (raw.byteLength !== n * sz) bad(raw.byteLength / sz);
    for (let i = 0; i < n; i++) {
      const o = i * sz;
      out[i] = readElement(dv, dtype, o);
    }
    return t;
  }
  // Typed fields, per the ONNX spec: which field holds which element type.
  let src: ArrayLike<unknown>;
  switch (dtype) {
    case 'float32': src = tp.floatData ?? []; break;
    case 'float64': src = tp.doubleData ?? []; break;
    case 'int64': src = tp.int64Data ?? []; break;
    case 'uint32': case 'uint64': src = tp.uint64Data ?? []; break;
    default: src = tp.int32Data ?? []; break; // int8/16/32, uint8/16, bool, float16/bfloat16 bits
  }
  if (src.length !== n) bad(src.length);
  // int32_data is wider than the narrow integer types it carries: a value outside the type's range
  // would wrap silently in the typed array (a zero point of 300 becoming 44).
  const range = dtype === 'int32' ? undefined : INT_RANGES[dtype];
  for (let i = 0; i < n; i++) {
    const v = toNum(src[i] as number);
    if (range && !(v >= range[0] && v <= range[1])) {
      fail('MalformedModel', `tensor '${tp.name || where}' holds ${v} at index ${i}, outside ${dtype}'s range ${range[0]} to ${range[1]}`);
    }
    if (dtype === 'float16') out[i] = halfToFloat(v);
    else if (dtype === 'bfloat16') out[i] = bfloatToFloat(v);
    else out[i] = v;
  }
  return t;
}

/** Encode a tensor as a TensorProto with raw_data (strings use string_data). */
export function encodeTensor(t: Tensor, name = ''): TensorProto {
  const tp = onnx.TensorProto.create({ name, dims: t.shape, dataType: dtypeToOnnx(t.dtype) });
  if (t.dtype === 'string') {
    tp.stringData = (t.data as string[]).map((s) => Buffer.from(s, 'utf8'));
    return tp;
  }
  const d = t.data as Float64Array;
  const n = d.length;
  let bytes: Uint8Array;
  switch (t.dtype) {
    case 'float32': bytes = new Uint8Array(Float32Array.from(d).buffer); break;
    case 'float64': bytes = new Uint8Array(Float64Array.from(d).buffer); break;
    case 'float16': bytes = new Uint8Array(Uint16Array.from(d, floatToHalf).buffer); break;
    case 'bfloat16': bytes = new Uint8Array(Uint16Array.from(d, (v) => new Uint32Array(new Float32Array([v]).buffer)[0] >>> 16).buffer); break;
    case 'int8': bytes = new Uint8Array(Int8Array.from(d).buffer); break;
    case 'uint8': case 'bool': bytes = Uint8Array.from(d); break;
    case 'int16': bytes = new Uint8Array(Int16Array.from(d).buffer); break;
    case 'uint16': bytes = new Uint8Array(Uint16Array.from(d).buffer); break;
    case 'int32': bytes = new Uint8Array(Int32Array.from(d).buffer); break;
    case 'uint32': bytes = new Uint8Array(Uint32Array.from(d).buffer); break;
    case 'int64': bytes = new Uint8Array(BigInt64Array.from(Array.from(d, (v) => BigInt(Math.round(v)))).buffer); break;
    case 'uint64': bytes = new Uint8Array(BigUint64Array.from(Array.from(d, (v) => BigInt(Math.round(v)))).buffer); break;
  }
  void n;
  tp.rawData = bytes;
  return tp;
}

/** protobufjs's decode errors, said in terms of the file ("ends early", "byte N"). */
export function describeProtobufError(msg: string): string {
  const short = /index out of range: (\d+) \+ (\d+) > (\d+)/.exec(msg);
  if (short) return `truncated or corrupt protobuf: a field at byte ${short[1]} needs ${short[2]} more bytes, but the file has ${short[3]}`;
  const wire = /invalid wire type (\d+) at offset (\d+)/.exec(msg);
  if (wire) return `corrupt protobuf: invalid field encoding (wire type ${wire[1]}) at byte ${wire[2]}`;
  return `not a protobuf: ${msg}`;
}

/** Read a standalone TensorProto (.pb) file's bytes. */
export function decodeTensorFile(bytes: Uint8Array, where: string): Tensor {
  let tp: TensorProto;
  try {
    tp = onnx.TensorProto.decode(bytes);
  } catch (e) {
    fail('BadInputFile', `${where} is not a valid ONNX TensorProto file (${describeProtobufError((e as Error).message)})`);
  }
  return decodeTensor(tp, where);
}

export function encodeTensorFile(t: Tensor, name = ''): Uint8Array {
  return onnx.TensorProto.encode(encodeTensor(t, name)).finish();
}
