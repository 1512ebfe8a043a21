// report.html: one self-contained page (inline CSS and SVG, no scripts, no external files) that a
// person reads. Helper layers (pads, windows, width converters, FIFOs) are grouped under the model
// layer they serve; the dataflow graph of those groups is drawn as SVG with the bottleneck marked;
// each resource is shown against the chosen device's budget; per-layer charts and the folding table
// follow. Names are never clipped: HTML labels wrap, SVG boxes are sized to their (wrapped) text.
import { loadDevice, type Device } from '../dataflow/fold-auto.ts';
import type { LayerEstimate, NetworkEstimate } from '../estimate/network.ts';
import { resourceKinds, type Resources } from '../estimate/units.ts';

/** What the graph drawing needs of the folded dataflow graph (its layers, in topological order). */
export interface ReportLayer {
  name: string;
  kind: string;
  inputs: string[];
  outputs: string[];
}

export interface HtmlReportInput {
  model: string;
  estimate: NetworkEstimate;
  clockMHz: number;
  /** The folded graph's layers (dataflow.json): the graph and the grouping. */
  layers: ReportLayer[];
  /** The graph's input stream. */
  input: string;
  /** The device whose budget the resources are shown against (default DEFAULT_DEVICE). */
  device?: string;
  /** When kiln chose a float input's grid: the line that says which and its worst-case input error (src/lower/host.ts describeHostGrid). */
  hostInput?: string;
  /** Yosys results per layer name (xc7), and for the whole design, when measured. */
  measured?: { layers: Record<string, Resources>; total?: Resources; ice40Total?: Resources; fmaxMHz?: number | null };
}

/** The budget shown when the compile chose no device (--fold auto --device picks one). */
export const DEFAULT_DEVICE = 'xc7z020';

/** Layers that exist to feed another layer; in the report they belong to the model layer they serve. */
export const HELPER_KINDS = new Set(['Pad', 'SlidingWindow', 'WidthConverter', 'Fifo']);

export interface LayerGroup {
  /** The model layer (not a helper); its name names the group. */
  main: string;
  /** Its helpers, in dataflow order. */
  helpers: string[];
  /** main and helpers in dataflow order. */
  members: string[];
}

/**
 * Each helper joins the first non-helper layer downstream of it (the layer its stream feeds, through
 * other helpers); a helper with none downstream joins the one upstream. A graph of helpers only
 * keeps them as groups of their own.
 */
export function groupLayers(layers: ReportLayer[]): LayerGroup[] {
  const consumer = new Map<string, ReportLayer>();
  const producer = new Map<string, ReportLayer>();
  for (const l of layers) {
    l.inputs.forEach((s) => consumer.set(s, l));
    l.outputs.forEach((s) => producer.set(s, l));
  }
  const follow = (l: ReportLayer, next: (l: ReportLayer) => ReportLayer | undefined): ReportLayer | undefined => {
    const seen = new Set<string>();
    let cur: ReportLayer | undefined = l;
    while (cur && HELPER_KINDS.has(cur.kind) && !seen.has(cur.name)) {
      seen.add(cur.name);
      cur = next(cur);
    }
    return cur && !HELPER_KINDS.has(cur.kind) ? cur : undefined;
  };
  const servedBy = new Map<string, string>();
  for (const l of layers) {
    if (!HELPER_KINDS.has(l.kind)) continue;
    const down = follow(l, (x) => consumer.get(x.outputs[0]));
    const up = down ?? follow(l, (x) => producer.get(x.inputs[0]));
    servedBy.set(l.name, (up ?? l).name);
  }
  const groups = new Map<string, LayerGroup>();
  for (const l of layers) {
    const main = servedBy.get(l.name) ?? l.name;
    if (!groups.has(main)) groups.set(main, { main, helpers: [], members: [] });
    const g = groups.get(main)!;
    g.members.push(l.name);
    if (l.name !== main) g.helpers.push(l.name);
  }
  // In the order of their model layers.
  const order = new Map(layers.map((l, i) => [l.name, i]));
  return [...groups.values()].sort((a, b) => order.get(a.main)! - order.get(b.main)!);
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (n: number) => (Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 1 }));
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Breaks text into lines of at most `width` characters, at `_`, `/`, `.` or spaces where possible. */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let rest = text;
  while (rest.length > width) {
    const head = rest.slice(0, width);
    const cut = Math.max(head.lastIndexOf('_'), head.lastIndexOf('/'), head.lastIndexOf('.'), head.lastIndexOf(' '));
    const at = cut >= width / 2 ? cut + 1 : width;
    lines.push(rest.slice(0, at).trimEnd());
    rest = rest.slice(at).trimStart();
  }
  lines.push(rest);
  return lines;
}

