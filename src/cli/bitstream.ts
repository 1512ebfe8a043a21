// kiln bitstream <dir> --board <name>:
// - iCE40 UP5K boards (icebreaker, upduino) [--baud N] [--seed N]: the open flow (Yosys, nextpnr-ice40,
//   icepack) on a compiled design wrapped in the UART protocol of hw/uart/README.md; writes
//   <dir>/bitstream/ and merges the timing and resources into report.json.
// - AMD Zynq boards (pynq-z2, zcu104) [--ooc] [--clock-mhz F] [--check]: a Vivado project folder
//   <dir>/vivado-<board>[-ooc]/ (src/bitstream/vivado.ts); --check runs the static checks.
import type { CommandModule } from 'yargs';
import { fail } from '../diag/index.ts';
import { boardNames, isAmdBoard, type BoardName } from '../bitstream/boards.ts';
import { buildIce40Bitstream } from '../bitstream/ice40.ts';
import { checkVivadoProject, DEFAULT_CLOCK_MHZ, writeVivadoProject, type VivadoCheck } from '../bitstream/vivado.ts';
import { numberOption } from './options.ts';

interface BitstreamArgs { dir: string; board: BoardName; baud: number; seed: number; ooc: boolean; 'clock-mhz'?: number; check: boolean; json: boolean }

async function amdProject(args: BitstreamArgs & { board: 'pynq-z2' | 'zcu104' }): Promise<void> {
  const progress = args.json ? undefined : (m: string) => process.stderr.write(`${m}\n`);
  const project = writeVivadoProject(args.dir, args.board, { ooc: args.ooc, clockMHz: args['clock-mhz'] });
  let check: VivadoCheck | undefined;
  if (args.check) check = await checkVivadoProject(project, undefined, progress);
  if (args.json) {
    process.stdout.write(JSON.stringify({ ...project, ...(check ? { check } : {}) }, null, 2) + '\n');
    return;
  }
  const widths = project.dmaInW ? `; DMA streams ${project.dmaInW} bits in, ${project.dmaOutW} bits out` : '';
  process.stdout.write(`wrote ${project.dir}/ (${project.files.length} files): Vivado ${project.ooc ? 'out-of-context build' : 'block design with the AXI DMA'} at ${project.clockMHz} MHz${widths}\n`);
  process.stdout.write(`build it with: cd ${project.dir} && vivado -mode batch -source build.tcl (see README.md there)\n`);
  if (check) {
    const r = check.yosys.resources;
    process.stdout.write(`check: build.tcl ran under tclsh (${check.tcl.calls} Vivado calls stubbed), ${check.filesChecked} file references exist, verilator -Wall clean\n`);
    process.stdout.write(`check: yosys synth_xilinx -family ${check.yosys.family} ${check.yosys.top}: ${r.lut} LUT, ${r.ff} FF, ${r.dsp} DSP, ${r.bram18} BRAM18 (${check.yosys.seconds} s)\n`);
  }
}

export const bitstreamCommand: CommandModule<object, BitstreamArgs> = {
  command: 'bitstream <dir>',
  describe: 'Build an FPGA bitstream (iCE40 UP5K: Yosys, nextpnr-ice40, icepack, UART wrapper) or write a Vivado project (Zynq: AXI DMA)',
  builder: (y) => y
    .positional('dir', { type: 'string', demandOption: true, describe: 'design directory from kiln compile' })
    .option('board', { choices: boardNames, demandOption: true, describe: 'target board' })
    .option('baud', numberOption('baud', { integer: true, min: 300, max: 12_000_000, unit: 'bit/s', default: 115200, describe: 'iCE40: UART baud rate' }))
    .option('seed', numberOption('seed', { integer: true, min: 0, default: 1, describe: 'iCE40: nextpnr placement seed' }))
    .option('ooc', { type: 'boolean', default: false, describe: 'AMD: out-of-context build of the accelerator alone' })
    .option('clock-mhz', numberOption('clock-mhz', { above: 0, unit: 'MHz', describe: `AMD: the design clock (default ${DEFAULT_CLOCK_MHZ} MHz)` }))
    .option('check', { type: 'boolean', default: false, describe: 'AMD: static checks (tclsh with Vivado stand-ins, Verilator lint, Yosys synth)' })
    .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' }),
  handler: async (args) => {
    if (isAmdBoard(args.board)) return amdProject(args as BitstreamArgs & { board: 'pynq-z2' | 'zcu104' });
    for (const amdOnly of ['ooc', 'check'] as const) {
      if (args[amdOnly]) fail('BadArgument', `--${amdOnly} is for the AMD boards (a Vivado project); ${args.board} builds its bitstream directly`);
    }
    if (args['clock-mhz'] !== undefined) fail('BadArgument', `--clock-mhz is for the AMD boards; ${args.board} runs at its board oscillator`);
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
