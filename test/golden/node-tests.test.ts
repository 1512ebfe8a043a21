// The ONNX backend node tests (Debian's libonnx-testdata) run through kiln's reference executor.
// A test is "applicable" when kiln can load its model and executes every op in it; each must then
// reproduce the golden outputs: float within 1e-4 abs + 1e-3 rel (NaN equals NaN), integers and
// bools exactly, same shape and element type.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Code, KilnError } from '../../src/diag/index.ts';
import { runtimeInputs, type Graph } from '../../src/ir/graph.ts';
import { isFloat, nums, type Tensor } from '../../src/ir/tensor.ts';
import { runGraph, unsupportedNodes } from '../../src/exec/run.ts';
import { loadModel } from '../../src/onnx/load.ts';
import { close, readPb } from '../helpers/golden.ts';

/** The node-test folder of the installed package, or undefined when it is not installed. */
function nodeTestRoot(): string | undefined {
  const standard = '/usr/share/libonnx-testdata/data/node';
  if (existsSync(standard)) return standard;
  try {
    const files = execFileSync('dpkg', ['-L', 'libonnx-testdata'], { encoding: 'utf8' }).split('\n');
    const hit = files.find((f) => /\/node\/test_[^/]+\/model\.onnx$/.test(f));
    return hit ? hit.replace(/\/test_[^/]+\/model\.onnx$/, '') : undefined;
  } catch {
    return undefined;
  }
}

/** Why `got` differs from `want` (exact shape and dtype, project tolerance), or undefined. */
function mismatch(got: Tensor | undefined, want: Tensor): string | undefined {
  if (!got) return 'no output';
  if (got.dtype !== want.dtype) return `dtype ${got.dtype}, want ${want.dtype}`;
  if (got.shape.join(',') !== want.shape.join(',')) return `shape [${got.shape}], want [${want.shape}]`;
  const a = nums(got);
  const b = nums(want);
  for (let i = 0; i < b.length; i++) {
    const ok = isFloat(want.dtype) ? close(a[i], b[i]) : a[i] === b[i];
    if (!ok) return `element ${i}: ${a[i]}, want ${b[i]}`;
  }
  return undefined;
}

/** For not-applicable tests, `why` is a short category (counted in the summary). */
type Outcome = { name: string; status: 'pass' | 'fail' | 'not-applicable'; why?: string };

/** Load a test's model; undefined (not applicable) when kiln refuses the model by design. */
function applicableModel(dir: string): { g?: Graph; why?: string } {
  let g: Graph;
  try {
    g = loadModel(join(dir, 'model.onnx'));
  } catch (e) {
    // Sequence/map/optional values are outside kiln's tensor-only IR (KLN1010 at load); any other
    // load error is a failure of the test, not a reason to skip it.
    if (e instanceof KilnError && e.code === Code.UnsupportedDType) return { why: 'non-tensor values' };
    throw e;
  }
  if (unsupportedNodes(g)) return { why: 'unsupported op' };
  // kiln executes numeric tensors only: string-typed graph inputs/outputs are outside its scope.
  if ([...g.inputs, ...g.outputs].some((v) => v.dtype === 'string')) return { why: 'string tensors' };
  return { g };
}

function runOne(root: string, name: string): Outcome {
  const dir = join(root, name);
  let model: { g?: Graph; why?: string };
  try {
    model = applicableModel(dir);
  } catch (e) {
    return { name, status: 'fail', why: `load: ${(e as Error).message.split('\n')[0]}` };
  }
  const { g, why } = model;
  if (!g) return { name, status: 'not-applicable', why };
  const sets = readdirSync(dir).filter((d) => d.startsWith('test_data_set_')).sort();
  for (const set of sets) {
    const sdir = join(dir, set);
    try {
      const feeds = new Map<string, Tensor>();
      for (const [k, vi] of runtimeInputs(g).entries()) {
        const f = join(sdir, `input_${k}.pb`);
        if (!existsSync(f)) continue;
        const t = readPb(f);
        // onnx 1.12 stores bfloat16 test data as raw uint16 bits: data that contradicts its own
        // model's declared types is not a test of the executor.
        if (t.dtype !== vi.dtype) return { name, status: 'not-applicable', why: 'data type contradicts model' };
        feeds.set(vi.name, t);
      }
      for (const [k, vo] of g.outputs.entries()) {
        const f = join(sdir, `output_${k}.pb`);
        if (existsSync(f) && readPb(f).dtype !== vo.dtype) return { name, status: 'not-applicable', why: 'data type contradicts model' };
      }
      const got = runGraph(g, feeds);
      for (let k = 0; k < g.outputs.length; k++) {
        const f = join(sdir, `output_${k}.pb`);
        if (!existsSync(f)) continue;
        const bad = mismatch(got.get(g.outputs[k].name), readPb(f));
        if (bad) return { name, status: 'fail', why: `${set} output ${k}: ${bad}` };
      }
    } catch (e) {
      return { name, status: 'fail', why: `${set}: ${(e as Error).message.split('\n')[0]}` };
    }
  }
  return { name, status: 'pass' };
}

const root = nodeTestRoot();

/** Run every test_* folder under dir; print `label: passed/applicable` and the failures. */
function runSuite(label: string, dir: string): { passed: number; applicable: number } {
  const only = process.env.KILN_NODE_TEST; // a substring filter for debugging one op
  const names = readdirSync(dir).filter((d) => d.startsWith('test_') && existsSync(join(dir, d, 'model.onnx')) && (!only || d.includes(only))).sort();
  const outcomes = names.map((n) => runOne(dir, n));
  const applicable = outcomes.filter((o) => o.status !== 'not-applicable');
  const failed = applicable.filter((o) => o.status === 'fail');
  const passed = applicable.length - failed.length;
  const skipped = new Map<string, number>();
  for (const o of outcomes) if (o.status === 'not-applicable') skipped.set(o.why!, (skipped.get(o.why!) ?? 0) + 1);
  console.log(`${label}: ${passed}/${applicable.length} (of ${names.length} in ${dir})`);
  if (skipped.size) console.log(`  not applicable: ${[...skipped].map(([why, n]) => `${n} ${why}`).join(', ')}`);
  if (failed.length) console.log(`failing:\n${failed.map((o) => `  ${o.name}: ${o.why}`).join('\n')}`);
  return { passed, applicable: applicable.length };
}

describe('ONNX backend tests (libonnx-testdata)', () => {
  it.skipIf(!root)('reproduce the goldens of every applicable node test (>= 95 %)', () => {
    const { passed, applicable } = runSuite('node tests', root!);
    expect(applicable).toBeGreaterThan(0);
    expect(passed / applicable).toBeGreaterThanOrEqual(0.95);
  });

  // The same package's small whole-model suites (PyTorch-exported layers, simple graphs).
  for (const suite of ['pytorch-converted', 'pytorch-operator', 'simple']) {
    const dir = root && join(root, '..', suite);
    it.skipIf(!dir || !existsSync(dir))(`reproduce the goldens of the ${suite} models (>= 95 %)`, () => {
      const { passed, applicable } = runSuite(`${suite} tests`, dir!);
      if (applicable > 0) expect(passed / applicable).toBeGreaterThanOrEqual(0.95);
    });
  }
});

if (!root) console.log('node tests: skipped, libonnx-testdata is not installed (apt-get install libonnx-testdata)');