// ---- the dataflow graph ----------------------------------------------------------------------------

const FONT_PX = 12;
/** Width of one monospace character, with margin (DejaVu Sans Mono and Liberation Mono: 0.60 em). */
const CHAR_PX = FONT_PX * 0.64;
const LINE_PX = 15;
const WRAP = 38;
const PAD = 8;

interface GraphNode { id: string; lines: { text: string; cls: string }[]; hot: boolean; rank: number; lane: number }

function graphSvg(r: HtmlReportInput, groups: LayerGroup[], byName: Map<string, LayerEstimate>, hotGroup: string | undefined): string {
  const groupOf = new Map<string, number>();
  groups.forEach((g, i) => g.members.forEach((m) => groupOf.set(m, i + 1))); // node 0: the input
  const layerOf = new Map(r.layers.map((l) => [l.name, l]));
  const producerNode = new Map<string, number>([[r.input, 0]]);
  for (const l of r.layers) l.outputs.forEach((s) => producerNode.set(s, groupOf.get(l.name)!));
  const outputNode = groups.length + 1;
  const edges = new Set<string>();
  for (const l of r.layers) {
    for (const s of l.inputs) {
      const from = producerNode.get(s);
      const to = groupOf.get(l.name)!;
      if (from !== undefined && from !== to) edges.add(`${from}>${to}`);
    }
  }
  const consumed = new Set(r.layers.flatMap((l) => l.inputs));
  for (const [s, n] of producerNode) if (!consumed.has(s) && n !== 0) edges.add(`${n}>${outputNode}`);
  const edgeList = [...edges].map((e) => e.split('>').map(Number) as [number, number]);

  const kindCount = (names: string[]) => {
    const c = new Map<string, number>();
    for (const n of names) c.set(layerOf.get(n)!.kind, (c.get(layerOf.get(n)!.kind) ?? 0) + 1);
    return [...c].map(([k, n]) => (n > 1 ? `${n}× ${k}` : k)).join(', ');
  };
  const nodes: GraphNode[] = [
    { id: 'input', lines: [{ text: `input ${r.input}`, cls: 'name' }], hot: false, rank: 0, lane: 0 },
    ...groups.map((g) => {
      const l = byName.get(g.main);
      const fold = [l?.pe !== undefined ? `PE ${l.pe}` : '', l?.simd !== undefined ? `SIMD ${l.simd}` : ''].filter(Boolean).join(' ');
      const cycles = Math.max(...g.members.map((m) => byName.get(m)?.cycles ?? 0));
      const hot = g.main === hotGroup;
      return {
        id: g.main,
        lines: [
          ...wrapText(g.main, WRAP).map((text) => ({ text, cls: 'name' })),
          ...wrapText(`${layerOf.get(g.main)!.kind}${fold ? ` ${fold}` : ''} · ${fmt(cycles)} cycles`, WRAP).map((text) => ({ text, cls: 'detail' })),
          ...(g.helpers.length ? wrapText(`+ ${kindCount(g.helpers)}`, WRAP).map((text) => ({ text, cls: 'detail' })) : []),
          ...(hot ? [{ text: 'bottleneck', cls: 'hot' }] : []),
        ],
        hot, rank: 0, lane: 0,
      };
    }),
    { id: 'output', lines: [{ text: 'output', cls: 'name' }], hot: false, rank: 0, lane: 0 },
  ];
  // Rank: longest path from the input (edges go forward in dataflow order, so one pass in order is enough
  // for groups; repeat to a fixpoint for helpers that joined a later group).
  for (let pass = 0; pass < nodes.length; pass++) {
    let changed = false;
    for (const [a, b] of edgeList) if (nodes[b].rank < nodes[a].rank + 1) { nodes[b].rank = nodes[a].rank + 1; changed = true; }
    if (!changed) break;
  }
  // Lane: a node takes its first predecessor's lane when free, else the first free one of its rank.
  const taken = new Map<number, Set<number>>();
  const preds = (i: number) => edgeList.filter(([, b]) => b === i).map(([a]) => a);
  [...nodes.keys()].sort((a, b) => nodes[a].rank - nodes[b].rank || a - b).forEach((i) => {
    const used = taken.get(nodes[i].rank) ?? new Set<number>();
    const want = preds(i).map((p) => nodes[p].lane).find((l) => !used.has(l));
    let lane = want ?? 0;
    while (used.has(lane)) lane++;
    used.add(lane);
    taken.set(nodes[i].rank, used);
    nodes[i].lane = lane;
  });
  const boxW = PAD * 2 + Math.ceil(CHAR_PX * Math.max(...nodes.flatMap((n) => n.lines.map((l) => l.text.length))));
  const gapX = 40;
  const heights = nodes.map((n) => n.lines.length * LINE_PX + PAD * 2);
  const ranks = Math.max(...nodes.map((n) => n.rank)) + 1;
  const rankH = Array.from({ length: ranks }, (_, k) => Math.max(...nodes.filter((n) => n.rank === k).map((n, _i) => heights[nodes.indexOf(n)])));
  const gapY = 34;
  const rankY = rankH.map((_, k) => sum(rankH.slice(0, k)) + k * gapY + 10);
  const lanes = Math.max(...nodes.map((n) => n.lane)) + 1;
  const width = lanes * boxW + (lanes - 1) * gapX + 20;
  const height = rankY[ranks - 1] + rankH[ranks - 1] + 10;
  const x = (n: GraphNode) => 10 + n.lane * (boxW + gapX);
  const y = (n: GraphNode) => rankY[n.rank];
  const paths = edgeList.map(([a, b]) => {
    const s = nodes[a];
    const t = nodes[b];
    const x1 = x(s) + boxW / 2;
    const y1 = y(s) + heights[a];
    const x2 = x(t) + boxW / 2;
    const y2 = y(t);
    return `<path class="edge" d="M${x1},${y1} C${x1},${y1 + gapY} ${x2},${y2 - gapY} ${x2},${y2 - 2}" marker-end="url(#arrow)"/>`;
  });
  const boxes = nodes.map((n, i) => {
    const text = n.lines.map((l, k) => `<text class="label ${l.cls}" x="${x(n) + PAD}" y="${y(n) + PAD + (k + 1) * LINE_PX - 4}">${esc(l.text)}</text>`).join('');
    return `<g class="node${n.hot ? ' hot' : ''}" id="node-${esc(n.id)}"><rect class="box" x="${x(n)}" y="${y(n)}" width="${boxW}" height="${heights[i]}" rx="4"/>${text}</g>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" id="graph" width="${width}" height="${height}" role="img" aria-label="dataflow graph">` +
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#777"/></marker></defs>' +
    `${paths.join('')}${boxes.join('')}</svg>`;
}

// ---- bars and tables -------------------------------------------------------------------------------

interface Bar { label: string; value: number; measured?: number; hot: boolean }

/** A bar chart as an HTML table: the label cell wraps (never clipped), the bar is a CSS width. */
function chart(id: string, title: string, bars: Bar[]): string {
  const max = Math.max(1, ...bars.flatMap((b) => [b.value, b.measured ?? 0]));
  const pct = (v: number) => `${((100 * v) / max).toFixed(2)}%`;
  const rows = bars.map((b) => `<tr${b.hot ? ' class="hot"' : ''}><td class="label">${esc(b.label)}</td><td class="plot">` +
    `<div class="bar${b.hot ? ' hot' : ''}" style="width:${pct(b.value)}"></div><span class="value">${fmt(b.value)}</span>` +
    (b.measured !== undefined ? `<br><div class="bar measured" style="width:${pct(b.measured)}"></div><span class="value">${fmt(b.measured)}</span>` : '') +
    '</td></tr>');
  return `<figure class="chart" id="${id}"><figcaption>${esc(title)}</figcaption><table class="bars">${rows.join('')}</table></figure>`;
}

function budgetTable(r: HtmlReportInput, device: Device): string {
  const e = r.estimate;
  const family = device.family;
  const measured = family === 'xc7' ? r.measured?.total : r.measured?.ice40Total;
  const names: Record<string, string> = { lut: 'LUT', ff: 'FF', dsp: 'DSP', bram18: 'BRAM18', lc: 'LC', mac16: 'MAC16', ebr: 'EBR' };
  const rows = resourceKinds[family].filter((k) => device.budget[k] !== undefined).map((k) => {
    const budget = device.budget[k];
    const used = e.total[family][k] ?? 0;
    const m = measured?.[k];
    const share = (v: number) => (budget > 0 ? (100 * v) / budget : 0);
    const bar = (v: number, cls: string) => `<div class="meter"><div class="${cls}${share(v) > 100 ? ' over' : ''}" style="width:${Math.min(100, share(v)).toFixed(2)}%"></div></div>`;
    return `<tr><td class="label">${names[k] ?? k}</td><td>${fmt(used)}</td><td>${m === undefined ? '—' : fmt(m)}</td><td>${fmt(budget)}</td>` +
      `<td>${share(used).toFixed(1)} %${m === undefined ? '' : ` (Yosys ${share(m).toFixed(1)} %)`}</td><td class="plot">${bar(used, 'fill')}${m === undefined ? '' : bar(m, 'fill measured')}</td></tr>`;
  });
  const chosen = r.device ? '' : ` (the default; <code>--fold auto --device &lt;part&gt;</code> chooses one)`;
  return `<h2>Resources against ${esc(device.name)} (${esc(device.part)})${chosen}</h2>
<table id="budget"><tr><th>resource</th><th>estimate</th><th>Yosys</th><th>budget</th><th>used</th><th class="plot"></th></tr>
${rows.join('\n')}</table>`;
}

export function renderReportHtml(r: HtmlReportInput): string {
  const e = r.estimate;
  const m = r.measured;
  const device = loadDevice(r.device ?? DEFAULT_DEVICE);
  const byName = new Map(e.layers.map((l) => [l.name, l]));
  const groups = groupLayers(r.layers.length ? r.layers : e.layers.map((l) => ({ name: l.name, kind: l.kind, inputs: [], outputs: [] })));
  const hotGroup = groups.find((g) => g.members.includes(e.bottleneck))?.main;
  const groupBars = (get: (l: LayerEstimate) => number, res?: string, combine: (xs: number[]) => number = sum): Bar[] =>
    groups.map((g) => {
      const ls = g.members.map((n) => byName.get(n)).filter((l): l is LayerEstimate => l !== undefined);
      const measured = res && m ? ls.map((l) => m.layers[l.name]?.[res]) : undefined;
      return {
        label: g.helpers.length ? `${g.main} (+${g.helpers.length})` : g.main,
        value: combine(ls.map(get)),
        measured: measured && measured.every((v) => v !== undefined) ? combine(measured as number[]) : undefined,
        hot: g.main === hotGroup,
      };
    });
  const fps = (r.clockMHz * 1e6) / e.cyclesPerInference;
  const row = (l: LayerEstimate, cls: string) => `<tr class="${cls}${l.name === e.bottleneck ? ' hot' : ''}"><td class="label">${cls === 'helper' ? '↳ ' : ''}${esc(l.name)}</td><td>${esc(l.kind)}</td><td>${l.pe ?? ''}</td><td>${l.simd ?? ''}</td>` +
    `<td>${fmt(l.cycles)}</td><td>${fmt(l.xc7.lut)}</td><td>${m?.layers[l.name] ? fmt(m.layers[l.name].lut) : '—'}</td><td>${fmt(l.xc7.ff)}</td><td>${fmt(l.xc7.dsp)}</td><td>${fmt(l.xc7.bram18)}</td>` +
    `<td>${fmt(l.ice40.lc)}</td><td>${fmt(l.ice40.mac16)}</td><td>${fmt(l.ice40.ebr)}</td></tr>`;
  const folding = groups.map((g) => `<tbody class="group">${[g.main, ...g.helpers].map((n, i) => byName.get(n) ? row(byName.get(n)!, i === 0 ? 'main' : 'helper') : '').join('')}</tbody>`).join('\n');
  const t = e.total;
  const totals = `<tbody><tr class="total"><td class="label">total</td><td></td><td></td><td></td><td>${fmt(e.cyclesPerInference)} (II)</td><td>${fmt(t.xc7.lut)}</td><td>${m?.total ? fmt(m.total.lut) : '—'}</td>` +
    `<td>${fmt(t.xc7.ff)}</td><td>${fmt(t.xc7.dsp)}</td><td>${fmt(t.xc7.bram18)}</td><td>${fmt(t.ice40.lc)}</td><td>${fmt(t.ice40.mac16)}</td><td>${fmt(t.ice40.ebr)}</td></tr></tbody>`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>kiln report: ${esc(r.model)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1400px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right;vertical-align:top}
td.label,th{text-align:left}td.label{overflow-wrap:anywhere;word-break:break-word;max-width:32em}
tr.hot td{background:#fde2e1;font-weight:bold}tr.total td{font-weight:bold;border-top:2px solid #444}
tbody.group tr.main td{border-top:2px solid #999}tr.helper td{color:#555;font-size:92%}tr.helper td.label{padding-left:1.5em}
.chart{display:inline-block;vertical-align:top;margin:0 2em 1em 0}figcaption{font-weight:bold}
table.bars td{border:none;padding:1px 6px}table.bars td.label{max-width:26em;font-size:12px}table.bars td.plot{width:260px;text-align:left;font-size:11px;white-space:nowrap}
.bar{display:inline-block;height:10px;background:#4a7fc1;margin-right:4px;vertical-align:middle}.bar.hot{background:#d9534f}.bar.measured{background:#9bbf5a}
.meter{width:240px;height:10px;background:#eee;margin:2px 0}.meter .fill{height:10px;background:#4a7fc1}.meter .fill.measured{background:#9bbf5a}.meter .over{background:#d9534f}
#budget td.plot{text-align:left}#folding td:nth-child(2){text-align:left}
.legend span{display:inline-block;width:1em;height:.8em;margin:0 .3em 0 1em}
#graph .box{fill:#f4f7fb;stroke:#4a7fc1;stroke-width:1.2}#graph .hot .box{fill:#fde2e1;stroke:#d9534f;stroke-width:2.5}
#graph text{font-family:'DejaVu Sans Mono','Liberation Mono',monospace;font-size:${FONT_PX}px}#graph text.name{font-weight:bold}
#graph text.detail{fill:#555}#graph text.hot{fill:#d9534f;font-weight:bold}#graph .edge{fill:none;stroke:#777;stroke-width:1.2}
.scroll{overflow-x:auto}
</style></head><body>
<h1>kiln report: ${esc(r.model)}</h1>
<table id="summary">
<tr><th>cycles per inference (II)</th><td>${fmt(e.cyclesPerInference)}</td></tr>
<tr><th>first-output latency</th><td>${fmt(e.firstOutputLatency)} cycles (${fmt((e.firstOutputLatency / r.clockMHz) * 1000)} ns)</td></tr>
<tr><th>throughput at ${fmt(r.clockMHz)} MHz</th><td>${fmt(Math.round(fps))} inferences/s</td></tr>
<tr><th>bottleneck</th><td class="label">${esc(e.bottleneck)}</td></tr>
${r.hostInput ? `<tr><th>host input</th><td class="label">${esc(r.hostInput)}</td></tr>\n` : ''}<tr><th>layers</th><td>${groups.length} model layers, ${e.layers.length - groups.length} helpers (pads, windows, width converters, FIFOs)</td></tr>
${m?.fmaxMHz !== undefined ? `<tr><th>iCE40 UP5K Fmax (nextpnr)</th><td>${m.fmaxMHz === null ? 'place-and-route failed' : `${fmt(m.fmaxMHz)} MHz`}</td></tr>` : ''}
</table>
${budgetTable(r, device)}
<h2>Dataflow</h2>
<p>One box per model layer with the helper layers that feed it; the bottleneck (the slowest layer, which sets the II) in red.</p>
<div class="scroll">${graphSvg(r, groups, byName, hotGroup)}</div>
<h2>Per model layer</h2>
<p class="legend"><span style="background:#4a7fc1"></span>estimate<span style="background:#d9534f"></span>bottleneck${m ? '<span style="background:#9bbf5a"></span>Yosys (xc7, out of context)' : ''}; (+n): n helper layers included</p>
${chart('chart-cycles', 'cycles per inference (slowest of the group)', groupBars((l) => l.cycles, undefined, (xs) => Math.max(0, ...xs)))}
${chart('chart-lut', 'LUT (7-series)', groupBars((l) => l.xc7.lut, 'lut'))}
${chart('chart-dsp', 'DSP48', groupBars((l) => l.xc7.dsp, 'dsp'))}
${chart('chart-bram', 'BRAM18', groupBars((l) => l.xc7.bram18, 'bram18'))}
<h2>Folding and resources per layer</h2>
<table id="folding">
<thead><tr><th>layer (↳ helpers)</th><th>kind</th><th>PE</th><th>SIMD</th><th>cycles</th><th>LUT est</th><th>LUT Yosys</th><th>FF</th><th>DSP</th><th>BRAM18</th><th>iCE40 LC</th><th>MAC16</th><th>EBR</th></tr></thead>
${folding}
${totals}
</table>
<p>Estimates: src/estimate (formulas and their calibration error in docs/calibration.md). Yosys is not Vivado.</p>
</body></html>
`;
}
