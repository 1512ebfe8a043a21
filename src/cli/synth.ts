// kiln synth <dir> [--family xc7|ice40] [--no-layers] [--json]: measure a compiled design's resources
// with Yosys (per layer out of context, and the whole design; xc7 also each layer's logic depth, iCE40
// nextpnr Fmax), merged into
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
    const r = await synth(args.dir, { family: args.family, layers: args.layers, depth: args.family === 'xc7', onProgress: args.json ? undefined : (m) => process.stderr.write(`${m}\n`) });
    if (args.json) {
      process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      return;
    }
    const kinds = resourceKinds[args.family];
    // xc7: logic depth per layer (cells on the longest register-to-register path, Yosys ltp -noff).
    const depth = r.depth ? (name: string) => [String(r.depth?.[name] ?? '')] : () => [];
    const rows = Object.entries(r.layers).map(([name, res]) => [name, ...kinds.map((k) => String(res[k])), ...depth(name)]);
    rows.push(['whole design', ...kinds.map((k) => String(r.total[k])), ...(r.depth ? [''] : [])]);
    process.stdout.write(table([['layer', ...kinds, ...(r.depth ? ['depth'] : [])], ...rows]).join('\n') + '\n');
    if (r.fmaxMHz !== undefined) process.stdout.write(`Fmax (nextpnr-ice40 --up5k): ${r.fmaxMHz === null ? `n/a (${r.fmaxNote})` : `${r.fmaxMHz} MHz`}\n`);
    process.stdout.write(`synth time ${r.seconds} s; merged into ${args.dir}/report.json\n`);
  },
};
