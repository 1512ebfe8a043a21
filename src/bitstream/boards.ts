// The boards `kiln bitstream` targets. iCE40 UP5K boards get the open flow to a .bin (ice40.ts):
// device, package, the oscillator that clocks the design and the pin constraints
// (templates/bitstream/<board>.pcf). AMD Zynq boards get a Vivado project folder (vivado.ts): the
// part, the board files' part name, the Yosys family for the static check and the processing system.
import { join } from 'node:path';
import { templatesDir } from '../tools/root.ts';

export interface Ice40Board {
  name: string;
  /** nextpnr-ice40 device flag and package. */
  device: 'up5k';
  package: 'sg48';
  /** The board oscillator on pin 35 (the only clock the design uses). */
  clockMHz: number;
  pcf: string;
}

export const ice40Boards = {
  icebreaker: { name: 'icebreaker', device: 'up5k', package: 'sg48', clockMHz: 12, pcf: join(templatesDir, 'bitstream', 'icebreaker.pcf') },
  upduino: { name: 'upduino', device: 'up5k', package: 'sg48', clockMHz: 12, pcf: join(templatesDir, 'bitstream', 'upduino.pcf') },
} satisfies Record<string, Ice40Board>;

/**
 * A Zynq processing system as the block design uses it: the IP, its board automation, one AXI master
 * for the DMA's registers, one high-performance slave for the DMA's memory traffic and fabric clock
 * 0 with its reset. `config` is applied after the board preset (the preset may enable more ports,
 * whose clocks would then be left unconnected).
 */
export interface ZynqPs {
  name: string;
  ip: 'processing_system7' | 'zynq_ultra_ps_e';
  automation: { rule: string; config: string; /** needed even without board files (PS7: DDR and FIXED_IO ports) */ always: boolean };
  config: (clockMHz: number) => Record<string, string>;
  clk: string;
  resetn: string;
  ctrlPort: string;
  ctrlClk: string;
  memPort: string;
  memClk: string;
  /** AXI DMA address width: 64 on Zynq UltraScale+, whose DDR reaches above 4 GB. */
  dmaAddrWidth: 32 | 64;
}

const ps7: ZynqPs = {
  name: 'Zynq-7000 PS (processing_system7)',
  ip: 'processing_system7',
  automation: { rule: 'xilinx.com:bd_rule:processing_system7', config: 'make_external "FIXED_IO, DDR" Master Disable Slave Disable', always: true },
  config: (mhz) => ({
    'CONFIG.PCW_USE_M_AXI_GP0': '1',
    'CONFIG.PCW_USE_S_AXI_HP0': '1',
    'CONFIG.PCW_EN_CLK0_PORT': '1',
    'CONFIG.PCW_EN_RST0_PORT': '1',
    'CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ': String(mhz),
  }),
  clk: 'FCLK_CLK0',
  resetn: 'FCLK_RESET0_N',
  ctrlPort: 'M_AXI_GP0',
  ctrlClk: 'M_AXI_GP0_ACLK',
  memPort: 'S_AXI_HP0',
  memClk: 'S_AXI_HP0_ACLK',
  dmaAddrWidth: 32,
};

const zynqmp: ZynqPs = {
  name: 'Zynq UltraScale+ PS (zynq_ultra_ps_e)',
  ip: 'zynq_ultra_ps_e',
  automation: { rule: 'xilinx.com:bd_rule:zynq_ultra_ps_e', config: '', always: false },
  config: (mhz) => ({
    'CONFIG.PSU__USE__M_AXI_GP0': '1', // M_AXI_HPM0_FPD
    'CONFIG.PSU__USE__M_AXI_GP1': '0', // M_AXI_HPM1_FPD
    'CONFIG.PSU__USE__M_AXI_GP2': '0', // M_AXI_HPM0_LPD
    'CONFIG.PSU__USE__S_AXI_GP2': '1', // S_AXI_HP0_FPD
    'CONFIG.PSU__FPGA_PL0_ENABLE': '1',
    'CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ': String(mhz),
  }),
  clk: 'pl_clk0',
  resetn: 'pl_resetn0',
  ctrlPort: 'M_AXI_HPM0_FPD',
  ctrlClk: 'maxihpm0_fpd_aclk',
  memPort: 'S_AXI_HP0_FPD',
  memClk: 'saxihp0_fpd_aclk',
  dmaAddrWidth: 64,
};

export interface AmdBoard {
  name: string;
  part: string;
  /** Vivado board part pattern (board files; optional at build time). */
  boardPart: string;
  /** Yosys synth_xilinx -family for the static check. */
  yosysFamily: 'xc7' | 'xcup';
  ps: ZynqPs;
}

export const amdBoards = {
  'pynq-z2': { name: 'pynq-z2', part: 'xc7z020clg400-1', boardPart: 'tul.com.tw:pynq-z2:part0:*', yosysFamily: 'xc7', ps: ps7 },
  zcu104: { name: 'zcu104', part: 'xczu7ev-ffvc1156-2-e', boardPart: 'xilinx.com:zcu104:part0:*', yosysFamily: 'xcup', ps: zynqmp },
} satisfies Record<string, AmdBoard>;

export type Ice40BoardName = keyof typeof ice40Boards;
export type AmdBoardName = keyof typeof amdBoards;
export type BoardName = Ice40BoardName | AmdBoardName;
export const boardNames = [...Object.keys(ice40Boards), ...Object.keys(amdBoards)] as BoardName[];

export function isAmdBoard(name: BoardName): name is AmdBoardName {
  return Object.hasOwn(amdBoards, name);
}
