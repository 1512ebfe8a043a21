// kiln exec <model> --in x.npy … --out y.npy …: run the ONNX-level reference executor.
import type { CommandModule } from 'yargs';
import { execGraph, outputPaths } from '../api/exec.ts';
import { checkTensorOutPath, writeTensorFile } from '../api/tensors.ts';
import { printType } from '../ir/print.ts';
import type { Tensor } from '../ir/tensor.ts';
import { importModel } from '../onnx/import.ts';

interface ExecArgs {
  model: string;
  in: string[];
  out?: string[];
}

function summary(name: string, t: Tensor): string {
  const vals = Array.from(t.data as ArrayLike<number>);
  const shown = vals.slice(0, 16).map((v) => (Number.isInteger(v) ? String(v) : v.toPrecision(6))).join(', ');
  return `${name} ${printType(t.dtype, t.shape)} = [${shown}${vals.length > 16 ? ', …' : ''}]`;
}

export const execCommand: CommandModule<object, ExecArgs> = {
  command: 'exec <model>',
  describe: 'Run a model with the reference executor on .npy/.pb inputs',
  builder: (y) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'ONNX model file' })
      .option('in', { type: 'string', array: true, demandOption: true, describe: 'Input file (.npy or .pb), one per graph input, in order; dim 0 may stack several samples' })
      .option('out', { type: 'string', array: true, describe: 'Output file (.npy or .pb), one per graph output; a single one is numbered y.npy, y_1.npy, … for several outputs. Without --out, outputs are summarized on stdout' })
      .example('$0 exec m.onnx --in x.npy --out y.npy', 'Run on x.npy (may hold N samples for a batch-1 model)'),
  handler: (a) => {
    // tidy-exact: no rewrite that changes float rounding, so results match ONNX semantics exactly.
    const g = importModel(a.model, { pipeline: 'tidy-exact' });
    const paths = a.out?.length ? outputPaths(a.out, g.outputs.length) : undefined;
    paths?.forEach(checkTensorOutPath);
    const results = execGraph(g, a.in);
    const outs = g.outputs.map((o) => results.get(o.name)!);
    if (!paths) {
      g.outputs.forEach((o, i) => process.stdout.write(`${summary(o.name, outs[i])}\n`));
      return;
    }
    paths.forEach((p, i) => writeTensorFile(p, outs[i]));
  },
};
