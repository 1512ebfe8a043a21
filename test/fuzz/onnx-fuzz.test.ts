// #16 fuzzers (fast-check): structure-aware mutations of small quantized models and byte-level
// mutations of their encodings, through inspect, exec and compile in process. Each case must end
// in success or a KilnError whose every diagnostic is one coded line (never another exception: a
// stack trace, exit 70), in under 30 s, leave no partial output when compile fails, and compile
// byte-identically twice when it succeeds. FUZZ_ONNX_N cases (500 in `make test`;
// `make fuzz-onnx N=100000` for long runs); a failure shrinks to a minimal mutation list.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { compileModel } from '../../src/cli/compile.ts';
import { inspectModel } from '../../src/cli/inspect.ts';
import { formatDiagnostic, KilnError } from '../../src/diag/index.ts';
import { runGraph } from '../../src/exec/run.ts';
import { runtimeInputs, type AttrValue, type Graph } from '../../src/ir/graph.ts';
import { makeTensor, type DType } from '../../src/ir/tensor.ts';
import { importModel } from '../../src/onnx/import.ts';
import { encodeModel } from '../../src/onnx/load.ts';
import { cnnBuilder, int, ints } from '../helpers/cnn-builder.ts';
import { kilnAsync } from '../unit/cli-helpers.ts';

const N = Number(process.env.FUZZ_ONNX_N ?? 500);
const dir = mkdtempSync(join(tmpdir(), 'kiln-fuzz-onnx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The seeds: a small CNN (conv, pad, pool, residual add) and a small MLP, both QONNX-quantized. */
function seeds(): Graph[] {
  const c = cnnBuilder([1, 2, 6, 6], 3);
  let t = c.quant('x', 0.25, 4, true);
  const a = c.act(c.conv(t, 2, 4, [3, 3], { pads: ints([1, 1, 1, 1]) }));
  const b = c.act(c.conv(a, 4, 4, [3, 3], { pads: ints([1, 1, 1, 1]) }));
  t = c.quant(c.op('Add', [a, b]), 0.5, 5, false);
  t = c.op('MaxPool', [t], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) });
  t = c.op('Flatten', [t], { axis: int(1) });
  const cnn = c.done(c.op('Gemm', [t, c.weights([3, 36]), c.bias(3)], { transB: int(1) }));
  const m = cnnBuilder([1, 8], 4, 'mlp');
  let u = m.quant('x', 0.125, 4, true);
  u = m.act(m.op('MatMul', [u, m.quant(m.weights([8, 6]), 0.25, 3, true)]));
  const mlp = m.done(m.op('MatMul', [u, m.weights([6, 2])]));
  return [cnn, mlp];
}
const SEEDS = seeds();
const SEED_BYTES = SEEDS.map(encodeModel);

const clone = (g: Graph): Graph => ({
  ...g, nodes: g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attrs: { ...n.attrs } })),
  inputs: g.inputs.map((i) => ({ ...i, shape: i.shape && [...i.shape] })), outputs: g.outputs.map((o) => ({ ...o })),
  initializers: new Map(g.initializers), valueInfo: new Map(), opsets: { ...g.opsets },
});

const OPS = ['Add', 'Sub', 'Mul', 'Div', 'Concat', 'Conv', 'MaxPool', 'AveragePool', 'Pad', 'Relu', 'Quant', 'Trunc', 'BipolarQuant', 'MultiThreshold', 'Reshape', 'Transpose', 'Gemm', 'MatMul', 'Where', 'Sum', 'Clip', 'Flatten', 'Softmax', 'Nope'];
const EXTREMES = [-(2 ** 31), -1, 0, 1, 2, 3, 7, 2 ** 31 - 1, 2 ** 40];
const FLOATS = [NaN, Infinity, -Infinity, -1, 0, 1e-40, 0.5, 3e38];
const WINDOW = ['kernel_shape', 'strides', 'pads', 'dilations', 'axis', 'perm', 'group', 'transB'];
const DTYPES: DType[] = ['float32', 'int8', 'int64', 'bool', 'float16', 'uint8'];

