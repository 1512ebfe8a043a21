// kiln as a library (docs/api.md): estimate, compile and simulate the bundled binarized MNIST MLP.
// Run from a clone after `make build` (node examples/api.mjs), or with kiln installed (import 'kiln').
// Argument: the output directory (default out/api-example, replaced).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile, estimate, fold, importModel, lower, readTensor, simulate } from 'kiln';

const example = fileURLToPath(new URL('./tfc_w1a1/', import.meta.url));
const out = process.argv[2] ?? 'out/api-example';

const graph = importModel(join(example, 'model.onnx')); // checked and tidied ONNX graph
const df = lower(graph); // integer dataflow graph (MVUs, thresholds)
for (const [name, opts] of [['default', {}], ['auto 100k/s on xc7z020', { auto: { fps: 100_000, device: 'xc7z020' } }]]) {
  const e = await estimate(df, opts); // cycles and resources of a folding, no RTL written
  console.log(`estimate (${name} folding): II ${e.cyclesPerInference} cycles, ${Math.round(e.fps)} inferences/s at ${e.clockMHz} MHz, ${e.total.xc7.lut} LUTs`);
}
const { folding } = fold(df); // the default folding: PE/SIMD per layer (edit it, or fold(df, { auto: … }))

const design = compile(df, out, { folding, force: true }); // RTL, weights, manifest, report
console.log(`compiled: ${design.files.size} files in ${out}`);

const s = await simulate(out, join(example, 'digits100.npy'), { labels: readTensor(join(example, 'labels100.npy')) });
console.log(`simulated: ${s.inferences} inferences, ${s.mismatches} mismatches, ${s.cyclesPerInference} cycles/inference, accuracy ${(100 * s.accuracy.rate).toFixed(1)} %`);
if (s.mismatches > 0) process.exitCode = 1;
