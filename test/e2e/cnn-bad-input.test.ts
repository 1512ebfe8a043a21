// Issue 4, "bad input: unsupported attribute combinations (e.g. asymmetric padding the RTL lacks,
// ceil_mode) produce coded errors naming the node, or are supported — never wrong results".
//  - Supported: asymmetric padding (explicit Conv pads, auto_pad SAME_UPPER / SAME_LOWER with an even
//    kernel, an explicit asymmetric Pad node) and a ceil_mode = 1 MaxPool whose output size floor mode
//    also gives. Shown end to end: the integer dataflow reproduces the ONNX reference executor's codes
//    exactly (20 vectors), and the Verilog (`kiln compile`'s compileModel, default folding) equals the
//    integer reference bit for bit in Verilator under random back-pressure.
//  - Refused: ceil_mode = 1 that changes the output size (MaxPool and AveragePool), Pad modes other
//    than constant, negative pads, padding of the channel axis, a pad value that is not a code of its
//    stream, AveragePool with padding and count_include_pad = 0: the real CLI
//    (`kiln compile`) prints one coded line naming the node, no stack trace, and writes nothing.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileModel } from '../../src/cli/compile.ts';
import type { AttrValue, Graph } from '../../src/ir/graph.ts';
import { quantizeInput } from '../../src/lower/host.ts';
import { encodeModel } from '../../src/onnx/load.ts';
import { simulateAndCompare } from '../../src/sim/check.ts';
import { cnnBuilder, int, ints } from '../helpers/cnn-builder.ts';
import { rng } from '../helpers/random-mlp.ts';
import { compareLowering } from '../passes/streamline-compare.ts';
import { kiln, tempDirsRemovedAfterAll } from '../unit/cli-helpers.ts';

const str = (v: string): AttrValue => ({ kind: 'string', v });
const tempDir = tempDirsRemovedAfterAll();
const results: string[] = [];
afterAll(() => process.stdout.write(`issue-4 bad input:\n${results.map((r) => `  ${r}`).join('\n')}\n`));

const builder = (shape: number[], seed = 11) => cnnBuilder(shape, seed, 'cnn_bad_input');

function inputs(n: number, len: number, seed = 5): Float32Array[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: len }, () => r() * 4 - 2));
}

function writeModel(g: Graph): string {
  const file = join(tempDir(), `${g.name}.onnx`);
  writeFileSync(file, encodeModel(g));
  return file;
}

describe('supported: asymmetric padding and ceil_mode max pooling, ONNX == integer dataflow == RTL', () => {
  const cases: { name: string; shape: number[]; build: (b: ReturnType<typeof builder>) => string }[] = [
    {
      name: 'Conv 3×2 with explicit pads (top 0, left 1, bottom 2, right 0), stride 2',
      shape: [1, 2, 7, 6],
      build: (b) => b.act(b.conv(b.quant('x', 0.25, 4, true), 2, 3, [3, 2], { pads: ints([0, 1, 2, 0]), strides: ints([2, 1]) })),
    },
    {
      name: 'Conv 2×2 auto_pad SAME_UPPER → Conv 2×2 auto_pad SAME_LOWER (pads only after / only before)',
      shape: [1, 1, 5, 5],
      build: (b) => {
        const t = b.act(b.conv(b.quant('x', 0.25, 4, true), 1, 2, [2, 2], { auto_pad: str('SAME_UPPER') }));
        return b.act(b.conv(t, 2, 2, [2, 2], { auto_pad: str('SAME_LOWER') }));
      },
    },
    {
      name: 'explicit asymmetric Pad node → Conv 3×3, then MaxPool 2×2 ceil_mode = 1 on an even image',
      shape: [1, 2, 5, 6],
      build: (b) => {
        const q = b.quant('x', 0.25, 4, true);
        const t = b.act(b.conv(b.pad(q, [0, 0, 2, 0, 0, 0, 1, 2]), 2, 2, [3, 3]));
        return b.op('MaxPool', [t], { kernel_shape: ints([2, 2]), strides: ints([2, 2]), ceil_mode: int(1) });
      },
    },
    {
      // Issue 12: the extra ceil-mode windows become end padding with the smallest code (it never wins a max).
      name: 'MaxPool 2×2/2 ceil_mode = 1 that changes the output size (7×7 → 4×4, floor gives 3×3)',
      shape: [1, 2, 7, 7],
      build: (b) => b.op('MaxPool', [b.act(b.conv(b.quant('x', 0.25, 4, true), 2, 2, [1, 1]))], { kernel_shape: ints([2, 2]), strides: ints([2, 2]), ceil_mode: int(1) }),
    },
  ];
  cases.forEach((tc, i) => {
    it(tc.name, async () => {
      const b = builder(tc.shape, 20 + i);
      const g = b.done(tc.build(b));
      const len = tc.shape.reduce((a, x) => a * x, 1);
      const xs = inputs(20, len, 30 + i);
      const c = compareLowering(g, xs);
      expect(c.vectors).toBe(20);
      expect(c.mismatches.slice(0, 5)).toEqual([]);
      expect(c.codesEqual).toBe(c.elements);
      const out = join(tempDir(), 'design');
      const design = compileModel(writeModel(g), out);
      const checked = await simulateAndCompare(out, design.df, xs.map((x) => quantizeInput(design.df.inputQuant[0], x)), { backpressure: 0.3, gaps: 0.1, seed: 7 + i });
      expect(checked.outputs.length).toBe(20);
      expect(checked.mismatches, JSON.stringify(checked.examples)).toBe(0);
      results.push(`${tc.name}: 20 vectors, ONNX codes == dataflow, RTL == reference (back-pressure 0.3), layers ${design.df.layers.map((l) => l.kind).join(' ')}`);
    }, 300_000);
  });
});

