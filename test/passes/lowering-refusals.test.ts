// Refusals that help (issue 12 item 6): one coded line per cause, naming the rule that failed, the
// node and the fix; nothing downstream of a refused layer but input-independent causes; a float model
// gets the one `kiln compress` command. Messages pinned exactly.
import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/diag/index.ts';
import { lowerModel } from '../../src/passes/to-dataflow.ts';
import { cnnBuilder, int, ints } from '../helpers/cnn-builder.ts';

function refusal(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    if (e instanceof KilnError) return e.message.split('\n');
    throw e;
  }
  throw new Error('lowered');
}

describe('refusals name the rule, the node and the fix', () => {
  it('a Conv on a 3-D (1-D signal) input lowers as a 1×k window (rule one-d-signals), not refused', () => {
    const b = cnnBuilder([1, 2, 8], 1);
    const t = b.act(b.op('Conv', [b.quant('x', 0.25, 4, true), b.weights([2, 2, 3])], { kernel_shape: ints([3]) }));
    const df = lowerModel(b.done(t));
    const win = df.layers.find((l) => l.kind === 'SlidingWindow');
    expect(win?.attrs).toMatchObject({ ih: 1, iw: 8, kh: 1, kw: 3 });
  });

  it('an op no rule claims: says so, and points at docs/lowering.md', () => {
    const b = cnnBuilder([1, 4, 2, 2], 2);
    const a = b.conv(b.quant('x', 0.25, 4, true), 4, 4, [1, 1]);
    const t = b.act(b.conv(b.act(b.op('Sin', [a])), 4, 2, [1, 1]));
    expect(refusal(() => lowerModel(b.done(t)))).toEqual([
      "KLN2001 cannot lower op 'Sin' (no lowering rule covers this op (docs/lowering.md lists the rules); fix: replace it with ops a rule covers, or run it on the host before or after the model) at node 'Sin_8'",
    ]);
  });

  it('a pixel shuffle between layers (not at the graph boundary): rule layout', () => {
    const b = cnnBuilder([1, 4, 2, 2], 2);
    const a = b.act(b.conv(b.quant('x', 0.25, 4, true), 4, 4, [1, 1]));
    const t = b.act(b.conv(b.op('DepthToSpace', [a], { blocksize: int(2) }), 1, 2, [1, 1]));
    expect(refusal(() => lowerModel(b.done(t)))).toEqual([
      "KLN2001 cannot lower op 'Conv' (rule layout: its input image is not in stream order (a layout op between layers reorders it; only the graph input may be reordered, on the host); fix: move the reorder to the graph input or output (the host reorders there), or drop it) at node 'Conv_16'",
    ]);
  });

  it('the graph as a whole: rule dataflow-graph; a lone quantizer (QKeras qactivation) is nothing to put in hardware', () => {
    const b = cnnBuilder([1, 2, 2, 2], 3);
    const t = b.quant(b.op('Relu', ['x']), 0.5, 4, false);
    expect(refusal(() => lowerModel(b.done(t)))).toEqual([
      'KLN2001 cannot lower the graph (rule dataflow-graph: nothing to put in hardware: its run-time path (Relu → Quant) has no layer (MatMul, Gemm, Conv or average pooling); fix: run it on the host (`kiln exec`); kiln builds hardware around at least one such layer)',
    ]);
  });

  it('scales, zero points and weights as graph inputs (ONNX operator tests): says they must be constants', () => {
    const b = cnnBuilder([1, 2, 3, 3], 3);
    b.g.inputs.push(...['x_scale', 'x_zero_point', 'w'].map((name) => ({ name, dtype: 'float32' as const, shape: [] })));
    const t = b.act(b.op('Conv', [b.op('Quant', ['x', 'x_scale', 'x_zero_point', b.c([4], [])], { signed: int(1), narrow: int(0), rounding_mode: { kind: 'string', v: 'ROUND' } }, 'qonnx.custom_op.general'), 'w'], { kernel_shape: ints([1, 1]) }));
    expect(refusal(() => lowerModel(b.done(t)))).toEqual([
      "KLN2001 cannot lower the graph (rule dataflow-graph: its quantization parameters 'x_scale', 'x_zero_point' and weights 'w' are run-time graph inputs, not constants (hardware fixes them at compile time; 4 run-time inputs, one data input 'x'); fix: make them initializers (constants) of the model)",
    ]);
  });

  it('two data inputs: says so (not a count of every graph input)', () => {
    const b = cnnBuilder([1, 2, 2, 2], 3);
    b.g.inputs.push({ name: 'y', dtype: 'float32', shape: [1, 2, 2, 2] });
    const t = b.quant(b.op('Add', ['x', 'y']), 0.5, 4, true);
    expect(refusal(() => lowerModel(b.done(t)))).toEqual([
      "KLN2001 cannot lower the graph (rule dataflow-graph: it has 2 run-time data inputs ('x', 'y'; dataflow lowering takes exactly one); fix: export the model with one run-time input (make the others initializers))",
    ]);
  });

  it('a lookup-table activation (Gather from a constant table, nn2fpga LUT SiLU): out of scope, said so', () => {
    const b = cnnBuilder([1, 4, 2, 2], 2);
    const a = b.op('Cast', [b.act(b.conv(b.quant('x', 0.25, 4, true), 4, 4, [1, 1]))], { to: int(7) });
    const t = b.act(b.conv(b.op('Gather', [b.c(Array.from({ length: 16 }, (_, i) => i / 4), [16]), a]), 4, 2, [1, 1]));
    expect(refusal(() => lowerModel(b.done(t)))).toEqual([
      "KLN2001 cannot lower op 'Gather' (a lookup-table activation (Gather from a constant table at the run-time codes): kiln has no table layer, activations lower as monotone chains (rule activation); fix: replace the table by the activation it tabulates (Relu, Sigmoid, HardSigmoid, …) before a quantizer) at node 'Gather_15'",
    ]);
  });
});

