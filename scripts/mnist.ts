// The 2,000-image MNIST test split bundled in examples/tfc_w1a1, preprocessed as the zoo's models
// expect (float32(pixel) / 255), for the compression scripts.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EvalData } from '../src/compress/report.ts';
import { decodeNpy } from '../src/io/npy.ts';
import { toNumbers } from '../src/ir/tensor.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export function mnist(limit?: number): EvalData {
  const x = decodeNpy(readFileSync(join(ROOT, 'examples/tfc_w1a1/mnist_test_2000.npy')));
  const y = toNumbers(decodeNpy(readFileSync(join(ROOT, 'examples/tfc_w1a1/mnist_test_2000_labels.npy'))));
  const n = Math.min(limit ?? y.length, y.length);
  const px = x.data as Uint8Array;
  const inputs = Array.from({ length: n }, (_, i) => Float32Array.from(px.subarray(i * 784, (i + 1) * 784), (v) => Math.fround(v / 255)));
  return { inputs, labels: y.slice(0, n) };
}

/** Replaces the text between `<!-- name:begin … -->` and `<!-- name:end -->` in a doc. */
export function replaceBetweenMarkers(doc: string, name: string, text: string): string {
  const a = doc.indexOf(`<!-- ${name}:begin`);
  const b = doc.indexOf(`<!-- ${name}:end -->`);
  if (a < 0 || b < a) throw new Error(`the doc lacks the <!-- ${name}:begin … --> / <!-- ${name}:end --> markers`);
  const lineEnd = doc.indexOf('-->', a) + 3;
  return `${doc.slice(0, lineEnd)}\n\n${text}\n${doc.slice(b)}`;
}
