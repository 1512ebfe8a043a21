// report.html in headless Chromium (Debian `chromium`, installed by .ci/run) on ResNet-8 and TFC:
// a screenshot is taken, and a probe page (the report plus a checking script, run via --dump-dom)
// measures every label: no HTML label overflows its cell, no SVG label leaves its box. The probe
// also checks a label made to overflow on purpose, so the check itself is seen to work. Helper
// layers are grouped under the model layer they serve, the graph marks the bottleneck, and the
// resources are shown against the device budget.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/api/index.ts';
import { HELPER_KINDS } from '../../src/report/html.ts';
import { tempDirsRemovedAfterAll } from '../unit/cli-helpers.ts';

const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
});
const tempDir = tempDirsRemovedAfterAll();
const fixture = (p: string) => fileURLToPath(new URL(`../fixtures/${p}`, import.meta.url));

// Runs in the page: every .label (HTML: content wider or taller than its box; SVG text: its bounding
// box outside its node's rect), and a control label that must overflow.
const PROBE = `<div id="control" class="label" style="width:30px;white-space:nowrap;overflow:hidden">a_label_much_longer_than_its_box</div>
<script>
const bad = [];
for (const el of document.querySelectorAll('.label')) {
  if (el instanceof SVGTextElement) {
    const t = el.getBBox(), r = el.parentNode.querySelector('rect').getBBox();
    if (t.x < r.x || t.y < r.y || t.x + t.width > r.x + r.width || t.y + t.height > r.y + r.height) bad.push(el.textContent);
  } else if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1) bad.push(el.id === 'control' ? '#control' : el.textContent);
}
const out = document.createElement('pre');
out.id = 'probe';
out.textContent = JSON.stringify({ labels: document.querySelectorAll('.label').length, svgLabels: document.querySelectorAll('svg .label').length, bad });
document.body.appendChild(out);
</script>`;

async function chrome(profile: string, args: string[]) {
  return execa(chromium!, [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--hide-scrollbars', ...args,
  ], { reject: false, timeout: 120_000 });
}

/** PNG width and height (IHDR). */
function pngSize(file: string): [number, number] {
  const b = readFileSync(file);
  expect(b.subarray(1, 4).toString()).toBe('PNG');
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}

describe.skipIf(!chromium)('report.html in headless Chromium', () => {
  it.each([
    ['ResNet-8', 'corpus/nn2fpga/resnet8.onnx'],
    ['TFC', 'zoo/tfc_w1a1/model.onnx'],
  ])('%s: grouped layers, graph with the bottleneck, budget; screenshot; no label overflows', async (_name, model) => {
    const tmp = tempDir();
    const out = join(tmp, 'design');
    const design = compile(fixture(model), out);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).not.toMatch(/<script/); // the report itself loads and runs nothing

    // Grouping: every helper layer sits under a model layer; no helper is a node of the graph.
    const kinds = new Map(design.df.layers.map((l) => [l.name, l.kind]));
    const helpers = design.df.layers.filter((l) => HELPER_KINDS.has(l.kind));
    const nodes = [...html.matchAll(/<g class="node( hot)?" id="node-([^"]+)">/g)].map((m) => ({ hot: m[1] !== undefined, id: m[2] }));
    const groups = nodes.filter((n) => n.id !== 'input' && n.id !== 'output');
    expect(groups.length).toBe(design.df.layers.length - helpers.length);
    for (const g of groups) expect(HELPER_KINDS.has(kinds.get(g.id)!), g.id).toBe(false);
    expect((html.match(/<tr class="helper/g) ?? []).length).toBe(helpers.length);
    // The bottleneck: its group's node is marked (the bottleneck layer or the layer its helper serves).
    const bottleneck = design.report.estimate.bottleneck;
    const hot = nodes.filter((n) => n.hot);
    expect(hot.length).toBe(1);
    if (!HELPER_KINDS.has(kinds.get(bottleneck)!)) expect(hot[0].id).toBe(bottleneck);
    // Each resource against the device budget (xc7z020 by default: LUT, FF, DSP, BRAM18).
    expect(html).toMatch(/<h2>Resources against Zynq-7020 [^<]*\(xc7z020\)/);
    const budget = html.slice(html.indexOf('<table id="budget">'), html.indexOf('</table>', html.indexOf('<table id="budget">')));
    for (const [k, v] of [['LUT', 53200], ['FF', 106400], ['DSP', 220], ['BRAM18', 280]] as const) {
      expect(budget).toMatch(new RegExp(`<td class="label">${k}</td><td>[\\d,]+</td><td>—</td><td>${v.toLocaleString('en-US')}</td>`));
    }

    const profile = join(tmp, 'profile');
    const shot = join(tmp, 'report.png');
    const s = await chrome(profile, ['--window-size=1400,2000', `--screenshot=${shot}`, `file://${join(out, 'report.html')}`]);
    expect(s.exitCode, s.stderr).toBe(0);
    expect(pngSize(shot)).toEqual([1400, 2000]);
    expect(statSync(shot).size).toBeGreaterThan(20_000); // a rendered page, not a blank one

    const probe = join(out, 'probe.html');
    writeFileSync(probe, html.replace('</body>', `${PROBE}</body>`));
    const d = await chrome(profile, ['--window-size=1400,2000', '--dump-dom', `file://${probe}`]);
    expect(d.exitCode, d.stderr).toBe(0);
    const m = /<pre id="probe">([^<]*)<\/pre>/.exec(d.stdout);
    expect(m, d.stdout.slice(-500)).not.toBeNull();
    const result = JSON.parse(m![1].replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as { labels: number; svgLabels: number; bad: string[] };
    expect(result.bad).toEqual(['#control']); // the control overflows; nothing else does
    expect(result.svgLabels).toBeGreaterThanOrEqual(nodes.length);
    expect(result.labels).toBeGreaterThan(design.df.layers.length); // the table's names, the charts', the graph's
  }, 300_000);
});
