// `kiln sim --jobs N`: the inferences sharded over N processes of one Verilator build give the same
// outputs, cycle report and .npy files byte for byte as one process; one progress count over all
// shards; a failing shard names its vector range.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/diag/index.ts';
import { shardRanges } from '../../src/sim/shard.ts';
import { simulate } from '../../src/sim/simulate.ts';
import { ROOT, kiln as runKiln, tempDirsRemovedAfterAll } from '../unit/cli-helpers.ts';
import { npyFloat32 } from '../helpers/npy.ts';

const tempDir = tempDirsRemovedAfterAll();
const fixtures = fileURLToPath(new URL('../fixtures/rtl/', import.meta.url));
const bnn = join(ROOT, 'test/fixtures/corpus/hls4ml-example-models/bnn_model_fc_1layer.onnx');
const kiln = (args: string[]) => runKiln(args, ROOT, { timeoutMs: 300_000 });

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('shardRanges', () => {
  it('splits contiguously, covers every vector once, never more shards than vectors', () => {
    expect(shardRanges(10, 3)).toEqual([[0, 3], [3, 6], [6, 10]]);
    expect(shardRanges(2, 8)).toEqual([[0, 1], [1, 2]]);
    expect(shardRanges(5, 1)).toEqual([[0, 5]]);
  });
});

describe('simulate with jobs', () => {
  it('equals one process: outputs, every interval, latency, cycles; one progress count to the total', async () => {
    const rnd = lcg(5);
    const inputs = Array.from({ length: 37 }, () => Array.from({ length: 50 }, () => Math.floor(rnd() * 16)));
    const one = await simulate(join(fixtures, 'invert'), inputs, { jobs: 1 });
    const done: number[] = [];
    const four = await simulate(join(fixtures, 'invert'), inputs, { jobs: 4, onProgress: (p) => p.done !== undefined && done.push(p.done) });
    expect(four.outputs).toEqual(one.outputs);
    expect(four.stats).toEqual(one.stats);
    expect(done.at(-1)).toBe(37);
    expect(done.every((d, i) => i === 0 || d >= done[i - 1])).toBe(true);
  }, 120_000);

  it('a failing shard names its vector range (same error code)', async () => {
    const inputs = Array.from({ length: 8 }, (_, i) => [i - 4]);
    const err = await simulate(join(fixtures, 'deadlock'), inputs, { watchdogCycles: 200, jobs: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KilnError);
    expect((err as KilnError).code).toBe('KLN3003');
    expect((err as Error).message).toMatch(/^KLN3003 shard [12]\/2 \(vectors (0–3|4–7)\): simulation stalled at cycle \d+/);
  }, 120_000);
});

describe('kiln sim --jobs (CLI)', () => {
  it('--jobs 3 writes byte-identical .npy files and the same report as --jobs 1', () => {
    const tmp = tempDir();
    const d = join(tmp, 'd');
    expect(kiln(['compile', bnn, '-o', d]).code).toBe(0);
    const rows = Array.from({ length: 50 }, (_, k) => [Math.sin(k), Math.cos(3 * k), (k % 7) / 3 - 1]);
    writeFileSync(join(tmp, 'x.npy'), npyFloat32(rows));
    const run = (jobs: number) => {
      const r = kiln(['sim', d, '--in', join(tmp, 'x.npy'), '--out', join(tmp, `y${jobs}.npy`), '--jobs', String(jobs)]);
      expect(r.code, r.stderr).toBe(0);
      // The report without the wall-time line and the output paths.
      return r.stdout.split('\n').filter((l) => !/Verilator build|wrote /.test(l)).join('\n');
    };
    const report1 = run(1);
    const report3 = run(3);
    expect(report1).toMatch(/mismatches vs integer reference: 0 of/);
    expect(report3).toBe(report1);
    for (const f of ['y{}.npy', 'y{}.codes.npy']) {
      expect(readFileSync(join(tmp, f.replace('{}', '3'))).equals(readFileSync(join(tmp, f.replace('{}', '1')))), f).toBe(true);
    }
    const bad = kiln(['sim', d, '--in', join(tmp, 'x.npy'), '--jobs', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('KLN1014 --jobs must be a positive integer, not 0');
  }, 300_000);
});
