// report.html opens in headless Chromium (Debian `chromium`, installed by .ci/run) without errors, and
// its charts (inline SVG, one per metric) and tables (summary, folding) are present in the rendered DOM.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { compileDataflow } from '../../src/codegen/index.ts';
import { smallMlp } from '../unit/codegen-fixture.ts';

const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
});

const dir = mkdtempSync(join(tmpdir(), 'kiln-html-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!chromium)('report.html in headless Chromium', () => {
  it('renders charts, the folding table and the highlighted bottleneck, with no errors', async () => {
    const out = join(dir, 'design');
    compileDataflow(smallMlp(), out, { fold: { fc1: { pe: 2, simd: 3 }, fc2: { pe: 4, simd: 8 } } });
    const profile = join(dir, 'profile');
    const r = await execa(chromium!, [
      '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--enable-logging=stderr', '--v=0',
      '--dump-dom', `file://${join(out, 'report.html')}`,
    ], { reject: false, timeout: 120_000 });
    expect(r.exitCode).toBe(0);
    const dom = r.stdout;
    for (const id of ['chart-cycles', 'chart-lut', 'chart-dsp', 'chart-bram']) expect(dom).toMatch(new RegExp(`<figure class="chart" id="${id}">[\\s\\S]*?<svg`));
    expect(dom).toMatch(/<table id="summary">/);
    expect(dom).toMatch(/<table id="folding">/);
    expect((dom.match(/<rect class="bar hot"/g) ?? []).length).toBeGreaterThanOrEqual(1); // bottleneck bars
    expect(dom).toMatch(/<tr class="hot"><td>fc1<\/td>/);
    // The page has no scripts and loads nothing: any console error or failed load would be a bug.
    expect(r.stderr).not.toMatch(/Uncaught|ERR_FILE_NOT_FOUND|Failed to load resource/);
  }, 180_000);
});
