// `make calibrate`: the resource-model calibration study. Every case of bench/calibrate-cases.ts is
// compiled as a one-layer design and its layer module synthesized out of context by Yosys
// (synth_xilinx -family xc7 and synth_ice40; results cached by content hash in .cache/synth, so only
// cases whose RTL or parameters changed run again), then compared with src/estimate's formulas.
// Writes docs/calibration-data.json (the measurements and the Must-show thresholds) and
// docs/calibration.md (per kind and resource: MAPE, max error, leave-one-out MAPE; per case: estimate
// vs Yosys).
//   npx tsx bench/calibrate.ts [--family xc7|ice40|both] [--kinds MVU,Threshold] [--per-kind N] [--data file.json]
//   npx tsx bench/calibrate.ts --fit            refit src/layers/cost/coefficients.json (+ docs/calibration-loo.json)
//   npx tsx bench/calibrate.ts --report-only    rewrite docs/calibration.md from the data file
//   npx tsx bench/calibrate.ts --merge a.json,b.json   take parallel workers' measurements into the data file
// Measuring options: --missing measures only cases with no measurement for the family yet (in the
// --data file or docs/calibration-data.json); --shard I/N takes every N-th selected case from the I-th
// (I = 0..N-1, for parallel workers); --no-report leaves docs/calibration.md alone (worker runs).
// Measuring replaces each selected case's entry in the data file with a fresh (cached) result, so a
// stale measurement of changed RTL never survives a run over it. Several workers may run at once with
// different --data files (synth results are shared through the cache); a final run merges them.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDesign } from '../src/codegen/index.ts';
import { writeDirAtomic } from '../src/codegen/write.ts';
import { kilnRoot } from '../src/tools/root.ts';
import { layerKind } from '../src/layers/index.ts';
import { resourceKinds, type Family } from '../src/estimate/units.ts';
import { synthesize } from '../src/synth/yosys.ts';
import { calibrationCases, type CalCase } from './calibrate-cases.ts';
import { fitAll } from './calibrate-fit.ts';
import { calibrationSummary, defaultThresholds, type CalibrationData, type Measurement } from './calibrate-report.ts';

const args = process.argv.slice(2);
const opt = (name: string) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : undefined; };
const familyArg = opt('family') ?? 'both';
const families: Family[] = familyArg === 'both' ? ['xc7', 'ice40'] : [familyArg as Family];
const perKind = Number(opt('per-kind') ?? 30);
const kinds = opt('kinds')?.split(',');
const defaultDataPath = join(kilnRoot, 'docs', 'calibration-data.json');
const dataPath = opt('data') ?? defaultDataPath;
const missingOnly = args.includes('--missing');
const [shardIndex, shardCount] = (opt('shard') ?? '0/1').split('/').map(Number);
const docPath = join(kilnRoot, 'docs', 'calibration.md');
const looPath = join(kilnRoot, 'docs', 'calibration-loo.json');

// The sweep is calibrationCases(30); --per-kind N measures only each kind's first N of it.
const allCases = calibrationCases(30);
const byLabel = new Map(allCases.map((c) => [c.label, c]));
const measured = new Set(calibrationCases(perKind).map((c) => c.label));
const data: CalibrationData = existsSync(dataPath)
  ? (JSON.parse(readFileSync(dataPath, 'utf8')) as CalibrationData)
  : { thresholds: defaultThresholds, measurements: [] };

function save(): void {
  data.measurements.sort((a, b) => a.family.localeCompare(b.family) || a.kind.localeCompare(b.kind) || a.label.localeCompare(b.label));
  writeFileSync(dataPath, JSON.stringify(data, null, 1) + '\n');
}

