// Builds the Verilator simulator of a compiled design, cached by content: the binary lives in
// `<cache>/verilator/<sha256 of RTL sources + harness + flags + Verilator version>/tb`, so a design that
// did not change is never rebuilt, and ccache (when present) makes rebuilding similar designs cheap.
// Cache root: $KILN_CACHE, else `.cache/` at the kiln checkout.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { Code, fail, KilnError } from '../diag/index.ts';
import { cacheRoot } from '../util/cache-root.ts';
import { prune, touch } from '../util/lru.ts';
import { readManifest } from './manifest.ts';
import { findTool, requireTool, toolVersion } from '../tools/index.ts';
import { kilnRoot } from '../tools/root.ts';

export const harnessPath = join(kilnRoot, 'sim', 'tb_main.cpp');
const debugHeader = join(kilnRoot, 'sim', 'tb_debug.h');
const debugFlags = ['--trace-fst', '--prefix', 'Vkiln_top', '-CFLAGS', '-DKILN_TRACE'];

export { cacheRoot }; // defined in src/util/cache-root.ts (no dependencies: kiln estimate uses it)

export interface BuildProgress {
  phase: 'build';
  message: string;
}

export interface BuildOptions {
  onProgress?: (p: BuildProgress) => void;
  /** Parallel C++ compile jobs (default 2). */
  jobs?: number;
  /**
   * Compile the generated C++ without optimisation: builds are faster, simulation slower. For tests
   * that run many small designs for few cycles (the fuzz test).
   */
  quickBuild?: boolean;
  /**
   * Build another harness around the design (the `kiln hil --sim` virtual board): `harness` replaces
   * tb_main.cpp, `top` the manifest's top module, `extraFiles` are compiled after the design's RTL and
   * `params` set the top's Verilog parameters (-G). `debug`: the trace build (src/sim/debug.ts): FST
   * tracing, tb_main.cpp with -DKILN_TRACE (sim/tb_debug.h), the class named Vkiln_top as the harness
   * expects. All of it is part of the cache key.
   */
  wrapper?: { harness: string; top: string; extraFiles: string[]; params: Record<string, number>; debug?: boolean };
}

export interface BuildResult {
  binary: string;
  cached: boolean;
  seconds: number;
  key: string;
}

// Chosen by measurement (CPU time of nn2fpga ResNet-8, 4 vectors, interleaved runs on the shared
// 2-core machine; sim/README.md): --unroll-count 256 unrolls a 255-step Threshold's comparison loop
// (1.5x), and the generated C++ at -O2 instead of Verilator's -Os inlines its VL_* helpers (1.45x):
// 0.079 -> 0.18 Mcycles/s together. -O3 (Verilator or C++), --x-assign/--x-initial fast: no gain.
const verilatorFlags = ['--cc', '--exe', '--build', '-O2', '--unroll-count', '256'];
const optimisedCxx = ['OPT_FAST=-O2'];

/** The Verilator binary for the design in outDir (built or from the cache). */
export async function buildSim(outDir: string, opts: BuildOptions = {}): Promise<BuildResult> {
  const started = performance.now();
  const verilator = requireTool('verilator');
  const manifest = readManifest(outDir);
  const sources = [...manifest.files.map((f) => resolve(outDir, f)), ...(opts.wrapper?.extraFiles ?? [])];
  const top = opts.wrapper?.top ?? manifest.top;
  const harness = opts.wrapper?.harness ?? harnessPath;
  const params = Object.entries(opts.wrapper?.params ?? {}).map(([k, v]) => `-G${k}=${v}`);
  const extraFlags = opts.wrapper?.debug ? debugFlags : [];
  for (const s of sources) if (!existsSync(s)) fail('FileNotFound', `RTL file ${s} listed in the manifest does not exist`);

  const hash = createHash('sha256');
  const part = (label: string, data: string | Buffer) => {
    hash.update(`${label}\0${data.length}\0`);
    hash.update(data);
  };
  part('verilator', await toolVersion(verilator));
  const makeFlags = [...(opts.quickBuild ? ['OPT_FAST=-O0', 'OPT_SLOW=-O0', 'OPT_GLOBAL=-O0'] : optimisedCxx)];
  part('flags', JSON.stringify([verilatorFlags, top, makeFlags, ...params, ...extraFlags]));
  part('harness', readFileSync(harness));
  if (opts.wrapper?.debug) part('debug-harness', readFileSync(debugHeader));
  sources.forEach((f, i) => {
    part(`name${i}`, f.replace(/^.*\//, ''));
    part(`file${i}`, readFileSync(f));
  });
  const key = hash.digest('hex');
  const dir = join(cacheRoot(), 'verilator', key);
  const binary = join(dir, 'tb');
  if (existsSync(binary)) {
    touch(dir); // most recently used: the last to go when the cache is over its size (src/util/lru.ts)
    opts.onProgress?.({ phase: 'build', message: 'Verilator build cached' });
    return { binary, cached: true, seconds: (performance.now() - started) / 1000, key };
  }

  // Build into a private directory, then rename: concurrent builds of one design cannot see half a binary.
  const tmp = `${dir}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  mkdirSync(tmp, { recursive: true });
  try {
    const ccache = findTool('ccache');
    if (ccache) makeFlags.push(`OBJCACHE=${ccache}`);
    const args = [
      ...verilatorFlags,
      ...extraFlags,
      '-j', String(opts.jobs ?? 2),
      '--top-module', top,
      ...params,
      '--Mdir', join(tmp, 'obj'),
      '-o', '../tb',
      ...makeFlags.flatMap((f) => ['-MAKEFLAGS', f]),
      ...sources,
      harness,
    ];
    opts.onProgress?.({ phase: 'build', message: `Verilator: building ${top} (${sources.length} files)` });
    const r = await execa(verilator, args, { cwd: tmp, reject: false, all: true });
    if (r.exitCode !== 0 || !existsSync(join(tmp, 'tb'))) {
      writeFileSync(join(tmp, 'build.log'), r.all ?? '');
      const log = `${r.all ?? ''}`.split('\n').filter((l) => /%Error|%Warning|error:/.test(l)).slice(0, 8).join('\n');
      throw new KilnError({ code: Code.ToolFailed, message: `Verilator could not build ${outDir} (exit ${r.exitCode}):`, detail: log || `${r.all ?? ''}`.slice(-2000) });
    }
    // The object dir is large and only useful to make; keep the binary.
    rmSync(join(tmp, 'obj'), { recursive: true, force: true });
    mkdirSync(join(cacheRoot(), 'verilator'), { recursive: true });
    try {
      renameSync(tmp, dir);
    } catch {
      // Another process finished the same build first; use its result.
      if (!existsSync(binary)) throw new Error(`could not move ${tmp} to ${dir}`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  prune('verilator', key);
  opts.onProgress?.({ phase: 'build', message: 'Verilator build done' });
  return { binary, cached: false, seconds: (performance.now() - started) / 1000, key };
}
