// The open iCE40 flow: a compiled design wrapped in hw/uart's kiln_uart_top, Yosys synth_ice40,
// nextpnr-ice40 place and route against the board clock, icepack → .bin. Everything lands in
// <design>/bitstream/ (sources copied, logs, pcf, bitstream) and the figures merge into report.json
// under `bitstream`. src/synth's Yosys helper measures resources out of context with its own script
// and a temp dir; this flow needs the netlist, the board pins and the logs kept, so it runs the tools
// itself (found through the same requireTool).
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { Code, fail, KilnError } from '../diag/index.ts';
import { hwDir, templatesDir } from '../tools/root.ts';
import { requireTool, type ToolName } from '../tools/index.ts';
import { ice40Boards as boards, type Ice40BoardName as BoardName } from './boards.ts';
import { readJsonFile } from '../io/json.ts';

/**
 * The UART RTL copied next to the design: hw/uart's transceivers (self-contained, linted with the rest
 * of hw/) and the board wrapper, which instantiates the generated kiln_top and so lives with the
 * bitstream templates.
 */
export const uartSources = [join(hwDir, 'uart', 'uart_rx.v'), join(hwDir, 'uart', 'uart_tx.v'), join(templatesDir, 'bitstream', 'kiln_uart_top.v')];

export interface BitstreamReport {
  board: BoardName;
  baud: number;
  /** nextpnr's final (post-route) Fmax of clk; null when it printed none (e.g. no clocked logic). */
  fmaxMHz: number | null;
  targetMHz: number;
  timingMet: boolean;
  /** Placed logic cells, block RAMs (EBR) and DSPs (SB_MAC16) from nextpnr's utilisation. */
  lc: number;
  ram: number;
  dsp: number;
  bin: string;
  /** Wall-clock seconds per tool. */
  seconds: { yosys: number; nextpnr: number; icepack: number };
}

interface ManifestLike {
  top: string;
  files: string[];
  inW: number;
  outW: number;
  input: { beatsPerInference: number };
  output: { beatsPerInference: number };
  streams: string[];
}

const LOG_TAIL_LINES = 12;

/** Runs one tool with its output going to a log; KLN3002 with the log's last lines when it fails. */
async function runTool(tool: ToolName, args: string[], cwd: string, log: string): Promise<number> {
  const exe = requireTool(tool);
  const t0 = Date.now();
  const r = await execa(exe, args, { cwd, reject: false, all: true, timeout: 30 * 60_000 });
  const text = `${r.all ?? ''}`;
  writeFileSync(log, text);
  if (r.exitCode !== 0 || r.timedOut) {
    const tail = text.trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
    const why = r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : `exit code ${r.exitCode}`;
    throw new KilnError({ code: Code.ToolFailed, message: `${tool} failed (${why}); full log in ${log}; last lines:`, detail: tail });
  }
  return Math.round((Date.now() - t0) / 100) / 10;
}

interface NextpnrReport {
  fmax?: Record<string, { achieved: number; constraint: number }>;
  utilization?: Record<string, { used: number; available: number }>;
}

/** nextpnr-ice40's `--report` JSON: Fmax of the (single) clock and the placed cell counts. */
export function readNextpnrReport(path: string): { fmaxMHz: number | null; lc: number; ram: number; dsp: number } {
  const r = JSON.parse(readFileSync(path, 'utf8')) as NextpnrReport;
  const achieved = Object.values(r.fmax ?? {}).map((c) => c.achieved);
  const used = (cell: string): number => r.utilization?.[cell]?.used ?? 0;
  return {
    fmaxMHz: achieved.length ? Math.round(Math.min(...achieved) * 100) / 100 : null,
    lc: used('ICESTORM_LC'),
    ram: used('ICESTORM_RAM'),
    dsp: used('ICESTORM_DSP'),
  };
}

