// Test inputs as .npy files, written by kiln's own encoder (src/io/npy.ts).
import { encodeNpy } from '../../src/io/npy.ts';
import { makeTensor } from '../../src/ir/tensor.ts';

/** A .npy of float32 rows (shape [rows, columns]). */
export function npyFloat32(rows: number[][]): Buffer {
  return Buffer.from(encodeNpy(makeTensor('float32', [rows.length, rows[0].length], rows.flat())));
}
