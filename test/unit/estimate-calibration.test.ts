// The committed calibration study (docs/calibration.md) is what the current formulas and coefficients
// give on the committed Yosys measurements (docs/calibration-data.json), and it meets the issue's
// Must-show thresholds stored there, except for the gaps listed here (which the table marks "no").
// Reads only committed files; no synthesis.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { calibrationCases } from '../../bench/calibrate-cases.ts';
import { calibrationSummary, summaryRows, type CalibrationData } from '../../bench/calibrate-report.ts';

const root = join(import.meta.dirname, '..', '..');
const data = JSON.parse(readFileSync(join(root, 'docs', 'calibration-data.json'), 'utf8')) as CalibrationData;
const loo = JSON.parse(readFileSync(join(root, 'docs', 'calibration-loo.json'), 'utf8')) as Record<string, number>;
const cases = new Map(calibrationCases(30).map((c) => [c.label, c]));
const { rows } = summaryRows(data, cases, loo);

/** kind/family/resource rows that do not meet the thresholds yet (docs/calibration.md says which and by how much). */
const KNOWN_GAPS = new Set<string>([]);

describe('resource-estimate calibration (docs/calibration.md)', () => {
  it('every measurement is a case of the sweep, in both families', () => {
    for (const m of data.measurements) expect(cases.has(m.label), m.label).toBe(true);
    expect(data.measurements.filter((m) => m.family === 'xc7').length).toBeGreaterThanOrEqual(30);
    expect(data.measurements.filter((m) => m.family === 'ice40').length).toBeGreaterThanOrEqual(30);
  });

  it('every layer kind has at least 30 measured configurations in each family (the issue\'s sweep size)', () => {
    const kinds = [...new Set([...cases.values()].map((c) => c.layer.kind))];
    expect(kinds.length).toBe(14);
    for (const family of ['xc7', 'ice40']) {
      for (const kind of kinds) {
        const n = data.measurements.filter((m) => m.family === family && m.kind === kind).length;
        expect(n, `${kind} (${family})`).toBeGreaterThanOrEqual(30);
      }
    }
  });

  it('the committed table is what the current formulas give on the committed measurements', () => {
    const { markdown } = calibrationSummary(data, cases, loo);
    expect(readFileSync(join(root, 'docs', 'calibration.md'), 'utf8')).toBe(markdown);
  });

  it('LUT / LC and FF MAPE and DSP / block-RAM counts meet the thresholds, gaps aside', () => {
    for (const r of rows) {
      const name = `${r.kind}/${r.family}/${r.resource}`;
      expect(r.meets, `${name}: MAPE ${r.mape}, ${r.within}/${r.cases} within ±${data.thresholds.count}`).toBe(!KNOWN_GAPS.has(name));
    }
  });

  it('DSP48 / SB_MAC16 and BRAM18 / EBR estimates are within one on every case', () => {
    for (const r of rows.filter((x) => ['dsp', 'mac16', 'bram18', 'ebr'].includes(x.resource) && !KNOWN_GAPS.has(`${x.kind}/${x.family}/${x.resource}`))) {
      expect(r.maxAbs, `${r.kind}/${r.family}/${r.resource}`).toBeLessThanOrEqual(data.thresholds.count);
    }
  });
});