describe('refused: coded errors naming the node (real CLI, no stack trace, no output)', () => {
  const cases: { name: string; shape: number[]; message: RegExp; build: (b: ReturnType<typeof builder>) => { out: string; bad: string } }[] = [
    {
      name: 'AveragePool ceil_mode = 1 that changes the output size',
      shape: [1, 2, 5, 5], message: /ceil_mode = 1 changes the output to 3×3 \(floor gives 2×2\)/,
      build: (b) => {
        const bad = b.op('AveragePool', [b.act(b.conv(b.quant('x', 0.25, 4, true), 2, 2, [1, 1]))], { kernel_shape: ints([2, 2]), strides: ints([2, 2]), ceil_mode: int(1) });
        return { out: b.quant(bad, 0.25, 4, false), bad };
      },
    },
    ...['reflect', 'edge'].map((mode) => ({
      name: `Pad mode ${mode}`,
      shape: [1, 2, 5, 5], message: new RegExp(`mode ${mode} \\(only constant padding\\)`),
      build: (b: ReturnType<typeof builder>) => {
        const bad = b.pad(b.quant('x', 0.25, 4, true), [0, 0, 1, 1, 0, 0, 1, 1], { mode: str(mode) });
        return { out: b.act(b.conv(bad, 2, 2, [3, 3])), bad };
      },
    })),
    {
      name: 'Pad with negative pads (cropping)',
      shape: [1, 2, 5, 5], message: /negative pads \(cropping\)/,
      build: (b) => {
        const bad = b.pad(b.quant('x', 0.25, 4, true), [0, 0, 1, -1, 0, 0, 1, 1]);
        return { out: b.act(b.conv(bad, 2, 2, [3, 3])), bad };
      },
    },
    {
      name: 'Pad of the channel axis',
      shape: [1, 2, 5, 5], message: /padding of the batch or channel axis/,
      build: (b) => {
        const bad = b.pad(b.quant('x', 0.25, 4, true), [0, 1, 1, 1, 0, 0, 1, 1]);
        return { out: b.act(b.conv(bad, 3, 2, [3, 3])), bad };
      },
    },
    {
      name: 'Pad value that is not a code of its stream (0.3 on a 0.25 grid)',
      shape: [1, 2, 5, 5], message: /pad value 0\.3\d* is not a code of its stream/,
      build: (b) => {
        const bad = b.pad(b.quant('x', 0.25, 4, true), [0, 0, 1, 1, 0, 0, 1, 1], {}, 0.3);
        return { out: b.act(b.conv(bad, 2, 2, [3, 3])), bad };
      },
    },
    {
      name: 'AveragePool with padding and count_include_pad = 0',
      shape: [1, 2, 6, 6], message: /count_include_pad = 0/,
      build: (b) => {
        const bad = b.op('AveragePool', [b.act(b.conv(b.quant('x', 0.25, 4, true), 2, 2, [1, 1]))], { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) });
        return { out: b.quant(bad, 0.25, 4, false), bad };
      },
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const b = builder(tc.shape);
      const { out, bad } = tc.build(b);
      const g = b.done(out);
      const design = join(tempDir(), 'design');
      const r = kiln(['compile', writeModel(g), '-o', design]);
      expect(r.code).not.toBe(0);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^KLN2001 /);
      expect(lines[0]).toMatch(tc.message);
      // The node named is the offending node itself.
      expect(/at node '([^']+)'/.exec(lines[0])?.[1], lines[0]).toBe(b.nodeOf(bad));
      expect(existsSync(design)).toBe(false);
      results.push(`${tc.name}: ${lines[0]}`);
    }, 60_000);
  }
});
