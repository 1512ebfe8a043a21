// Auto-folding verified in simulation: TFC_1W1A folded by `--fold auto` for 1 k, 100 k and 10 M FPS at
// 200 MHz on a ZC706 (xc7z045) is compiled, simulated in Verilator, and must (a) equal the integer
// reference, (b) run at exactly the estimated II, which (c) reaches the target FPS; its first-output
// latency is within 5 % of the estimate. 1 k runs in `make test`; 100 k and 10 M (big Verilator builds)
// with KILN_E2E=1 (`make test-e2e`).
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { compileModel } from '../../src/cli/compile.ts';
import { range } from '../../src/ir/datatype.ts';
import { simulateAndCompare } from '../../src/sim/check.ts';
import { findTool } from '../../src/sim/tools.ts';
import { ROOT } from '../unit/cli-helpers.ts';

const tfc = join(ROOT, 'test/fixtures/corpus/qonnx-model-zoo/TFC_1W1A.onnx');
const dir = mkdtempSync(join(tmpdir(), 'kiln-autofold-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const full = process.env.KILN_E2E === '1';

describe.skipIf(!findTool('verilator'))('auto-folded TFC_1W1A reaches its FPS in simulation', () => {
  it.each([
    [1e3, true],
    [1e5, full],
    [1e7, full],
  ] as const)('%d FPS @ 200 MHz on xc7z045', async (fps, run) => {
    if (!run) return;
    const out = join(dir, `fps${fps}`);
    const design = compileModel(tfc, out, { foldAuto: { fps, device: 'xc7z045', clockMHz: 200 } });
    const df = design.df;
    const inType = df.streams.get(df.inputs[0])!.qtype;
    const [lo, hi] = range(inType);
    let s = 12345;
    const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const n = df.streams.get(df.inputs[0])!.shape.reduce((a, b) => a * b, 1);
    const inputs = Array.from({ length: 4 }, () => Array.from({ length: n }, () => (inType.kind === 'BIPOLAR' ? (rand() < 0.5 ? -1 : 1) : lo + Math.floor(rand() * (hi - lo + 1)))));
    const r = await simulateAndCompare(out, df, inputs);
    expect(r.mismatches).toBe(0);
    expect(r.stats.cyclesPerInference).toBe(design.manifest.estimate.cyclesPerInference);
    expect((200e6 / r.stats.cyclesPerInference)).toBeGreaterThanOrEqual(fps);
    expect(Math.abs(r.stats.firstOutputLatency - design.manifest.estimate.firstOutputLatency)).toBeLessThanOrEqual(0.05 * design.manifest.estimate.firstOutputLatency);
  }, 1_800_000);
});