async function measure(c: CalCase, family: Family): Promise<Measurement> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-cal-'));
  try {
    const fold = { dut: Object.fromEntries(Object.entries(c.layer.attrs).filter(([k]) => k === 'pe' || k === 'simd')) } as never;
    const design = buildDesign(c.df, { fold });
    const out = join(dir, 'out');
    writeDirAtomic(out, design.files, false);
    const kind = layerKind(c.layer.kind);
    const top = `${kind.spec.rtl.variant?.(kind.parse(c.layer) as never, c.layer.consts)?.module ?? kind.spec.rtl.module}_dut`;
    const files = design.manifest.files.filter((f) => f !== 'rtl/kiln_top.v');
    const r = await synthesize(out, files, top, family);
    return { label: c.label, kind: c.layer.kind, family, resources: r.resources, seconds: r.seconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// --merge a.json,b.json: take the workers' measurements (they win over the data file's), then stop.
const merge = opt('merge');
if (merge) {
  for (const f of merge.split(',')) {
    const raw = JSON.parse(readFileSync(f, 'utf8')) as CalibrationData | Measurement[];
    const ms = Array.isArray(raw) ? raw : raw.measurements;
    const keys = new Set(ms.map((m) => `${m.family}:${m.label}`));
    data.measurements = [...data.measurements.filter((m) => !keys.has(`${m.family}:${m.label}`)), ...ms.filter((m) => byLabel.has(m.label))];
  }
  save();
  process.stdout.write(`merged: ${data.measurements.length} measurements\n`);
  process.exit(0);
}

if (args.includes('--fit')) {
  // Fit: write src/layers/cost/coefficients.json and stop (the report runs in a fresh process, which
  // imports the new coefficients).
  const samples = data.measurements.filter((m) => byLabel.has(m.label)).map((m) => ({ layer: byLabel.get(m.label)!.layer, family: m.family, measured: m.resources }));
  const { coefficients, loo } = fitAll(samples);
  writeFileSync(join(kilnRoot, 'src', 'layers', 'cost', 'coefficients.json'), JSON.stringify(coefficients, null, 2) + '\n');
  writeFileSync(looPath, JSON.stringify(loo, null, 2) + '\n');
  process.stdout.write(`fitted ${samples.length} samples\n`);
  process.exit(0);
}

if (!args.includes('--report-only')) {
  // Round-robin over kinds (each kind's i-th case, then the (i+1)-th), so an interrupted run covers every kind.
  const rank = new Map<string, number>();
  const index = new Map(allCases.map((c) => [c.label, rank.set(c.layer.kind, (rank.get(c.layer.kind) ?? -1) + 1).get(c.layer.kind)!]));
  const selected = allCases.filter((c) => measured.has(c.label) && (!kinds || kinds.includes(c.layer.kind))).sort((x, y) => index.get(x.label)! - index.get(y.label)!);
  // --missing: what neither the --data file nor the committed data file has measured yet.
  const known = new Set(data.measurements.map((m) => `${m.family}:${m.label}`));
  if (missingOnly && dataPath !== defaultDataPath && existsSync(defaultDataPath)) {
    for (const m of (JSON.parse(readFileSync(defaultDataPath, 'utf8')) as CalibrationData).measurements) known.add(`${m.family}:${m.label}`);
  }
  for (const family of families) {
    const todo = selected.filter((c) => !missingOnly || !known.has(`${family}:${c.label}`)).filter((_, i) => i % shardCount === shardIndex);
    for (const [i, c] of todo.entries()) {
      try {
        const m = await measure(c, family);
        data.measurements = [...data.measurements.filter((x) => !(x.family === family && x.label === c.label)), m];
        save();
        process.stdout.write(`[${family} ${i + 1}/${todo.length}] ${c.label}: ${JSON.stringify(m.resources)} (${m.seconds}s)\n`);
      } catch (e) {
        process.stdout.write(`[${family} ${i + 1}/${todo.length}] ${c.label}: FAILED ${(e as Error).message}\n`);
      }
    }
  }
  // Drop measurements of cases no longer in the sweep (renamed / removed configurations).
  data.measurements = data.measurements.filter((m) => byLabel.has(m.label));
  save();
  if (args.includes('--no-report')) process.exit(0);
}

// ---- report ---------------------------------------------------------------------------------------
const loo = existsSync(looPath) ? (JSON.parse(readFileSync(looPath, 'utf8')) as Record<string, number>) : {};
const { markdown, rows } = calibrationSummary(data, byLabel, loo);
writeFileSync(docPath, markdown);
process.stdout.write(`${rows.map((r) => r.join('\t')).join('\n')}\nwrote ${docPath}\n`);
void resourceKinds;
