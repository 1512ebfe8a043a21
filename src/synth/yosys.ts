// Resource measurement with Yosys (and Fmax with nextpnr-ice40): out of context per layer module and
// for the whole design. Tools are found through src/tools' requireTool (KLN3001 with an install hint
// when missing). Results are cached by content hash (sources + parameters + tool version) in
// .cache/synth/, so a calibration sweep or a repeated `kiln synth` does not re-run Yosys.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { fail } from '../diag/index.ts';
import { requireTool, toolVersion } from '../tools/index.ts';
import { cacheDirOf, prune, touch } from '../util/lru.ts';

import type { Family, Resources } from '../estimate/units.ts';

export interface SynthResult {
  family: Family;
  top: string;
  resources: Resources;
  /** Raw Yosys cell counts (flattened design). */
  cells: Record<string, number>;
  /** nextpnr-ice40 Fmax (MHz), whole-design iCE40 runs only; null when place-and-route failed. */
  fmaxMHz?: number | null;
  fmaxNote?: string;
  /**
   * Logic depth: the longest path between registers in cells (`ltp -noff` after synth_xilinx: LUTs
   * and CARRY4s; the model of src/layers/common/cmvm.ts), when asked (opts.depth).
   */
  depth?: number;
  seconds: number;
}

/**
 * Yosys cells → resources. 7-series: LUTRAM primitives count as the LUTs they occupy (RAM64M / RAM32M
 * = 4 LUTs, RAM64X1D / RAM32X1D = 2, RAM128X1D = 4, SRL = 1; Xilinx UG474 slice chapter); a RAMB36 is
 * two BRAM18. iCE40: a logic cell holds one LUT4 and one DFF, so LC = max(LUT4, DFF) is the packed
 * lower bound (nextpnr's ICESTORM_LC count is the exact figure when place-and-route runs).
 */
export function cellsToResources(cells: Record<string, number>, family: Family): Resources {
  const sum = (re: RegExp, w = 1) => Object.entries(cells).filter(([k]) => re.test(k)).reduce((s, [, n]) => s + n * w, 0);
  if (family === 'xc7') {
    return {
      lut: sum(/^LUT[1-6]$/) + sum(/^RAM(64M|32M|128X1D)$/, 4) + sum(/^RAM(64X1D|32X1D|128X1S)$/, 2) + sum(/^RAM(64X1S|32X1S)$/) + sum(/^SRL/),
      ff: sum(/^FD[A-Z]*$/),
      dsp: sum(/^DSP48/),
      bram18: sum(/^RAMB18/) + sum(/^RAMB36/, 2),
    };
  }
  const lut = sum(/^SB_LUT4$/);
  const ff = sum(/^SB_DFF/);
  return { lc: Math.max(lut, ff), mac16: sum(/^SB_MAC16$/), ebr: sum(/^SB_RAM40_4K/) };
}

function cacheDir(): string {
  const d = cacheDirOf('synth');
  mkdirSync(d, { recursive: true });
  return d;
}

/** Content hash of the sources (paths relative to dir) and the $readmemh data the RTL reads. */
function readSources(dir: string, files: string[]): string {
  const h = createHash('sha256');
  for (const f of files) h.update(f).update('\0').update(readFileSync(join(dir, f))).update('\0');
  const weights = join(dir, 'weights');
  if (existsSync(weights)) {
    // ROM contents change the logic (constant folding), so they are part of the key.
    for (const f of readdirSorted(weights)) h.update(f).update(readFileSync(join(weights, f)));
  }
  return h.digest('hex');
}

function readdirSorted(d: string): string[] {
  return readdirSync(d).sort();
}

/**
 * A Yosys to run a synthesis script with: the installed binary (`kiln synth`, the default) or another
 * build (the peers bench runs @yowasp/yosys 0.55, the Yosys behind FINN's published figures).
 */
export interface YosysEngine {
  /** The version line (part of the cache key, and the bench's caption). */
  version(): Promise<string>;
  /**
   * Runs `script` with the design directory `dir` as the working directory (its $readmemh paths
   * resolve); `out(name)` is the path a script writes an output file to. Returns the named outputs
   * the run wrote, and its log.
   */
  run(dir: string, script: (out: (name: string) => string) => string, outputs: string[]): Promise<{ exitCode: number; log: string; outputs: Record<string, string | undefined> }>;
}

