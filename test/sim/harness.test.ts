// The Verilator wrapper on hand-written fixture designs (test/fixtures/rtl/): stimulus packing, wide
// (>64-bit) ports, cycle statistics, back-pressure and gaps, the watchdog, the build cache, tool lookup.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { KilnError } from '../../src/diag/index.ts';
import { buildSim } from '../../src/sim/build.ts';
import { readManifest } from '../../src/sim/manifest.ts';
import { simulate } from '../../src/sim/simulate.ts';
import { decodeOutputBeats, encodeStimulus } from '../../src/sim/stimulus.ts';
import { requireTool } from '../../src/tools/index.ts';

const fixtures = fileURLToPath(new URL('../fixtures/rtl/', import.meta.url));
const invertDir = join(fixtures, 'invert');
const deadlockDir = join(fixtures, 'deadlock');

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function codeOf(e: unknown): string | undefined {
  return e instanceof KilnError ? e.code : undefined;
}

describe('stimulus packing', () => {
  const port = { elemBits: 4, fold: 3, beatsPerInference: 2, signed: true, qtype: 'INT4' };
  it('puts element 0 in the least significant bits, two\'s complement', () => {
    expect(encodeStimulus(port, [[1, -1, 7, -8, 0, 2]])).toBe('7f1\n208\n');
  });
  it('round-trips signed codes through beats', () => {
    const codes = [[-8, -1, 0, 3, 7, -5]];
    const beats = encodeStimulus(port, codes).trim().split('\n').map((h) => BigInt('0x' + h));
    expect(decodeOutputBeats(port, beats, 6)).toEqual(codes);
  });
  it('packs BIPOLAR as one bit, 1 = +1', () => {
    const bip = { elemBits: 1, fold: 4, beatsPerInference: 1, signed: true, qtype: 'BIPOLAR' };
    expect(encodeStimulus(bip, [[1, -1, -1, 1]])).toBe('9\n');
    expect(decodeOutputBeats(bip, [0b0110n], 4)).toEqual([[-1, 1, 1, -1]]);
  });
  it('packs wide beats exactly (beyond 53 bits)', () => {
    const wide = { elemBits: 16, fold: 5, beatsPerInference: 1, signed: false, qtype: 'UINT16' };
    expect(encodeStimulus(wide, [[0xffff, 1, 2, 3, 0xabcd]])).toBe('abcd000300020001ffff\n');
  });
});

describe('Verilator harness', () => {
  it('streams a 100-bit design back to back: outputs, latency and II exact', async () => {
    const rnd = lcg(7);
    const inputs = Array.from({ length: 40 }, () => Array.from({ length: 50 }, () => Math.floor(rnd() * 16)));
    const r = await simulate(invertDir, inputs);
    expect(r.outputs).toEqual(inputs.map((x) => x.map((v) => 15 - v)));
    expect(r.stats.inferences).toBe(40);
    expect(r.stats.cyclesPerInference).toBe(2);
    expect(new Set(r.stats.intervals)).toEqual(new Set([2]));
    expect(r.stats.firstOutputLatency).toBe(2);
    const again = await buildSim(invertDir);
    expect(again.cached).toBe(true);
    expect(again.binary).toBe(r.build.binary);
  }, 120_000);

  it('keeps order and values under random back-pressure and input gaps', async () => {
    const rnd = lcg(11);
    const inputs = Array.from({ length: 60 }, () => Array.from({ length: 50 }, () => Math.floor(rnd() * 16)));
    const progress: number[] = [];
    const r = await simulate(invertDir, inputs, {
      backpressure: 0.5, gaps: 0.3, seed: 3, onProgress: (p) => p.done !== undefined && progress.push(p.done),
    });
    expect(r.outputs).toEqual(inputs.map((x) => x.map((v) => 15 - v)));
    // Stalls make it slower than the 2-cycle II but it still finishes.
    expect(r.stats.cyclesPerInference).toBeGreaterThan(2);
    expect(progress.at(-1)).toBe(60);
    // Another seed gives another schedule, same data.
    const r2 = await simulate(invertDir, inputs, { backpressure: 0.5, gaps: 0.3, seed: 4 });
    expect(r2.outputs).toEqual(r.outputs);
    expect(r2.stats.cycles).not.toBe(r.stats.cycles);
  }, 120_000);

  it('rejects input codes outside the input type', async () => {
    const bad = [Array.from({ length: 50 }, (_, i) => (i === 7 ? 16 : 0))];
    await expect(simulate(invertDir, bad)).rejects.toThrow(/KLN1012 input code 16 \(inference 0, element 7\) is not a UINT4 value/);
    await expect(simulate(invertDir, [[1, 2]])).rejects.toThrow(/KLN1012 inference 0 has 2 input codes, the design takes 50/);
  });

  it('stops a deadlocked design and names the blocked streams', async () => {
    const inputs = Array.from({ length: 8 }, (_, i) => [i - 4]);
    const err = await simulate(deadlockDir, inputs, { watchdogCycles: 200 }).catch((e: unknown) => e);
    expect(codeOf(err)).toBe('KLN3003');
    expect(String((err as Error).message)).toMatch(
      /simulation stalled at cycle \d+ with 3 of 8 output beats: stream\(s\) 's_axis', 'a', 'b' blocked \(valid=1, ready=0\)/,
    );
  }, 120_000);
});

describe('external tools', () => {
  const saved = process.env.KILN_VERILATOR;
  const savedPath = process.env.PATH;
  afterEach(() => {
    if (saved === undefined) delete process.env.KILN_VERILATOR;
    else process.env.KILN_VERILATOR = saved;
    process.env.PATH = savedPath;
  });
  it('finds verilator in PATH', () => {
    expect(requireTool('verilator')).toMatch(/verilator$/);
  });
  it('reports a missing tool with an install hint (KLN3001)', async () => {
    process.env.KILN_VERILATOR = '/nonexistent/verilator';
    expect(() => requireTool('verilator')).toThrow(
      'KLN3001 verilator not found at /nonexistent/verilator (set by KILN_VERILATOR); install it with: apt-get install verilator',
    );
    await expect(buildSim(invertDir)).rejects.toThrow(/KLN3001/);
  });
  it('reports a tool missing from PATH (KLN3001) and how to install it', () => {
    delete process.env.KILN_VERILATOR;
    process.env.PATH = '/nonexistent';
    expect(() => requireTool('verilator')).toThrow(
      'KLN3001 verilator not found in PATH; install it with: apt-get install verilator (or set KILN_VERILATOR to its path)',
    );
    expect(() => requireTool('yosys')).toThrow(/KLN3001 yosys not found in PATH; install it with: apt-get install yosys/);
  });
  it('reads the manifest of a design', () => {
    expect(readManifest(invertDir).streams).toEqual(['mid']);
    expect(() => readManifest(fixtures)).toThrow(/KLN1001 .*manifest\.json does not exist/);
  });
});
