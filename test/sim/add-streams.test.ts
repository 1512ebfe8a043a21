// AddStreams sim matrix: residual joins of a Threshold branch (UINT2 + the bypass's INT6) and an MVU
// branch (wide accumulator + bypass, width converters on both inputs), with bypass FIFOs deep enough.
// And the deadlock a too-small bypass FIFO causes: the watchdog stops the run and names the stream.
import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/diag/index.ts';
import { haveVerilator } from './layer-matrix.ts';
import { branchGraph, expectGraphExact, runGraph, type BranchSpec } from './branches.ts';

const cases: BranchSpec[] = [
  { label: 'threshold_int6_e6_pe1_fifo4', elems: 6, pe: 1, qtype: 'INT6', branch: 'threshold', fifo: 4 },
  { label: 'threshold_bipolar_e8_pe2_fifo4', elems: 8, pe: 2, qtype: 'BIPOLAR', branch: 'threshold', fifo: 4 },
  { label: 'mvu_int4_e8_pe2_fifo16', elems: 8, pe: 2, qtype: 'INT4', branch: 'mvu', fifo: 16, mvuPe: 4, simd: 4 },
  { label: 'mvu_uint3_e6_pe1_fifo16', elems: 6, pe: 1, qtype: 'UINT3', branch: 'mvu', fifo: 16, mvuPe: 1, simd: 1 },
  // Wide folded joins: 8 and 16 lanes of 8-bit codes (the MVU branch's accumulator next to the bypass).
  { label: 'mvu_uint8_e16_pe8_fifo16', elems: 16, pe: 8, qtype: 'UINT8', branch: 'mvu', fifo: 16, mvuPe: 4, simd: 16 },
  { label: 'threshold_int8_e48_pe16_fifo8', elems: 48, pe: 16, qtype: 'INT8', branch: 'threshold', fifo: 8 },
];

describe.skipIf(!haveVerilator)('AddStreams RTL == reference, cycles == model', () => {
  it.each(cases.map((c, i) => [c.label, c, i] as const))('%s', async (_label, c, i) => {
    expectGraphExact(await runGraph(branchGraph(c, 1200 + i), 1300 + i));
  });

  it('a bypass FIFO too small for the MVU branch deadlocks; the watchdog names the blocked stream', async () => {
    // The MVU needs all 16 beats of a vector before its first output; the bypass holds 2 + registers.
    const df = branchGraph({ label: 'mvu_fifo2', elems: 16, pe: 1, qtype: 'INT4', branch: 'mvu', fifo: 2, mvuPe: 1, simd: 1 }, 1400);
    const err = await runGraph(df, 1401, 4, { watchdogCycles: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KilnError);
    expect((err as KilnError).message).toMatch(/^KLN3003 simulation stalled at cycle \d+ with 0 of 64 output beats: stream\(s\) .*'f' blocked/);
  });
});
