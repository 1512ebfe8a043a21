// The virtual board of `kiln hil --sim`: the compiled design inside the same kiln_uart_top wrapper the
// iCE40 flow synthesizes (src/bitstream/ice40.ts), built with Verilator around sim/tb_uart_board.cpp
// (through src/sim/build.ts's content-hash cache) and run as a child process whose stdin/stdout are
// the board's serial link. A few clocks per bit keep the simulation fast; the protocol is the same.
import { fileURLToPath } from 'node:url';
import { uartSources } from '../bitstream/ice40.ts';
import { fail } from '../diag/index.ts';
import { buildSim, type BuildProgress, type BuildResult } from '../sim/build.ts';
import { readManifest } from '../sim/manifest.ts';
import { frameGeometry } from './protocol.ts';
import { ProcessTransport } from './transport.ts';

export const boardHarness = fileURLToPath(new URL('../../sim/tb_uart_board.cpp', import.meta.url));

export interface VirtualBoardOptions {
  /** Clocks per UART bit (default 8; the wrapper needs at least 4). */
  clksPerBit?: number;
  onProgress?: (p: BuildProgress) => void;
}

export interface VirtualBoardCommand {
  binary: string;
  args: string[];
  /** The design directory: the RTL reads its weight files relative to it. */
  cwd: string;
  build: BuildResult;
  clksPerBit: number;
}

export interface VirtualBoard extends VirtualBoardCommand {
  transport: ProcessTransport;
}

/** Builds (or reuses) the virtual board of the design in `dir`: the command that runs it. */
export async function prepareVirtualBoard(dir: string, opts: VirtualBoardOptions = {}): Promise<VirtualBoardCommand> {
  const m = readManifest(dir);
  const clksPerBit = opts.clksPerBit ?? 8;
  if (!Number.isInteger(clksPerBit) || clksPerBit < 4) fail('BadArgument', `clocks per bit must be an integer ≥ 4, not ${clksPerBit}`);
  const g = frameGeometry(m);
  const byteClocks = 10 * clksPerBit;
  // The wrapper abandons a half-received frame after this many idle clocks (0.1 s on a board).
  const timeoutClocks = 64 * byteClocks;
  const params = {
    CLKS_PER_BIT: clksPerBit,
    IN_W: m.inW,
    OUT_W: m.outW,
    IN_BEATS: m.input.beatsPerInference,
    OUT_BEATS: m.output.beatsPerInference,
    NS: m.streams.length,
    TIMEOUT_CLKS: timeoutClocks,
  };
  const build = await buildSim(dir, {
    onProgress: opts.onProgress,
    wrapper: { harness: boardHarness, top: 'kiln_uart_top', extraFiles: uartSources, params },
  });
  // Keep simulating after the line goes quiet long enough for the design to compute a reply (its
  // estimated latency, generously) and for the wrapper's frame timeout to expire.
  const est = m.estimate;
  const computeClocks = 4 * ((est?.cyclesPerInference ?? 0) + (est?.firstOutputLatency ?? 0)) + 4 * (g.requestLength + g.responseLength);
  const idleCycles = Math.max(100_000, computeClocks + 2 * timeoutClocks);
  return { binary: build.binary, args: ['--clks-per-bit', String(clksPerBit), '--idle-cycles', String(idleCycles)], cwd: dir, build, clksPerBit };
}

/** Builds (or reuses) the virtual board of the design in `dir` and starts it. */
export async function startVirtualBoard(dir: string, opts: VirtualBoardOptions = {}): Promise<VirtualBoard> {
  const cmd = await prepareVirtualBoard(dir, opts);
  const transport = new ProcessTransport(`the virtual board (Verilator, ${cmd.clksPerBit} clocks/bit)`, cmd.binary, cmd.args, cmd.cwd);
  return { ...cmd, transport };
}
