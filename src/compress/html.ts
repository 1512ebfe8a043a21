// The compression report as one self-contained HTML page (inline CSS and SVG, no scripts): per model
// a rate–distortion plot (top-1 accuracy against compression ratio Cr, log scale, one numbered point
// per method or combination; hollow points do not lower to hardware) and the report table.
import type { Metrics, ReportRow } from './report.ts';

export interface HtmlSection {
  title: string;
  rows: ReportRow[];
  baseline: Metrics;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Nice tick values covering [lo, hi] on a log axis (1, 2, 4, 8 … for Cr). */
function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let t = 2 ** Math.floor(Math.log2(lo)); t <= hi * 1.0001; t *= 2) ticks.push(t);
  return ticks;
}

/** Accuracy (%) vs Cr (log2 axis); points are numbered as the table rows. */
export function rateDistortionSvg(rows: ReportRow[]): string {
  const pts = rows.map((r, i) => ({ i: i + 1, r })).filter((p) => p.r.accuracy !== undefined && Number.isFinite(p.r.cr) && p.r.cr > 0);
  if (!pts.length) return '<p>No accuracy measured (give --eval and --labels).</p>';
  const W = 640;
  const H = 360;
  const left = 56;
  const right = 20;
  const top = 16;
  const bottom = 44;
  const crs = pts.map((p) => p.r.cr);
  const xLo = Math.log2(Math.min(1, ...crs));
  const xHi = Math.log2(Math.max(2, ...crs) * 1.15);
  const accs = pts.map((p) => 100 * p.r.accuracy!);
  const yLo = Math.max(0, Math.floor(Math.min(...accs) / 10) * 10 - 5);
  const yHi = Math.min(100, Math.ceil(Math.max(...accs) / 5) * 5 + 2);
  const x = (cr: number) => left + ((Math.log2(cr) - xLo) / (xHi - xLo)) * (W - left - right);
  const y = (acc: number) => top + ((yHi - acc) / (yHi - yLo)) * (H - top - bottom);
  const parts: string[] = [];
  for (const t of logTicks(2 ** xLo, 2 ** xHi)) {
    parts.push(`<line class="grid" x1="${x(t).toFixed(1)}" y1="${top}" x2="${x(t).toFixed(1)}" y2="${H - bottom}"/>`, `<text x="${x(t).toFixed(1)}" y="${H - bottom + 16}" text-anchor="middle">${t}×</text>`);
  }
  const yStep = yHi - yLo > 40 ? 10 : 5;
  for (let a = Math.ceil(yLo / yStep) * yStep; a <= yHi; a += yStep) {
    parts.push(`<line class="grid" x1="${left}" y1="${y(a).toFixed(1)}" x2="${W - right}" y2="${y(a).toFixed(1)}"/>`, `<text x="${left - 6}" y="${(y(a) + 4).toFixed(1)}" text-anchor="end">${a} %</text>`);
  }
  parts.push(`<text x="${(left + W - right) / 2}" y="${H - 8}" text-anchor="middle">compression ratio Cr (weight memory before / after, log scale)</text>`);
  parts.push(`<text transform="translate(14 ${(top + H - bottom) / 2}) rotate(-90)" text-anchor="middle">top-1 accuracy</text>`);
  for (const p of pts) {
    const cx = x(p.r.cr).toFixed(1);
    const cy = y(100 * p.r.accuracy!).toFixed(1);
    const cls = p.r.lowers === 'yes' ? 'pt' : 'pt float';
    parts.push(`<circle class="${cls}" cx="${cx}" cy="${cy}" r="4"><title>${p.i}. ${esc(p.r.name)}: Cr ${p.r.cr.toFixed(1)}×, ${(100 * p.r.accuracy!).toFixed(2)} %</title></circle>`, `<text class="small" x="${(Number(cx) + 6).toFixed(1)}" y="${(Number(cy) - 5).toFixed(1)}">${p.i}</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img" aria-label="accuracy against compression ratio">${parts.join('')}</svg>`;
}

function table(rows: ReportRow[], baseline: Metrics): string {
  const device = rows.find((r) => r.budget)?.budget?.device ?? '';
  const head = ['#', 'method', 'weights', 'memory KiB', 'Cr', 'MACs', 'nonzero MACs', 'multipliers', 'bits', 'lowers', 'cycles', 'LUT', 'DSP', 'BRAM18', `II @${device}`, 'Sr', 'accuracy', 'Δacc'];
  const body = rows.map((r, i) => [
    String(i + 1), r.name, String(r.weights), (r.memoryBits / 8192).toFixed(1), `${r.cr.toFixed(1)}×`, String(r.macs ?? '?'), String(r.nonzeroMacs ?? '?'),
    String(r.multipliers), r.bits, r.lowers, String(r.hardware?.cycles ?? ''), String(r.hardware?.lut ?? ''), String(r.hardware?.dsp ?? ''), String(r.hardware?.bram18 ?? ''),
    r.budget === undefined ? '' : r.budget.cycles === undefined ? `no fit (${r.budget.over})` : String(r.budget.cycles),
    r.sr === undefined ? '' : `${r.sr.toFixed(2)}×`,
    r.accuracy === undefined ? '' : `${(100 * r.accuracy).toFixed(2)} %`,
    r.accuracy === undefined || baseline.accuracy === undefined ? '' : (100 * (r.accuracy - baseline.accuracy)).toFixed(2),
  ]);
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>\n${body.map((b) => `<tr>${b.map((c, i) => `<td${i === 1 ? ' class="name"' : ''}>${esc(c)}</td>`).join('')}</tr>`).join('\n')}\n</tbody></table>`;
}

export function renderCompressionHtml(title: string, sections: HtmlSection[], notes: string[] = []): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
table { border-collapse: collapse; margin: 12px 0 28px; font-size: 12px; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; }
td.name { text-align: left; }
th { background: #f0f0f0; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
svg text.small { font-size: 10px; }
line.grid { stroke: #e4e4e4; }
circle.pt { fill: #1f6fb4; stroke: #1f6fb4; }
circle.pt.float { fill: #fff; stroke: #b4531f; stroke-width: 1.5; }
</style></head><body>
<h1>${esc(title)}</h1>
${notes.map((n) => `<p>${esc(n)}</p>`).join('\n')}
<p>Filled points lower to kiln hardware; hollow ones keep float weights (KLN2001). Cycles, LUT, DSP, BRAM18: the default-folded design's estimate.
II @device: the fastest folding whose estimate fits the device (sparse MVUs where they save cycles); Sr = the reference design's II there / this design's.</p>
${sections.map((s) => `<h2>${esc(s.title)}</h2>\n<figure>${rateDistortionSvg(s.rows)}<figcaption>rate–distortion: accuracy against Cr</figcaption></figure>\n${table(s.rows, s.baseline)}`).join('\n')}
</body></html>
`;
}
