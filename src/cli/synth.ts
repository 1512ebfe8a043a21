// kiln synth <dir> [--family xc7|ice40] [--no-layers] [--json]: measure a compiled design's resources
// with Yosys (per layer out of context, and the whole design; iCE40 also nextpnr Fmax), merged into
// the design's report.json / report.html.
import type { CommandModule } from 'yargs';
import { synth } from '../api/index.ts';
import { resourceKinds, type Family } from '../estimate/units.ts';
import { table } from './table.ts';

interface SynthArgs { dir: string; family: Family; layers: boolean; json: boolean }

export const synthCommand: CommandModule<object, SynthArgs> = {
  command: 'synth <dir>',
  describe: 'Measure resources with Yosys (per layer and whole design) into report.json',
  builder: (y) => y
    .positional('dir', { type: 'string', demandOption: true, describe: 'design directory from kiln compile' })
    .option('family', { choices: ['xc7', 'ice40'] as const, default: 'xc7' as const, describe: 'target family' })
    .option('layers', { type: 'boolean', default: true, describe: 'also synthesize each layer out of context' })
    .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' }),
  handler: async (args) => {
    const r = await synth(args.dir, { family: args.family, layers: args.layers, onProgress: args.json ? undefined : (m) => process.stderr.write(`${m}\n`) });
    if (args.json) {
      process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      return;
    }
    const kinds = resourceKinds[args.family];
    const rows = Object.entries(r.layers).map(([name, res]) => [name, ...kinds.map((k) => String(res[k]))]);
    rows.push(['whole design', ...kinds.map((k) => String(r.total[k]))]);
    process.stdout.write(table([['layer', ...kinds], ...rows]).join('\n') + '\n');
    if (r.fmaxMHz !== undefined) process.stdout.write(`Fmax (nextpnr-ice40 --up5k): ${r.fmaxMHz === null ? `n/a (${r.fmaxNote})` : `${r.fmaxMHz} MHz`}\n`);
    process.stdout.write(`synth time ${r.seconds} s; merged into ${args.dir}/report.json\n`);
  },
};
