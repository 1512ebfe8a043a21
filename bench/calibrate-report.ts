// docs/calibration.md from the measurements (docs/calibration-data.json) and the current estimate
// formulas: per kind, family and resource the MAPE, max error, leave-one-out MAPE and whether the
// issue's Must-show thresholds hold; per case, estimate vs Yosys. Pure (no synthesis), so the unit
// test test/unit/estimate-calibration.test.ts recomputes it from the committed files.
import { layerResources } from '../src/estimate/resources.ts';
import type { Layer } from '../src/ir/dataflow.ts';
import { resourceKinds, type Family, type Resources } from '../src/estimate/units.ts';

export interface Measurement { label: string; kind: string; family: Family; resources: Resources; seconds: number }

/** The issue's Must-show: LUT (iCE40: LC) MAPE ≤ lut, FF MAPE ≤ ff, DSP / block RAM within `count` per layer. */
export interface Thresholds { lut: number; ff: number; count: number }
export const defaultThresholds: Thresholds = { lut: 0.15, ff: 0.2, count: 1 };

export interface CalibrationData { thresholds: Thresholds; measurements: Measurement[] }

/** Counted resources (DSP / block RAM: exact inventory) vs fitted ones (LUT / FF / LC: MAPE). */
const counted = new Set(['dsp', 'bram18', 'mac16', 'ebr']);

export interface SummaryRow {
  kind: string;
  family: Family;
  resource: string;
  cases: number;
  /** Mean absolute percentage error over cases with a non-zero measurement (null: none). */
  mape: number | null;
  maxRel: number | null;
  maxAbs: number;
  /** Cases whose estimate is within the count threshold (counted resources). */
  within: number;
  loo: number | null;
  meets: boolean;
}

function row(kind: string, family: Family, resource: string, cases: number, e: { rel: number[]; abs: number[] }, loo: number | null, t: Thresholds): SummaryRow {
  const mape = e.rel.length ? e.rel.reduce((a, b) => a + b, 0) / e.rel.length : null;
  const within = e.abs.filter((x) => x <= t.count).length;
  const limit = resource === 'ff' ? t.ff : t.lut;
  return {
    kind, family, resource, cases, mape,
    maxRel: e.rel.length ? Math.max(...e.rel) : null,
    maxAbs: Math.max(...e.abs),
    within,
    loo,
    meets: counted.has(resource) ? within === cases : mape === null || mape <= limit,
  };
}

export function summaryRows(data: CalibrationData, cases: Map<string, { layer: Layer }>, loo: Record<string, number>): { rows: SummaryRow[]; perCase: Map<string, string[][]> } {
  const t = data.thresholds;
  const rows: SummaryRow[] = [];
  const perCase = new Map<string, string[][]>();
  const ms = data.measurements.filter((m) => cases.has(m.label));
  for (const family of ['xc7', 'ice40'] as Family[]) {
    const errs = new Map(resourceKinds[family].map((r) => [r, { rel: [] as number[], abs: [] as number[] }]));
    const kinds = [...new Set(ms.filter((m) => m.family === family).map((m) => m.kind))];
    for (const kind of kinds) {
      const group = ms.filter((m) => m.kind === kind && m.family === family);
      const table: string[][] = [['case', ...resourceKinds[family].flatMap((r) => [`${r} est`, `${r} yosys`])]];
      const kindErrs = new Map(resourceKinds[family].map((r) => [r, { rel: [] as number[], abs: [] as number[] }]));
      for (const m of group) {
        const est = layerResources(cases.get(m.label)!.layer, family);
        table.push([m.label, ...resourceKinds[family].flatMap((r) => [String(est[r]), String(m.resources[r])])]);
        for (const r of resourceKinds[family]) {
          for (const e of [kindErrs.get(r)!, errs.get(r)!]) {
            e.abs.push(Math.abs(est[r] - m.resources[r]));
            if (m.resources[r] > 0) e.rel.push(Math.abs(est[r] - m.resources[r]) / m.resources[r]);
          }
        }
      }
      perCase.set(`${kind} (${family})`, table);
      for (const [resource, e] of kindErrs) rows.push(row(kind, family, resource, group.length, e, loo[`${kind}/${family}/${family === 'ice40' && resource === 'lc' ? 'lut4' : resource}`] ?? null, t));
    }
    const n = ms.filter((m) => m.family === family).length;
    if (n) for (const [resource, e] of errs) rows.push(row('all kinds', family, resource, n, e, null, t));
  }
  return { rows, perCase };
}