/** One structural change, as data (so fast-check can shrink a failing list of them). */
const mutation = fc.oneof(
  fc.record({ k: fc.constant('op' as const), node: fc.nat(), op: fc.constantFrom(...OPS) }),
  fc.record({ k: fc.constant('inputs' as const), node: fc.nat(), count: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ k: fc.constant('attr' as const), node: fc.nat(), name: fc.constantFrom(...WINDOW), len: fc.integer({ min: 0, max: 5 }), v: fc.constantFrom(...EXTREMES) }),
  fc.record({ k: fc.constant('dim' as const), axis: fc.nat(), v: fc.constantFrom(0, -1, 1, 3, 2 ** 31, 2 ** 53) }),
  fc.record({ k: fc.constant('rank' as const), rank: fc.integer({ min: 0, max: 6 }) }),
  fc.record({ k: fc.constant('dtype' as const), dtype: fc.constantFrom(...DTYPES) }),
  fc.record({ k: fc.constant('const' as const), which: fc.nat(), v: fc.constantFrom(...FLOATS) }),
  fc.record({ k: fc.constant('dangling' as const), node: fc.nat() }),
  fc.record({ k: fc.constant('cycle' as const), node: fc.nat() }),
  fc.record({ k: fc.constant('dupOut' as const), node: fc.nat() }),
  fc.record({ k: fc.constant('opset' as const), v: fc.constantFrom(undefined, -1, 0, 1, 9, 13, 17, 18, 21, 99) }),
  fc.record({ k: fc.constant('name' as const), node: fc.nat(), name: fc.constantFrom('', 'a\nb', '\x1b[2J', 'x'.repeat(300), 'y') }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(seed: Graph, ms: Mutation[]): Graph {
  const g = clone(seed);
  for (const m of ms) {
    const n = g.nodes.length ? g.nodes[('node' in m ? m.node : 0) % g.nodes.length] : undefined;
    const x = g.inputs[0];
    switch (m.k) {
      case 'op': if (n) n.op = m.op; break;
      case 'inputs': if (n) n.inputs = Array.from({ length: m.count }, (_, i) => n.inputs[i] ?? n.inputs[0] ?? 'x'); break;
      case 'attr': if (n) n.attrs[m.name] = (m.len === 1 ? { kind: 'int', v: m.v } : { kind: 'ints', v: new Array(m.len).fill(m.v) }) as AttrValue; break;
      case 'dim': if (x?.shape?.length) x.shape[m.axis % x.shape.length] = m.v; break;
      case 'rank': if (x) x.shape = Array.from({ length: m.rank }, (_, i) => x.shape?.[i] ?? 2); break;
      case 'dtype': if (x) x.dtype = m.dtype; break;
      case 'const': {
        const keys = [...g.initializers.keys()];
        if (keys.length) {
          const key = keys[m.which % keys.length];
          const t = g.initializers.get(key)!;
          g.initializers.set(key, makeTensor(t.dtype, t.shape, Array.from({ length: t.data.length }, () => m.v)));
        }
        break;
      }
      case 'dangling': if (n) n.inputs[0] = 'nowhere'; break;
      case 'cycle': if (n) n.inputs[0] = n.outputs[0]; break;
      case 'dupOut': if (n && g.nodes[0] !== n) n.outputs[0] = g.nodes[0].outputs[0]; break;
      case 'opset': if (m.v === undefined) delete g.opsets['']; else g.opsets[''] = m.v; break;
      case 'name': if (n) n.name = m.name; break;
    }
  }
  return g;
}

/** Byte mutations of an encoded seed: overwrite, insert, delete, truncate. */
const byteEdit = fc.oneof(
  fc.record({ k: fc.constant('set' as const), at: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ k: fc.constant('insert' as const), at: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ k: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ k: fc.constant('truncate' as const), at: fc.nat() }),
);
type ByteEdit = typeof byteEdit extends fc.Arbitrary<infer E> ? E : never;

function editBytes(seed: Uint8Array, edits: ByteEdit[]): Uint8Array {
  let b = [...seed];
  for (const e of edits) {
    const at = b.length ? e.at % b.length : 0;
    if (e.k === 'set') b[at] = e.v;
    else if (e.k === 'insert') b.splice(at, 0, e.v);
    else if (e.k === 'delete') b.splice(at, e.len);
    else b = b.slice(0, at);
  }
  return Uint8Array.from(b);
}

/** Runs f: fine when it returns or throws a KilnError of one-line diagnostics; anything else fails the case. */
function userErrorOrOk(what: string, f: () => unknown): { ok: boolean; message: string; ms: number } {
  const t0 = performance.now();
  try {
    f();
    return { ok: true, message: '', ms: performance.now() - t0 };
  } catch (e) {
    if (!(e instanceof KilnError)) throw new Error(`${what}: not a coded error: ${(e as Error).stack ?? String(e)}`);
    for (const d of e.diagnostics) {
      const line = formatDiagnostic(d).split('\n')[0];
      expect(line).toMatch(/^KLN\d{4} \S/);
      expect(d.detail === undefined && formatDiagnostic(d).includes('\n')).toBe(false);
    }
    return { ok: false, message: e.message, ms: performance.now() - t0 };
  } finally {
    expect(performance.now() - t0, `${what} took too long`).toBeLessThan(30_000);
  }
}

function tree(d: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string, rel: string) => {
    for (const f of readdirSync(p).sort()) {
      const full = join(p, f);
      if (statSync(full).isDirectory()) walk(full, `${rel}${f}/`);
      else out[`${rel}${f}`] = readFileSync(full, 'latin1');
    }
  };
  walk(d, '');
  return out;
}

let caseNo = 0;
/** Per stage: how many cases succeeded and how many ended in a coded error (printed at the end). */
const counts: Record<string, { ok: number; coded: number; ms: number }> = {};
const tally = <R extends { ok: boolean; ms: number }>(stage: string, r: R): R => {
  const c = (counts[stage] ??= { ok: 0, coded: 0, ms: 0 });
  c.ms += r.ms;
  if (r.ok) c.ok++;
  else c.coded++;
  return r;
};
afterAll(() => console.log(`fuzz-onnx ${caseNo} distinct models (${repeats} repeats skipped): ${Object.entries(counts).map(([k, c]) => `${k} ${c.ok} ok / ${c.coded} coded errors (${(c.ms / 1000).toFixed(1)} s)`).join('; ')}; ` +
  `failed compiles without output and with the same error twice: ${cleanFailures}; compiles byte-identical twice: ${identical}; cases breaking a rule: ${violations}`));
/** Models already checked, by content: a repeat (about 1 in 4 cases) would only redo the same work. */
const seen = new Set<string>();
let repeats = 0;
/** Cases that broke a rule (not a coded error or a stack trace, over 30 s, partial output, differing output). */
let violations = 0;
let identical = 0;
let cleanFailures = 0;

/** inspect, exec (on zeros, when the input shape is small and known) and compile one model file. */
function checkModel(bytes: Uint8Array): void {
  const key = createHash('sha256').update(bytes).digest('hex');
  if (seen.has(key)) {
    repeats++;
    return;
  }
  seen.add(key);
  const k = caseNo++;
  const file = join(dir, `m${k}.onnx`);
  writeFileSync(file, bytes);
  try {
    checkModelFile(file, k);
  } catch (e) {
    violations++;
    throw e;
  } finally {
    rmSync(file, { force: true });
  }
}

function checkModelFile(file: string, k: number): void {
  tally('inspect', userErrorOrOk('inspect', () => inspectModel(file)));
  tally('exec', userErrorOrOk('exec', () => {
    const g = importModel(file, { pipeline: 'tidy-exact' });
    const feeds = new Map(runtimeInputs(g).map((i) => {
      const shape = (i.shape ?? []).map((d) => (typeof d === 'number' ? d : 1));
      if (shape.some((d) => d < 0) || shape.reduce((a, b) => a * b, 1) > 1e5) throw new KilnError({ code: 'KLN1012', message: 'input too large for the fuzzer' });
      return [i.name, makeTensor(i.dtype, shape)];
    }));
    runGraph(g, feeds);
  }));
  const out = join(dir, `o${k}`);
  const first = tally('compile', userErrorOrOk('compile', () => compileModel(file, out)));
  if (!first.ok) {
    expect(existsSync(out), 'a failed compile left output').toBe(false);
    expect(userErrorOrOk('compile again', () => compileModel(file, out)).message).toBe(first.message);
    cleanFailures++;
    return;
  }
  const again = join(dir, `p${k}`);
  tally('compile again', userErrorOrOk('compile again', () => compileModel(file, again)));
  expect(tree(again)).toEqual(tree(out));
  identical++;
  rmSync(out, { recursive: true, force: true });
  rmSync(again, { recursive: true, force: true });
}

describe('ONNX fuzzers (fast-check)', () => {
  it('the seeds themselves compile (so mutations reach every stage)', () => {
    for (const bytes of SEED_BYTES) {
      const file = join(dir, `seed${caseNo++}.onnx`);
      writeFileSync(file, bytes);
      expect(compileModel(file, join(dir, `seed${caseNo}`)).manifest.files.length).toBeGreaterThan(0);
    }
  });

  const timeout = Math.max(120_000, N * 400);
  it(`structure-aware: ${N - Math.floor(N / 2)} mutated models`, () => {
    fc.assert(fc.property(fc.nat({ max: SEEDS.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (s, ms) => {
      checkModel(encodeModel(mutate(SEEDS[s], ms)));
    }), { numRuns: N - Math.floor(N / 2), seed: Number(process.env.FUZZ_SEED ?? 16) });
  }, timeout);

  // Found by the fuzzer (N=10000): a node named with 300 characters named an RTL file too long for
  // the file system (ENAMETOOLONG, exit 70); verilogIdentifier now bounds names with a hash.
  it('regression: a 300-character node name compiles', () => {
    for (let node = 0; node < SEEDS[0].nodes.length; node++) checkModel(encodeModel(mutate(SEEDS[0], [{ k: 'name', node, name: 'x'.repeat(300) }])));
  });

  // Found by the fuzzer (N=2000): a Quant scale of 1e-40 beside one of 0.5 made a residual Add's
  // integer weights ~5e39; past 2^53 the threshold bisection stopped progressing and compile hung.
  it('regression: a scale of 1e-40 before a residual Add is refused, not a hang', () => {
    const file = join(dir, 'tiny-scale.onnx');
    writeFileSync(file, encodeModel(mutate(SEEDS[0], [{ k: 'const', which: 5, v: 1e-40 }])));
    const r = userErrorOrOk('compile', () => compileModel(file, join(dir, 'tiny-scale')));
    expect(r.message).toBe("KLN2001 cannot lower op 'qonnx.custom_op.general:Quant' (rule activation: an accumulator range of [0, 5.000026949587876e+39], beyond ±2^53; " +
      "fix: bring the scales of the quantizers before this activation closer together (their ratio sets the integer weights)) at node 'Quant_25'");
    checkModel(readFileSync(file));
  });

  // Found by the fuzzer (N=2000, case 780): a Quant turned into Pad read its float scale as 'pads';
  // the NaN shape never equalled itself and infer-shapes/fold-constants never settled (exit 70).
  it('regression: a shape rule computing NaN sizes is a coded error', () => {
    const file = join(dir, 'nan-shape.onnx');
    writeFileSync(file, encodeModel(mutate(SEEDS[0], [{ k: 'op', node: 0, op: 'Pad' }])));
    expect(userErrorOrOk('inspect', () => inspectModel(file)).message).toBe("KLN1002 Pad output 't3' comes out with shape [NaN,NaN,NaN,NaN]: check the node's inputs and attributes at node 'Quant_4'");
    checkModel(readFileSync(file));
  });

  it('a few through the real CLI: exit 0 or 2, one coded line, no stack trace', async () => {
    const models = fc.sample(fc.tuple(fc.nat({ max: SEEDS.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 3 })), { numRuns: 4, seed: 7 });
    await Promise.all(models.map(async ([s, ms], i) => {
      const file = join(dir, `cli${i}.onnx`);
      writeFileSync(file, encodeModel(mutate(SEEDS[s], ms)));
      const r = await kilnAsync(['compile', file, '-o', join(dir, `cli${i}`)], dir);
      expect([0, 2]).toContain(r.code);
      if (r.code === 2) expect(r.stderr).toMatch(/^(KLN\d{4} [^\n]*\n)+$/);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    }));
  }, 180_000);

  it(`byte-level: ${Math.floor(N / 2)} mutated encodings`, () => {
    fc.assert(fc.property(fc.nat({ max: SEEDS.length - 1 }), fc.array(byteEdit, { minLength: 1, maxLength: 6 }), (s, es) => {
      checkModel(editBytes(SEED_BYTES[s], es));
    }), { numRuns: Math.floor(N / 2), seed: Number(process.env.FUZZ_SEED ?? 16) });
  }, timeout);
});
