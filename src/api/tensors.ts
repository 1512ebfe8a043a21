// Tensor files (.npy, or an ONNX TensorProto .pb) as `kiln exec`, `kiln sim` and the API read and write them.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { fail } from '../diag/index.ts';
import type { Tensor } from '../ir/tensor.ts';
import { decodeNpy, encodeNpy } from '../io/npy.ts';
import { checkOutputPath } from '../io/output-path.ts';
import { decodeTensorFile, encodeTensorFile } from '../onnx/tensor.ts';

export function readTensorFile(path: string): Tensor {
  if (!existsSync(path)) fail('FileNotFound', `input file '${path}' does not exist`);
  if (statSync(path).isDirectory()) fail('BadInputFile', `input file '${path}' is a directory, not a .npy or .pb file`);
  const ext = extname(path).toLowerCase();
  const bytes = readFileSync(path);
  if (ext === '.npy') return decodeNpy(bytes, `'${path}'`);
  if (ext === '.pb') return decodeTensorFile(bytes, `'${path}'`);
  fail('BadInputFile', `input file '${path}' must be .npy or .pb (an ONNX TensorProto), not '${ext || basename(path)}'`);
}

/** A tensor output path's checks (extension, then the output-path guard), run before any work. */
export function checkTensorOutPath(path: string): void {
  const ext = extname(path).toLowerCase();
  if (ext !== '.npy' && ext !== '.pb') fail('BadArgument', `output file '${path}' must end in .npy or .pb, not '${ext || basename(path)}'`);
  checkOutputPath(path, 'file', 'output file');
}

export function writeTensorFile(path: string, t: Tensor): void {
  checkTensorOutPath(path);
  writeFileSync(path, extname(path).toLowerCase() === '.npy' ? encodeNpy(t) : encodeTensorFile(t));
}