const pct = (x: number | null) => (x === null ? '—' : `${(100 * x).toFixed(1)} %`);

function mdTable(rows: string[][]): string[] {
  return [`| ${rows[0].join(' | ')} |`, `|${rows[0].map(() => '---').join('|')}|`, ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`)];
}

/** The summary table's rows as the markdown shows them (also what the unit test compares). */
export function summaryTable(rows: SummaryRow[]): string[][] {
  return [
    ['kind', 'family', 'resource', 'cases', 'MAPE', 'max |error|', 'max abs diff', 'within ±1', 'LOO MAPE', 'meets'],
    ...rows.map((r) => [r.kind, r.family, r.resource, String(r.cases), pct(r.mape), pct(r.maxRel), String(r.maxAbs), `${r.within}/${r.cases}`, pct(r.loo), r.meets ? 'yes' : '**no**']),
  ];
}

export function calibrationSummary(data: CalibrationData, cases: Map<string, { layer: Layer }>, loo: Record<string, number>): { markdown: string; rows: string[][] } {
  const t = data.thresholds;
  const { rows, perCase } = summaryRows(data, cases, loo);
  const table = summaryTable(rows);
  const counts = (family: Family) => {
    const kinds = [...new Set(rows.filter((r) => r.family === family).map((r) => r.kind))];
    return kinds.map((k) => `${k} ${rows.find((r) => r.family === family && r.kind === k)!.cases}`).join(', ');
  };
  const failing = rows.filter((r) => !r.meets);
  const lines = [
    '# Resource-estimate calibration (generated by `make calibrate`; do not edit)',
    '',
    'Each case is one layer synthesized alone, out of context, by Yosys 0.23 (`synth_xilinx -family xc7 -noiopad -flatten`,',
    '`synth_ice40 -dsp`), against `src/estimate` (formulas in `src/layers/cost/*.ts`, each term commented with the',
    'hardware structure it counts). LUT counts include LUTRAM (RAM64M / RAM32M = 4 LUTs); BRAM18 counts a RAMB36 as 2;',
    'iCE40 LC = max(SB_LUT4, SB_DFF) (packing lower bound). Error = (estimate − Yosys) / Yosys; MAPE skips rows where',
    'Yosys reports 0 (the absolute difference still counts in "max abs diff").',
    'Caveat: Yosys is not Vivado; Vivado typically packs tighter (LUT6_2 dual outputs, better carry use).',
    '',
    `Must show (issue 5): LUT / LC MAPE ≤ ${100 * t.lut} %, FF MAPE ≤ ${100 * t.ff} %, DSP and block RAM within ±${t.count} per layer`,
    '(column "meets"). MAPE is in-sample: LUT / FF / LC coefficients are fitted to these cases (`bench/calibrate-fit.ts`:',
    'non-negative, minimising the MAPE by iteratively reweighted least squares; a feature no case exercises keeps 1 per',
    'unit, the first-principles count). Leave-one-out MAPE (refit without the case, then',
    'predict it) shows how the formulas do on configurations they were not fitted to. DSP, BRAM18, SB_MAC16 and EBR are',
    'not fitted: they are counted from the multiplier and memory inventory (`cost/dsp.ts` ports Yosys\'s mul2dsp).',
    '',
    `Cases per kind — xc7: ${counts('xc7') || 'none'}; ice40: ${counts('ice40') || 'none'}.`,
    '',
    '## Summary',
    '',
    ...mdTable(table),
    '',
    failing.length
      ? `Not met: ${failing.map((r) => `${r.kind}/${r.family}/${r.resource}`).join(', ')}.`
      : 'Every kind, family and resource meets the thresholds.',
    '',
    '## Per case',
    '',
  ];
  for (const [name, tbl] of perCase) lines.push(`### ${name}`, '', ...mdTable(tbl), '');
  return { markdown: lines.join('\n'), rows: table };
}