/** The installed Yosys binary (found by src/tools: KLN3001 with an install hint when missing). */
export const systemYosys: YosysEngine = {
  version: () => toolVersion(requireTool('yosys')),
  async run(dir, script, outputs) {
    const work = mkdtempSync(join(tmpdir(), 'kiln-synth-'));
    try {
      const r = await execa(requireTool('yosys'), ['-q', '-p', script((name) => join(work, name))], { cwd: dir, reject: false, all: true });
      const files = Object.fromEntries(outputs.map((o) => [o, existsSync(join(work, o)) ? readFileSync(join(work, o), 'utf8') : undefined]));
      return { exitCode: r.exitCode ?? 1, log: `${r.all ?? ''}`, outputs: files };
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
};

/** kiln's synthesis script for a family: out of context (no I/O buffers), flattened. */
export function synthScript(files: string[], top: string, family: Family, statFile: string, netlist?: string, ltpFile?: string): string {
  const synth = family === 'xc7'
    ? `synth_xilinx -family xc7 -noiopad -flatten -top ${top}`
    : `synth_ice40 -dsp -top ${top}${netlist ? ` -json ${netlist}` : ''}`;
  // -defer: modules are elaborated only with the parameters the top gives them (the generic hw/
  // modules' default $readmemh file names do not exist).
  return `read_verilog -defer ${files.join(' ')}; ${synth}; tee -q -o ${statFile} stat -json${ltpFile ? `; tee -q -o ${ltpFile} ltp -noff` : ''}`;
}

/**
 * Synthesizes `top` from `files` (paths relative to `dir`, which is the cwd so $readmemh paths
 * resolve) for a family, out of context (no I/O buffers), flattened; with the installed Yosys
 * unless `opts.engine` names another.
 */
export async function synthesize(dir: string, files: string[], top: string, family: Family, opts: { fmax?: boolean; depth?: boolean; engine?: YosysEngine } = {}): Promise<SynthResult> {
  const engine = opts.engine ?? systemYosys;
  const version = await engine.version();
  const key = createHash('sha256').update(JSON.stringify({ v: 2, version, top, family, fmax: !!opts.fmax, ...(opts.depth ? { depth: true } : {}), src: readSources(dir, files) })).digest('hex');
  const cached = join(cacheDir(), `${key}.json`);
  if (existsSync(cached)) {
    touch(cached);
    return JSON.parse(readFileSync(cached, 'utf8')) as SynthResult;
  }

  const t0 = Date.now();
  const fmax = family === 'ice40' && !!opts.fmax;
  const outputs = ['stat.json', ...(fmax ? ['netlist.json'] : []), ...(opts.depth ? ['ltp.txt'] : [])];
  const r = await engine.run(dir, (out) => synthScript(files, top, family, out('stat.json'), fmax ? out('netlist.json') : undefined, opts.depth ? out('ltp.txt') : undefined), outputs);
  const statText = r.outputs['stat.json'];
  if (r.exitCode !== 0 || statText === undefined) {
    const err = r.log.split('\n').find((l) => /ERROR/.test(l)) ?? `exit code ${r.exitCode}`;
    fail('ToolFailed', `yosys failed on ${top} (${family}): ${err.trim()}`);
  }
  const stat = JSON.parse(statText) as { modules: Record<string, { cells_by_type?: Record<string, number>; num_cells_by_type?: Record<string, number> }>; design?: { num_cells_by_type?: Record<string, number> } };
  const mod = stat.design ?? Object.values(stat.modules)[0];
  const cells = mod.num_cells_by_type ?? (mod as { cells_by_type?: Record<string, number> }).cells_by_type ?? {};
  const result: SynthResult = { family, top, resources: cellsToResources(cells, family), cells, seconds: 0 };
  if (opts.depth) {
    const m = /Longest topological path in \S+ \(length=(\d+)\)/.exec(r.outputs['ltp.txt'] ?? '');
    if (m) result.depth = Number(m[1]);
  }
  if (fmax) {
    const work = mkdtempSync(join(tmpdir(), 'kiln-pnr-'));
    try {
      const netlist = join(work, 'netlist.json');
      writeFileSync(netlist, r.outputs['netlist.json'] ?? '');
      Object.assign(result, await nextpnrFmax(netlist, work));
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  result.seconds = Math.round((Date.now() - t0) / 100) / 10;
  writeFileSync(`${cached}.${process.pid}.tmp`, JSON.stringify(result));
  renameSync(`${cached}.${process.pid}.tmp`, cached);
  prune('synth', `${key}.json`);
  return result;
}

/** Place and route on an UP5K (sg48) and read nextpnr's Fmax for clk. */
async function nextpnrFmax(netlist: string, work: string): Promise<{ fmaxMHz: number | null; fmaxNote?: string }> {
  const pnr = requireTool('nextpnr-ice40');
  const r = await execa(pnr, ['--up5k', '--package', 'sg48', '--json', netlist, '--asc', join(work, 'out.asc'), '--pcf-allow-unconstrained', '--seed', '1'], { reject: false, all: true, timeout: 600_000 });
  const text = `${r.all ?? ''}`;
  const m = [...text.matchAll(/Max frequency for clock\s+'[^']*':\s+([\d.]+)\s+MHz/g)].pop();
  if (m) return { fmaxMHz: Number(m[1]) };
  const why = text.split('\n').find((l) => /ERROR/.test(l))?.trim() ?? `exit code ${r.exitCode}`;
  return { fmaxMHz: null, fmaxNote: why };
}
