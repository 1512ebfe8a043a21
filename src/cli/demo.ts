// kiln demo (make demo): compile the bundled binarized MNIST MLP (examples/tfc_w1a1), simulate 100
// MNIST test digits in Verilator, and print accuracy, mismatches vs the reference, cycles per
// inference, latency and throughput.
import { join } from 'node:path';
import { checkOutputPath } from '../io/output-path.ts';
import type { CommandModule } from 'yargs';
import { simulate } from '../api/simulate.ts';
import { readTensorFile } from '../api/tensors.ts';
import { compileModel, designSummary } from './compile.ts';
import { progressBar } from './progress.ts';
import { kilnRoot } from '../tools/root.ts';
import { formatSummary } from './sim.ts';
import { numberOption } from './options.ts';

const example = join(kilnRoot, 'examples', 'tfc_w1a1');

interface DemoArgs {
  out: string;
  'clock-mhz': number;
}

export const demoCommand: CommandModule<object, DemoArgs> = {
  command: 'demo',
  describe: 'Compile the bundled binarized MNIST MLP and simulate 100 test digits in Verilator',
  builder: (y) => y
    .option('out', { alias: 'o', type: 'string', default: 'out/demo', describe: 'output directory (replaced)' })
    .option('clock-mhz', numberOption('clock-mhz', { above: 0, unit: 'MHz', default: 200, describe: 'clock for throughput and latency' })),
  handler: async (args) => {
    checkOutputPath(args.out, 'directory'); // before the banner: an error stays one line
    const model = join(example, 'model.onnx');
    process.stdout.write(`kiln demo: ${model}\n  (FINN TFC 784-64-64-64-10, 1-bit weights and activations; see examples/README.md)\n\n`);
    const t0 = performance.now();
    const design = compileModel(model, args.out, { force: true });
    process.stdout.write(`${designSummary(design)}compiled to ${args.out} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n\n`);
    const bar = progressBar();
    try {
      const summary = await simulate(args.out, readTensorFile(join(example, 'digits100.npy')), {
        clockMhz: args['clock-mhz'],
        labels: readTensorFile(join(example, 'labels100.npy')),
        onProgress: (p) => bar.update(p),
      });
      bar.finish();
      process.stdout.write(formatSummary(summary));
      if (summary.mismatches > 0) process.exitCode = 1;
    } finally {
      bar.finish();
    }
  },
};
