// NumPy .npy files (format versions 1–3, C order, little-endian) ⇄ tensors.
import { fail } from '../diag/index.ts';
import { checkSize, makeTensor, numel, readElement, type DType, type Tensor } from '../ir/tensor.ts';

const descrToDType: Record<string, Exclude<DType, 'string'>> = {
  '<f4': 'float32', '<f8': 'float64', '<f2': 'float16', '|i1': 'int8', '|u1': 'uint8', '<i2': 'int16',
  '<u2': 'uint16', '<i4': 'int32', '<u4': 'uint32', '<i8': 'int64', '<u8': 'uint64', '|b1': 'bool',
};
const dtypeToDescr = Object.fromEntries(Object.entries(descrToDType).map(([k, v]) => [v, k])) as Partial<Record<DType, string>>;

export function decodeNpy(buf: Uint8Array, where = 'npy'): Tensor {
  const bad = (why: string): never => fail('BadInputFile', `${where} is not a valid .npy file (${why})`);
  if (buf.length < 10 || buf[0] !== 0x93 || String.fromCharCode(...buf.subarray(1, 6)) !== 'NUMPY') bad('missing \\x93NUMPY magic');
  const major = buf[6];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const hstart = major === 1 ? 10 : 12;
  if (hstart + hlen > buf.length) bad('truncated header');
  const header = Buffer.from(buf.subarray(hstart, hstart + hlen)).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeTxt = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeTxt === undefined) bad('header lacks descr/fortran_order/shape');
  if (fortran === 'True') bad('Fortran order is not supported; save with np.ascontiguousarray');
  const dtype = descrToDType[descr!] ?? bad(`element type '${descr}' is not supported (supported: ${Object.keys(descrToDType).join(' ')})`);
  const shape = shapeTxt!.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  checkSize(shape, where);
  const n = numel(shape);
  const size = Number(descr!.slice(2));
  const start = hstart + hlen;
  if (buf.length - start < n * size) bad(`data is truncated: ${buf.length - start} bytes for ${n} elements of ${size} bytes`);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = start + i * size;
    data[i] = readElement(dv, dtype, o);
  }
  return makeTensor(dtype, shape, data);
}

export function encodeNpy(t: Tensor): Uint8Array {
  const descr = dtypeToDescr[t.dtype];
  if (!descr || t.dtype === 'float16') fail('UnsupportedDType', `cannot write ${t.dtype} tensors to .npy`);
  const shapeTxt = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeTxt}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const size = Number(descr!.slice(2));
  const n = numel(t.shape);
  const out = new Uint8Array(10 + header.length + n * size);
  out.set([0x93, ...Buffer.from('NUMPY', 'latin1'), 1, 0]);
  const dv = new DataView(out.buffer);
  dv.setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  const d = t.data as Float64Array;
  const start = 10 + header.length;
  for (let i = 0; i < n; i++) {
    const o = start + i * size;
    switch (t.dtype) {
      case 'float32': dv.setFloat32(o, d[i], true); break;
      case 'float64': dv.setFloat64(o, d[i], true); break;
      case 'int8': dv.setInt8(o, d[i]); break;
      case 'uint8': case 'bool': dv.setUint8(o, d[i]); break;
      case 'int16': dv.setInt16(o, d[i], true); break;
      case 'uint16': dv.setUint16(o, d[i], true); break;
      case 'int32': dv.setInt32(o, d[i], true); break;
      case 'uint32': dv.setUint32(o, d[i], true); break;
      case 'int64': dv.setBigInt64(o, BigInt(Math.round(d[i])), true); break;
      case 'uint64': dv.setBigUint64(o, BigInt(Math.round(d[i])), true); break;
    }
  }
  return out;
}
