// kiln inspect through the real CLI (text and JSON), and in process over every fixture model.
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectModel } from '../../src/cli/inspect.ts';
import { reportError } from '../../src/cli/errors.ts';
import { KilnError } from '../../src/diag/index.ts';
import { emptyGraph } from '../../src/ir/graph.ts';
import { makeTensor } from '../../src/ir/tensor.ts';
import { encodeModel } from '../../src/onnx/load.ts';
import { classifyLevels } from '../../src/analysis/weights.ts';
import { FIXTURES } from '../helpers/golden.ts';
import { kiln, tempDir } from './cli-helpers.ts';

const TFC = join(FIXTURES, 'corpus/qonnx-model-zoo/TFC_2W2A.onnx');

describe('kiln inspect', () => {
  it('prints interface, op histogram, weight statistics, memory, Cr and MACs; exit 0', () => {
    const r = kiln(['inspect', TFC]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  0     float32[1,1,28,28]');
    expect(r.stdout).toContain('  onnx.brevitas:Quant  8');
    expect(r.stdout).toMatch(/MatMul_20 +MatMul +\[784,64\] +float32 +3 +ternary +2 +68\.7% +50,176/);
    expect(r.stdout).toContain('stored     1,888,256 bits (230.50 KiB)');
    expect(r.stdout).toContain('quantized  118,016 bits (14.41 KiB)');
    expect(r.stdout).toContain('compression ratio Cr = stored/quantized = 16.00');
    expect(r.stdout).toContain('MACs 59,008');
    expect(r.stdout).toContain('diagnostics: none');
  });

  it('--json carries the same content', () => {
    const r = kiln(['inspect', TFC, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.inputs).toEqual([{ name: '0', dtype: 'float32', shape: [1, 1, 28, 28] }]);
    expect(j.ops['onnx.brevitas:Quant']).toBe(8);
    expect(j.weights.layers.map((l: { kind: string; bits: number }) => `${l.kind}/${l.bits}`)).toEqual(['ternary/2', 'ternary/2', 'ternary/2', 'ternary/2']);
    expect(j.weights.compressionRatio).toBe(16);
    expect(j.macs.total).toBe(784 * 64 + 64 * 64 * 2 + 64 * 10);
    expect(j.supported).toBe(true);
    expect(j.diagnostics).toEqual([]);
  });

  it('a hardware section: the layers a model lowers to, or the first rule that refuses it and where', () => {
    const r = kiln(['inspect', TFC]);
    expect(r.stdout).toContain('hardware: lowers (4 MVU, 3 Threshold)');
    const float = kiln(['inspect', join(FIXTURES, 'zoo/mlp_fp32/model.onnx')]);
    expect(float.code).toBe(0);
    expect(float.stdout).toContain("hardware: does not lower — first refusal: rule integer-weights at node '");
    expect(float.stdout).toMatch(/  KLN2001 cannot lower op 'Gemm' \(rule integer-weights: this model is float \(no quantizer anywhere, and weights '[^']+' are on no integer grid\); fix: quantize it first with `kiln compress model\.onnx -o model_int8\.onnx --bits 8 --calib <inputs\.npy>`\) at node '[^']+'\n/);
    const j = JSON.parse(kiln(['inspect', join(FIXTURES, 'zoo/mlp_fp32/model.onnx'), '--json']).stdout);
    expect(j.hardware).toMatchObject({ lowers: false, rule: 'integer-weights', causes: 1 });
  });

  it('lists EVERY unsupported op with its node name in one run and exits 2', () => {
    const g = emptyGraph();
    g.opsets['com.acme'] = 1;
    g.inputs.push({ name: 'x', dtype: 'float32', shape: [1, 4] });
    g.initializers.set('s', makeTensor('float32', [], [1]));
    g.nodes.push(
      { name: 'fq', op: 'Frobnicate', domain: 'com.acme', inputs: ['x', 's'], outputs: ['a'], attrs: {} },
      { name: 'relu', op: 'Relu', domain: '', inputs: ['a'], outputs: ['b'], attrs: {} },
      { name: 'mystery', op: 'Twiddle', domain: 'com.acme', inputs: ['b'], outputs: ['y'], attrs: {} },
    );
    g.outputs.push({ name: 'y', dtype: 'float32', shape: [1, 4] });
    const dir = tempDir();
    writeFileSync(join(dir, 'm.onnx'), encodeModel(g));
    const r = kiln(['inspect', 'm.onnx'], dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('diagnostics (2)\n' +
      "  KLN1003 unsupported ONNX op 'com.acme:Frobnicate' at node 'fq'\n" +
      "  KLN1003 unsupported ONNX op 'com.acme:Twiddle' at node 'mystery'\n");
    const j = JSON.parse(kiln(['inspect', 'm.onnx', '--json'], dir).stdout);
    expect(j.supported).toBe(false);
    expect(j.diagnostics.map((d: { node: string }) => d.node)).toEqual(['fq', 'mystery']);
  });

  it('reports structural problems with the unsupported ops, after the rest of the report', () => {
    const g = emptyGraph();
    g.inputs.push({ name: 'x', dtype: 'float32', shape: [1, 4] });
    g.nodes.push(
      { name: 'add', op: 'Add', domain: '', inputs: ['x', 'nowhere'], outputs: ['a'], attrs: {} },
      { name: 'odd', op: 'Frobnicate', domain: 'com.acme', inputs: ['a'], outputs: ['y'], attrs: {} },
    );
    g.outputs.push({ name: 'y', dtype: 'float32', shape: [1, 4] });
    const dir = tempDir();
    writeFileSync(join(dir, 'd.onnx'), encodeModel(g));
    const r = kiln(['inspect', 'd.onnx'], dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('  com.acme:Frobnicate  1\n');
    expect(r.stdout).toContain('diagnostics (2)\n' +
      "  KLN1007 tensor 'nowhere' used by Add is not produced by any node, initializer or graph input at node 'add'\n" +
      "  KLN1003 unsupported ONNX op 'com.acme:Frobnicate' at node 'odd'\n");
  });

  it('dumps the IR after a pass with --dump-after', () => {
    const r = kiln(['inspect', TFC, '--dump-after', 'fold-constants']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^# after fold-constants\nkiln-ir 1\n/);
    expect(r.stderr).not.toContain('= Shape(');
  });

  it('refuses unknown options and passes with a coded usage error (yargs strict)', () => {
    const r = kiln(['inspect', TFC, '--jsn']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("KLN1014 Unknown argument: jsn (see 'kiln inspect --help')\n");
    const p = kiln(['inspect', TFC, '--dump-after', 'no-such-pass']);
    expect(p.code).toBe(2);
    expect(p.stderr).toBe('KLN1014 unknown pass \'no-such-pass\' (known: schema-check, fix-batch, infer-shapes, fold-constants, fold-batchnorm, dce)\n');
  });

  it('--help lists the commands', () => {
    const r = kiln(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/kiln inspect <model>/);
    expect(r.stdout).toMatch(/kiln exec <model>/);
  });
});

describe('error reporting', () => {
  it('a KilnError is its diagnostics, one per line, exit 2; anything else is an internal error, exit 70', () => {
    const lines: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => lines.push(s) > 0) as typeof process.stderr.write;
    try {
      expect(reportError(new KilnError([{ code: 'KLN1003', message: 'a', node: 'n' }, { code: 'KLN1007', message: 'b' }]))).toBe(2);
      expect(reportError(new TypeError('boom'))).toBe(70);
    } finally {
      process.stderr.write = orig;
    }
    expect(lines.slice(0, 2)).toEqual(["KLN1003 a at node 'n'\n", 'KLN1007 b\n']);
    expect(lines[2]).toMatch(/^internal error \(a bug in kiln, please report it\): TypeError: boom\n\s+at /);
  });
});

describe('weight level classification', () => {
  it.each([
    [[-0.5, 0.5], 'float32', 'bipolar', 1],
    [[0, 0.25], 'float32', 'binary', 1],
    [[-2, 0, 2], 'float32', 'ternary', 2],
    [[-3, -1, 1, 3, 5], 'float32', 'int', 3],
    [[0.1, 0.7, 0.2345], 'float32', 'float', 32],
    [[7], 'float32', 'constant', 1],
    [[-100, -3, 5, 17], 'int8', 'int', 2],
  ])('%j (%s) → %s, %i bits', (levels, dtype, kind, bits) => {
    expect(classifyLevels([...levels].sort((a, b) => a - b), dtype as 'float32')).toEqual({ kind, bits });
  });
});

function onnxFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? onnxFiles(p) : e.endsWith('.onnx') ? [p] : [];
  });
}

describe('inspect on every fixture model', () => {
  const models = onnxFiles(join(FIXTURES, 'corpus')).concat(onnxFiles(join(FIXTURES, 'zoo'))).sort();
  it.each(models.map((m) => [m.slice(FIXTURES.length + 1), m]))('%s: no crash, every op supported', (_, path) => {
    const r = inspectModel(path);
    expect(r.diagnostics).toEqual([]);
    expect(r.nodesAfterTidy).toBeLessThanOrEqual(r.nodes);
    expect(r.macs.total === null || r.macs.total >= 0).toBe(true);
  });
});
