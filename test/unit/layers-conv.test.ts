// Issue-4 layer kinds without a simulator: window order and reductions against naive index math,
// schedules agreeing with timing on the first and last beat, and pinned attribute / folding errors.
import { describe, expect, it } from 'vitest';
import { runDataflow } from '../../src/exec/dataflow.ts';
import type { LayerKind } from '../../src/layers/define.ts';
import addStreams from '../../src/layers/add-streams.ts';
import avgPool from '../../src/layers/avg-pool.ts';
import concat from '../../src/layers/concat.ts';
import fifo from '../../src/layers/fifo.ts';
import maxPool from '../../src/layers/max-pool.ts';
import pad from '../../src/layers/pad.ts';
import slidingWindow, { windowOutput } from '../../src/layers/sliding-window.ts';
import vectorVector from '../../src/layers/vector-vector.ts';
import { oneLayer, randInt, rng } from './layers-helpers.ts';

describe('SlidingWindow', () => {
  it('emits window (oy, ox), tap (ky, kx), channel c = input pixel (oy·sh + ky·dh, ox·sw + kx·dw)', () => {
    const a = { ih: 7, iw: 6, channels: 2, kh: 3, kw: 2, sh: 2, sw: 1, dh: 1, dw: 2, pe: 1, qtype: 'INT16' };
    const [oh, ow] = windowOutput(a);
    expect([oh, ow]).toEqual([3, 4]);
    const x = Array.from({ length: 7 * 6 * 2 }, (_, i) => i); // value = its own index
    const df = oneLayer({ kind: 'SlidingWindow', attrs: a, consts: {} }, 'INT16', x.length, 'INT16', oh * ow * 3 * 2 * 2);
    const y = runDataflow(df, [x])[0];
    // Window (1, 2), tap (2, 1), channel 1: pixel (1·2 + 2, 2 + 1·2) = (4, 4).
    expect(y[((1 * ow + 2) * 6 + 2 * 2 + 1) * 2 + 1]).toBe((4 * 6 + 4) * 2 + 1);
  });

  it('pinned errors', () => {
    const base = { name: 'swg', attrs: { ih: 4, iw: 9, channels: 6, kh: 3, kw: 3, dh: 2, pe: 4, qtype: 'INT4' }, consts: {} };
    expect(() => slidingWindow.parse(base)).toThrow('KLN1008 the dilated kernel height 5 must fit in the image height 4');
    expect(() => slidingWindow.parse({ ...base, attrs: { ...base.attrs, dh: 1 } })).toThrow('KLN2002 pe must divide 6, not 4');
    expect(() => slidingWindow.parse({ ...base, attrs: { ...base.attrs, ceil_mode: 1 } })).toThrow("KLN1008 unknown attribute 'ceil_mode'");
    expect(() => slidingWindow.parse({ ...base, attrs: { ...base.attrs, dh: 1, pe: 6, taps: 3 } })).toThrow('KLN2002 taps must be 1 or kh·kw = 9, not 3');
    expect(() => slidingWindow.parse({ ...base, attrs: { ...base.attrs, dh: 1, pe: 3, taps: 9 } })).toThrow('KLN2002 pe must be channels (6) with taps > 1, not 3');
  });
});

