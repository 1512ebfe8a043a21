// report.html: one self-contained page (inline CSS and SVG, no scripts, no external files) with
// per-layer bar charts of cycles, LUT, DSP and BRAM (estimate, and Yosys-measured when `kiln synth`
// ran), the folding table, and the bottleneck layer highlighted.
import type { Resources } from './units.ts';
import type { NetworkEstimate } from './network.ts';

export interface HtmlReportInput {
  model: string;
  estimate: NetworkEstimate;
  clockMHz: number;
  /** Yosys results per layer name (xc7), and for the whole design, when measured. */
  measured?: { layers: Record<string, Resources>; total?: Resources; ice40Total?: Resources; fmaxMHz?: number | null };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (n: number) => (Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 1 }));

interface Bar { label: string; value: number; measured?: number; hot: boolean }

/** A horizontal bar chart: one row per layer, estimate bar (and measured bar under it). */
function chart(id: string, title: string, bars: Bar[]): string {
  const rowH = bars.some((b) => b.measured !== undefined) ? 26 : 16;
  const labelW = 190;
  const plotW = 420;
  const max = Math.max(1, ...bars.flatMap((b) => [b.value, b.measured ?? 0]));
  const h = bars.length * rowH + 24;
  const rows = bars.map((b, i) => {
    const y = 20 + i * rowH;
    const w = (b.value / max) * plotW;
    const cls = b.hot ? 'bar hot' : 'bar';
    let s = `<text x="${labelW - 6}" y="${y + 11}" text-anchor="end">${esc(b.label)}</text>` +
      `<rect class="${cls}" x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="12"><title>${esc(b.label)}: ${fmt(b.value)}</title></rect>` +
      `<text x="${labelW + w + 4}" y="${y + 11}">${fmt(b.value)}</text>`;
    if (b.measured !== undefined) {
      const mw = (b.measured / max) * plotW;
      s += `<rect class="bar measured" x="${labelW}" y="${y + 12}" width="${mw.toFixed(1)}" height="10"><title>${esc(b.label)} measured: ${fmt(b.measured)}</title></rect>` +
        `<text class="small" x="${labelW + mw + 4}" y="${y + 21}">${fmt(b.measured)}</text>`;
    }
    return s;
  });
  return `<figure class="chart" id="${id}"><figcaption>${esc(title)}</figcaption>` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + plotW + 80}" height="${h}" role="img" aria-label="${esc(title)}">${rows.join('')}</svg></figure>`;
}

export function renderReportHtml(r: HtmlReportInput): string {
  const e = r.estimate;
  const m = r.measured;
  const hot = (name: string) => name === e.bottleneck;
  const bars = (get: (l: NetworkEstimate['layers'][number]) => number, res?: string): Bar[] =>
    e.layers.map((l) => ({ label: l.name, value: get(l), measured: res && m ? m.layers[l.name]?.[res] : undefined, hot: hot(l.name) }));
  const fps = (r.clockMHz * 1e6) / e.cyclesPerInference;
  const folding = e.layers.map((l) => `<tr${hot(l.name) ? ' class="hot"' : ''}><td>${esc(l.name)}</td><td>${esc(l.kind)}</td><td>${l.pe ?? ''}</td><td>${l.simd ?? ''}</td>` +
    `<td>${fmt(l.cycles)}</td><td>${fmt(l.xc7.lut)}</td><td>${m?.layers[l.name] ? fmt(m.layers[l.name].lut) : '—'}</td><td>${fmt(l.xc7.ff)}</td><td>${fmt(l.xc7.dsp)}</td><td>${fmt(l.xc7.bram18)}</td>` +
    `<td>${fmt(l.ice40.lc)}</td><td>${fmt(l.ice40.mac16)}</td><td>${fmt(l.ice40.ebr)}</td></tr>`).join('\n');
  const t = e.total;
  const totals = `<tr class="total"><td>total</td><td></td><td></td><td></td><td>${fmt(e.cyclesPerInference)} (II)</td><td>${fmt(t.xc7.lut)}</td><td>${m?.total ? fmt(m.total.lut) : '—'}</td>` +
    `<td>${fmt(t.xc7.ff)}</td><td>${fmt(t.xc7.dsp)}</td><td>${fmt(t.xc7.bram18)}</td><td>${fmt(t.ice40.lc)}</td><td>${fmt(t.ice40.mac16)}</td><td>${fmt(t.ice40.ebr)}</td></tr>`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>kiln report: ${esc(r.model)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
td:first-child,td:nth-child(2),th{text-align:left}tr.hot td{background:#fde2e1;font-weight:bold}tr.total td{font-weight:bold;border-top:2px solid #444}
.chart{display:inline-block;margin:0 2em 1em 0}figcaption{font-weight:bold}svg text{font-size:11px}svg text.small{font-size:9px;fill:#555}
.bar{fill:#4a7fc1}.bar.hot{fill:#d9534f}.bar.measured{fill:#9bbf5a}.legend span{display:inline-block;width:1em;height:.8em;margin:0 .3em 0 1em}
</style></head><body>
<h1>kiln report: ${esc(r.model)}</h1>
<table id="summary">
<tr><th>cycles per inference (II)</th><td>${fmt(e.cyclesPerInference)}</td></tr>
<tr><th>first-output latency</th><td>${fmt(e.firstOutputLatency)} cycles (${fmt((e.firstOutputLatency / r.clockMHz) * 1000)} ns)</td></tr>
<tr><th>throughput at ${fmt(r.clockMHz)} MHz</th><td>${fmt(Math.round(fps))} inferences/s</td></tr>
<tr><th>bottleneck</th><td>${esc(e.bottleneck)}</td></tr>
${m?.fmaxMHz !== undefined ? `<tr><th>iCE40 UP5K Fmax (nextpnr)</th><td>${m.fmaxMHz === null ? 'place-and-route failed' : `${fmt(m.fmaxMHz)} MHz`}</td></tr>` : ''}
</table>
<p class="legend"><span style="background:#4a7fc1"></span>estimate<span style="background:#d9534f"></span>bottleneck${m ? '<span style="background:#9bbf5a"></span>Yosys (xc7, out of context)' : ''}</p>
${chart('chart-cycles', 'cycles per inference', bars((l) => l.cycles))}
${chart('chart-lut', 'LUT (7-series)', bars((l) => l.xc7.lut, 'lut'))}
${chart('chart-dsp', 'DSP48', bars((l) => l.xc7.dsp, 'dsp'))}
${chart('chart-bram', 'BRAM18', bars((l) => l.xc7.bram18, 'bram18'))}
<h2>Folding and resources per layer</h2>
<table id="folding">
<tr><th>layer</th><th>kind</th><th>PE</th><th>SIMD</th><th>cycles</th><th>LUT est</th><th>LUT Yosys</th><th>FF</th><th>DSP</th><th>BRAM18</th><th>iCE40 LC</th><th>MAC16</th><th>EBR</th></tr>
${folding}
${totals}
</table>
<p>Estimates: src/estimate (formulas and their calibration error in docs/calibration.md). Yosys is not Vivado.</p>
</body></html>
`;
}