export async function buildIce40Bitstream(dir: string, boardName: BoardName, opts: { baud?: number; seed?: number; onProgress?: (msg: string) => void } = {}): Promise<BitstreamReport> {
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) fail('FileNotFound', `'${dir}' is not a compiled design (no manifest.json); run kiln compile first`);
  const manifest = readJsonFile(manifestPath, 'manifest', 'recompile the design with kiln compile') as ManifestLike;
  const board = boards[boardName];
  const baud = opts.baud ?? 115200;
  const clocksPerBit = Math.round((board.clockMHz * 1e6) / baud);
  if (clocksPerBit < 4) fail('BadArgument', `baud ${baud} is too fast for the ${board.clockMHz} MHz clock of ${boardName} (needs ≥ 4 clocks per bit)`);

  // Tools first, so a missing one fails before anything is written.
  for (const t of ['yosys', 'nextpnr-ice40', 'icepack'] as const) requireTool(t);

  const out = join(dir, 'bitstream');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'rtl'), { recursive: true });
  for (const f of uartSources) copyFileSync(f, join(out, 'rtl', basename(f)));
  const pcf = join(out, `${boardName}.pcf`);
  copyFileSync(board.pcf, pcf);

  const params: Record<string, number> = {
    CLKS_PER_BIT: clocksPerBit,
    IN_W: manifest.inW,
    OUT_W: manifest.outW,
    IN_BEATS: manifest.input.beatsPerInference,
    OUT_BEATS: manifest.output.beatsPerInference,
    NS: manifest.streams.length,
    TIMEOUT_CLKS: Math.round(board.clockMHz * 1e5), // 0.1 s
  };
  const chparams = Object.entries(params).map(([k, v]) => `-chparam ${k} ${v}`).join(' ');
  const sources = [...manifest.files, ...uartSources.map((f) => `bitstream/rtl/${basename(f)}`)];
  // cwd = the design dir so the RTL's relative $readmemh paths (weights/*.mem) resolve.
  const script = [
    `read_verilog -defer ${sources.join(' ')}`,
    `hierarchy -top kiln_uart_top ${chparams}`,
    'synth_ice40 -dsp -top kiln_uart_top -json bitstream/kiln_uart_top.json',
  ].join('; ');
  writeFileSync(join(out, 'synth.ys'), script.split('; ').join('\n') + '\n');

  opts.onProgress?.('yosys synth_ice40');
  const yosysS = await runTool('yosys', ['bitstream/synth.ys'], dir, join(out, 'yosys.log'));
  opts.onProgress?.(`nextpnr-ice40 --${board.device} --freq ${board.clockMHz}`);
  const pnrLog = join(out, 'nextpnr.log');
  const nextpnrS = await runTool('nextpnr-ice40', [
    `--${board.device}`, '--package', board.package, '--pcf', pcf, '--freq', String(board.clockMHz),
    '--json', 'kiln_uart_top.json', '--asc', 'kiln_uart_top.asc', '--seed', String(opts.seed ?? 1),
    // timing is judged below (TimingFailed with the numbers) rather than by nextpnr's exit code
    '--timing-allow-fail', '--report', 'nextpnr-report.json',
  ], out, pnrLog);
  const pnr = readNextpnrReport(join(out, 'nextpnr-report.json'));
  opts.onProgress?.('icepack');
  const bin = join(out, 'kiln_uart_top.bin');
  const icepackS = await runTool('icepack', ['kiln_uart_top.asc', basename(bin)], out, join(out, 'icepack.log'));

  const report: BitstreamReport = {
    board: boardName,
    baud,
    fmaxMHz: pnr.fmaxMHz,
    targetMHz: board.clockMHz,
    timingMet: pnr.fmaxMHz !== null && pnr.fmaxMHz >= board.clockMHz,
    lc: pnr.lc,
    ram: pnr.ram,
    dsp: pnr.dsp,
    bin: 'bitstream/kiln_uart_top.bin',
    seconds: { yosys: yosysS, nextpnr: nextpnrS, icepack: icepackS },
  };
  mergeIntoReport(dir, report);
  return report;
}

function mergeIntoReport(dir: string, b: BitstreamReport): void {
  const path = join(dir, 'report.json');
  const report = existsSync(path) ? readJsonFile(path, 'report', 'recompile the design with kiln compile') as Record<string, unknown> : {};
  report.bitstream = b;
  writeFileSync(path, JSON.stringify(report, null, 2) + '\n');
}