describe('pooling, depthwise, joins', () => {
  it('MaxPool / AvgPool / VectorVector reduce each channel over the window taps', () => {
    const r = rng(5);
    const pixels = 3, window = 4, channels = 5;
    const x = Array.from({ length: pixels * window * channels }, () => randInt(r, -8, 7));
    const weights = Array.from({ length: channels * window }, () => randInt(r, -2, 1));
    const at = (p: number, k: number, c: number) => x[(p * window + k) * channels + c];
    const run = (kind: string, attrs: Record<string, unknown>, outType: string, consts = {}) =>
      runDataflow(oneLayer({ kind, attrs: { pixels, window, channels, ...attrs }, consts }, 'INT4', x.length, outType, pixels * channels), [x])[0];
    const each = (f: (p: number, c: number) => number) => Array.from({ length: pixels * channels }, (_, i) => f(Math.floor(i / channels), i % channels));
    const taps = [0, 1, 2, 3];
    expect(run('MaxPool', { qtype: 'INT4' }, 'INT4')).toEqual(each((p, c) => Math.max(...taps.map((k) => at(p, k, c)))));
    expect(run('AvgPool', { inType: 'INT4', outType: 'INT6' }, 'INT6')).toEqual(each((p, c) => taps.reduce((s, k) => s + at(p, k, c), 0)));
    expect(run('VectorVector', { inType: 'INT4', weightType: 'INT2', outType: 'INT8' }, 'INT8', { weights }))
      .toEqual(each((p, c) => taps.reduce((s, k) => s + weights[c * window + k] * at(p, k, c), 0)));
  });

  it('pinned errors', () => {
    expect(() => avgPool.parse({ name: 'ap', attrs: { pixels: 1, window: 9, channels: 4, inType: 'UINT4', outType: 'UINT7' }, consts: {} }))
      .toThrow('KLN1008 outType must hold the window sum range [0, 135], not UINT7');
    expect(() => maxPool.parse({ name: 'mp', attrs: { pixels: 1, window: 4, channels: 6, pe: 4, qtype: 'INT4' }, consts: {} })).toThrow('KLN2002 pe must divide 6, not 4');
    expect(() => vectorVector.parse({ name: 'dw', attrs: { pixels: 1, window: 2, channels: 1, inType: 'UINT2', weightType: 'INT2', outType: 'INT3' }, consts: { weights: [-2, -2] } }))
      .toThrow('KLN1008 outType must hold the accumulator range [-12, 0], not INT3');
    expect(() => pad.parse({ name: 'p', attrs: { ih: 2, iw: 2, channels: 1, top: 1, value: -1, qtype: 'UINT4' }, consts: {} })).toThrow('KLN1008 value must be a UINT4 value, not -1');
    expect(() => addStreams.parse({ name: 'add', attrs: { elems: 4, aType: 'INT4', bType: 'UINT4', outType: 'INT5' }, consts: {} }))
      .toThrow('KLN1008 outType must hold the sum range [-8, 22], not INT5');
    expect(() => concat.parse({ name: 'cat', attrs: { pixels: 2, aChannels: 2, bChannels: 3, pe: 2, aType: 'INT4', bType: 'INT4', outType: 'INT4' }, consts: {} })).toThrow('KLN2002 pe must divide 3, not 2');
    expect(() => concat.parse({ name: 'cat', attrs: { pixels: 2, aChannels: 2, bChannels: 3, aType: 'BIPOLAR', bType: 'INT4', outType: 'BIPOLAR' }, consts: {} }))
      .toThrow('KLN1008 outType must hold the INT4 inputs, not BIPOLAR');
    expect(() => fifo.parse({ name: 'f', attrs: { elems: 4, depth: 6, qtype: 'INT4' }, consts: {} })).toThrow('KLN1008 depth must be a power of two, not 6');
  });
});

describe('schedules agree with timing on the first and last beat (evenly spaced input)', () => {
  const cases: [LayerKind, Record<string, unknown>, Record<string, number[]>][] = [
    [slidingWindow as LayerKind, { ih: 6, iw: 5, channels: 4, kh: 3, kw: 3, sh: 2, pe: 2, qtype: 'INT4' }, {}],
    [slidingWindow as LayerKind, { ih: 7, iw: 5, channels: 2, kh: 3, kw: 2, dw: 2, pe: 2, taps: 6, qtype: 'INT4' }, {}],
    [pad as LayerKind, { ih: 3, iw: 4, channels: 2, top: 1, bottom: 2, left: 0, right: 1, pe: 2, qtype: 'INT4' }, {}],
    [maxPool as LayerKind, { pixels: 4, window: 9, channels: 6, pe: 3, qtype: 'INT4' }, {}],
    [fifo as LayerKind, { elems: 8, pe: 2, qtype: 'INT4' }, {}],
  ];
  it.each(cases.map((c, i) => [`${c[0].kind} ${i}`, ...c] as const))('%s', (_k, kind, attrs, consts) => {
    const a = kind.parse({ name: 'l', attrs, consts });
    const ports = kind.spec.streams(a as never);
    const n = ports.in[0].elems / ports.in[0].fold;
    const arrivals = Array.from({ length: n }, (_, j) => j);
    const out = kind.spec.schedule!(a as never, [arrivals]).out[0];
    const [first, last] = kind.spec.timing(a as never, 0, n - 1);
    expect(out.length).toBe(ports.out[0].elems / ports.out[0].fold);
    expect(out[out.length - 1]).toBe(last);
    if (kind.kind !== 'Pad') expect(out[0]).toBe(first);
  });
});