describe('no knock-on lines downstream of a refused layer', () => {
  it('a refused activation: the next layer (on an unknown input) adds no line', () => {
    const b = cnnBuilder([1, 2, 3, 3], 4);
    // Layer 1: LeakyRelu with a negative slope is not monotone (rule activation refuses it).
    const l1 = b.quant(b.op('LeakyRelu', [b.conv(b.quant('x', 0.25, 4, true), 2, 2, [1, 1])], { alpha: { kind: 'float', v: -1 } }), 0.5, 4, true);
    // Layer 2 would need the codes layer 1 did not produce: a 16-bit quantizer over its sum.
    const t = b.quant(b.conv(l1, 2, 2, [1, 1]), 2 ** -12, 16, true);
    const lines = refusal(() => lowerModel(b.done(t)));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^KLN2001 cannot lower op 'qonnx.custom_op.general:Quant' \(rule activation: its output is not monotone in the accumulator \(channel \d, accumulator -?\d+: -?\d+, thresholds give -?\d+\); fix: make the chain monotone \(e.g. LeakyRelu with alpha >= 0\), or move the op after the quantizer\) at node 'Quant_\d+'$/);
  });

  it('downstream weights off any grid are a cause of their own: still reported', () => {
    const b = cnnBuilder([1, 2, 3, 3], 5);
    const l1 = b.quant(b.op('LeakyRelu', [b.conv(b.quant('x', 0.25, 4, true), 2, 2, [1, 1])], { alpha: { kind: 'float', v: -1 } }), 0.5, 4, true);
    const t = b.act(b.op('Conv', [l1, b.c([0.3, 0.1, 0.7, 0.13], [2, 2, 1, 1])], { kernel_shape: ints([1, 1]) }));
    const lines = refusal(() => lowerModel(b.done(t)));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/rule activation: its output is not monotone/);
    expect(lines[1]).toMatch(/^KLN2001 cannot lower op 'Conv' \(rule integer-weights: weights 'c\d+' are not on an integer grid \(no quantizer, not ±a\/0, not a power-of-two grid\); fix: quantize the weights \(a Quant or DequantizeLinear on them\)\) at node 'Conv_\d+'$/);
  });
});
