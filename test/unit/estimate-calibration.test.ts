// The committed calibration study (docs/calibration.md) is what the current formulas and coefficients
// give on the committed Yosys measurements (docs/calibration-data.json), and over the whole sweep it
// meets the Must-show thresholds stored there. Reads only committed files; no synthesis.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { calibrationCases } from '../../bench/calibrate-cases.ts';
import { calibrationSummary, summaryRows, type CalibrationData } from '../../bench/calibrate-report.ts';

const root = join(import.meta.dirname, '..', '..');
const data = JSON.parse(readFileSync(join(root, 'docs', 'calibration-data.json'), 'utf8')) as CalibrationData;
const loo = JSON.parse(readFileSync(join(root, 'docs', 'calibration-loo.json'), 'utf8')) as Record<string, number>;
const cases = new Map(calibrationCases(30).map((c) => [c.label, c]));

describe('resource-estimate calibration (docs/calibration.md)', () => {
  it('every measurement is a case of the sweep', () => {
    expect(data.measurements.length).toBeGreaterThan(0);
    for (const m of data.measurements) expect(cases.has(m.label), m.label).toBe(true);
  });

  it('the committed table is what the current formulas give on the committed measurements', () => {
    const { markdown } = calibrationSummary(data, cases, loo);
    expect(readFileSync(join(root, 'docs', 'calibration.md'), 'utf8')).toBe(markdown);
  });

  it('over the whole sweep, per family: LUT / LC and FF MAPE and DSP / block RAM within the thresholds', () => {
    const { rows } = summaryRows(data, cases, loo);
    const overall = rows.filter((r) => r.kind === 'all kinds');
    expect(overall.map((r) => r.family)).toContain('xc7');
    expect(overall.map((r) => r.family)).toContain('ice40');
    for (const r of overall) expect(r.meets, `${r.family}/${r.resource}: MAPE ${r.mape}, ${r.within}/${r.cases} within ±1`).toBe(true);
  });

  it('DSP48 / SB_MAC16 counts are exact or within one on every case', () => {
    const { rows } = summaryRows(data, cases, loo);
    for (const r of rows.filter((x) => x.resource === 'dsp' || x.resource === 'mac16')) {
      expect(r.maxAbs, `${r.kind}/${r.family}`).toBeLessThanOrEqual(data.thresholds.count);
    }
  });
});
