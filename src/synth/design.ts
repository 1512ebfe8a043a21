// `kiln synth`: Yosys on a compiled design directory, out of context per layer module and for the
// whole design (kiln_top), results merged into report.json (key `synth`) and report.html re-rendered
// with the measured figures beside the estimates.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../diag/index.ts';
import { readDataflowJson } from '../dataflow/json.ts';
import { describeHostGrid, type HostGrid } from '../lower/host.ts';
import { renderReportHtml } from '../report/html.ts';
import type { NetworkEstimate } from '../estimate/network.ts';
import type { Family, Resources } from '../estimate/units.ts';
import { synthesize, type SynthResult, type YosysEngine } from './yosys.ts';
import { readJsonFile } from '../io/json.ts';

export interface DesignSynth {
  family: Family;
  layers: Record<string, Resources>;
  /** xc7 with opts.depth: each layer's logic depth (cells on its longest register-to-register path, Yosys `ltp -noff`). */
  depth?: Record<string, number>;
  total: Resources;
  fmaxMHz?: number | null;
  fmaxNote?: string;
  /** Wall-clock seconds of Yosys (and nextpnr) runs, 0 when every result came from the cache. */
  seconds: number;
}

interface ManifestLike { files: string[]; top: string }

/** The generated layer wrappers: file → layer name (from the wrapper's second comment line). */
function layerWrappers(dir: string, files: string[]): { file: string; module: string; layer: string }[] {
  const out: { file: string; module: string; layer: string }[] = [];
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    const m = /^\/\/ \w+ layer '([^']+)': binds/m.exec(text);
    const mod = /^module (\w+)/m.exec(text);
    if (m && mod) out.push({ file: f, module: mod[1], layer: m[1] });
  }
  return out;
}

export async function synthDesign(dir: string, family: Family, opts: { layers?: boolean; depth?: boolean; onProgress?: (msg: string) => void; engine?: YosysEngine } = {}): Promise<DesignSynth> {
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) fail('FileNotFound', `'${dir}' is not a compiled design (no manifest.json); run kiln compile first`);
  const manifest = readJsonFile(manifestPath, 'manifest', 'recompile the design with kiln compile') as ManifestLike;
  const wrappers = layerWrappers(dir, manifest.files);
  const shared = manifest.files.filter((f) => f !== 'rtl/kiln_top.v' && !wrappers.some((w) => w.file === f));
  const layers: Record<string, Resources> = {};
  let depth: Record<string, number> | undefined;
  let seconds = 0;
  const t0 = Date.now();
  if (opts.layers ?? true) {
    for (const w of wrappers) {
      opts.onProgress?.(`synth ${family} ${w.module}`);
      const r = await synthesize(dir, [...shared, w.file], w.module, family, { engine: opts.engine, depth: opts.depth && family === 'xc7' });
      layers[w.layer] = r.resources;
      if (r.depth !== undefined) (depth ??= {})[w.layer] = r.depth;
    }
  }
  opts.onProgress?.(`synth ${family} ${manifest.top}`);
  const whole: SynthResult = await synthesize(dir, manifest.files, manifest.top, family, { fmax: family === 'ice40', engine: opts.engine });
  seconds = Math.round((Date.now() - t0) / 100) / 10;
  const result: DesignSynth = { family, layers, ...(depth ? { depth } : {}), total: whole.resources, seconds };
  if (whole.fmaxMHz !== undefined) result.fmaxMHz = whole.fmaxMHz;
  if (whole.fmaxNote) result.fmaxNote = whole.fmaxNote;
  mergeIntoReport(dir, result);
  return result;
}

/** The folded graph's layers for report.html's drawing (none when dataflow.json is missing: a flat list). */
function graphOf(dir: string): { layers: { name: string; kind: string; inputs: string[]; outputs: string[] }[]; input: string } {
  const path = join(dir, 'dataflow.json');
  if (!existsSync(path)) return { layers: [], input: 'input' };
  const df = readDataflowJson(path);
  return { layers: df.layers, input: df.inputs[0] };
}

/** report.json gets synth.<family>; report.html is re-rendered with the xc7 (and iCE40) figures. */
function mergeIntoReport(dir: string, s: DesignSynth): void {
  const path = join(dir, 'report.json');
  if (!existsSync(path)) return;
  const report = readJsonFile(path, 'report', 'recompile the design with kiln compile') as { model: string; estimate?: NetworkEstimate; device?: string; hostInput?: HostGrid; synth?: Record<string, DesignSynth> };
  report.synth = { ...(report.synth ?? {}), [s.family]: s };
  writeFileSync(path, JSON.stringify(report, null, 2) + '\n');
  if (!report.estimate) return;
  const x = report.synth.xc7;
  const i = report.synth.ice40;
  writeFileSync(join(dir, 'report.html'), renderReportHtml({
    model: report.model,
    estimate: report.estimate,
    clockMHz: 200,
    ...graphOf(dir),
    device: report.device,
    ...(report.hostInput ? { hostInput: describeHostGrid(report.hostInput) } : {}),
    measured: x || i ? { layers: x?.layers ?? {}, total: x?.total, ice40Total: i?.total, ...(i && i.fmaxMHz !== undefined ? { fmaxMHz: i.fmaxMHz } : {}) } : undefined,
  }));
}
