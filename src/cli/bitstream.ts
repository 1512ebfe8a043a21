// kiln bitstream <dir> --board icebreaker|upduino [--baud N] [--seed N] [--json]: the open iCE40 UP5K
// flow (Yosys, nextpnr-ice40, icepack) on a compiled design wrapped in the UART protocol of
// hw/uart/README.md; writes <dir>/bitstream/ and merges the timing and resources into report.json.
import type { CommandModule } from 'yargs';
import { fail } from '../diag/index.ts';
import { boardNames, type BoardName } from '../bitstream/boards.ts';
import { buildIce40Bitstream } from '../bitstream/ice40.ts';

interface BitstreamArgs { dir: string; board: BoardName; baud: number; seed: number; json: boolean }

export const bitstreamCommand: CommandModule<object, BitstreamArgs> = {
  command: 'bitstream <dir>',
  describe: 'Build an FPGA bitstream (iCE40 UP5K boards: Yosys, nextpnr-ice40, icepack) with a UART wrapper',
  builder: (y) => y
    .positional('dir', { type: 'string', demandOption: true, describe: 'design directory from kiln compile' })
    .option('board', { choices: boardNames, demandOption: true, describe: 'target board' })
    .option('baud', { type: 'number', default: 115200, describe: 'UART baud rate' })
    .option('seed', { type: 'number', default: 1, describe: 'nextpnr placement seed' })
    .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' }),
  handler: async (args) => {
    const r = await buildIce40Bitstream(args.dir, args.board, { baud: args.baud, seed: args.seed, onProgress: args.json ? undefined : (m) => process.stderr.write(`${m}\n`) });
    if (args.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else {
      process.stdout.write(`${args.board}: ${r.lc} LC, ${r.ram} EBR, ${r.dsp} DSP; Fmax ${r.fmaxMHz ?? 'n/a'} MHz for a ${r.targetMHz} MHz clock\n`);
      process.stdout.write(`times: yosys ${r.seconds.yosys} s, nextpnr ${r.seconds.nextpnr} s, icepack ${r.seconds.icepack} s\n`);
      process.stdout.write(`wrote ${args.dir}/${r.bin}; merged into ${args.dir}/report.json\n`);
    }
    if (!r.timingMet) {
      fail('TimingFailed', `timing not met on ${args.board}: Fmax ${r.fmaxMHz ?? 'unknown'} MHz < the ${r.targetMHz} MHz board clock (the .bin was written but may not work; fold the design or pipeline it)`);
    }
  },
};
