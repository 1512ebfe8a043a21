// The integer reference executor for the dataflow IR: THE definition of what the hardware computes.
// Each layer dispatches to its kind's `execute` (src/layers/<kind>.ts). Stream elements are the
// integer values of their QType (BIPOLAR as -1/+1; see src/ir/dataflow.ts), one inference at a time.
import { fail, InternalError } from '../diag/index.ts';
import { allows, isIntegral, qtypeName, range, sameQType, type QType } from '../ir/datatype.ts';
import type { DataflowGraph, Layer } from '../ir/dataflow.ts';
import { numel } from '../ir/tensor.ts';
import type { AnyAttrs, Kernel, LayerKind, Port } from '../layers/define.ts';
import { layerKind } from '../layers/index.ts';

export interface CheckedLayer {
  layer: Layer;
  kind: LayerKind;
  attrs: AnyAttrs;
  ports: { in: Port[]; out: Port[] };
}

/** Whether a checked layer is of this kind: then its attrs are that kind's typed attrs (parse made them). */
export function isKind<A>(c: CheckedLayer, kind: LayerKind<A>): c is CheckedLayer & { attrs: A } {
  return c.kind === (kind as unknown);
}

/**
 * Parses every layer's attrs and consts (KLN1008 / KLN2002 on errors) and checks that its ports agree
 * with the streams it is connected to (type and elements per inference).
 */
export function checkDataflow(df: DataflowGraph): CheckedLayer[] {
  return df.layers.map((layer) => {
    const kind = layerKind(layer.kind, layer.name);
    const attrs = kind.parse(layer);
    const ports = kind.spec.streams(attrs);
    const connect = (names: string[], ps: Port[], dir: string) => {
      if (names.length !== ps.length) fail('ShapeMismatch', `${layer.kind} must have ${ps.length} ${dir}s, not ${names.length}`, layer.name);
      names.forEach((name, i) => {
        const s = df.streams.get(name);
        if (!s) fail('DanglingTensor', `stream '${name}' is not declared`, layer.name);
        if (!sameQType(s.qtype, ps[i].qtype)) {
          fail('ShapeMismatch', `stream '${name}' must be ${qtypeName(ps[i].qtype)} for this ${dir}, not ${qtypeName(s.qtype)}`, layer.name);
        }
        if (numel(s.shape) !== ps[i].elems) {
          fail('ShapeMismatch', `stream '${name}' must carry ${ps[i].elems} elements, not ${numel(s.shape)}`, layer.name);
        }
      });
    };
    connect(layer.inputs, ports.in, 'input');
    connect(layer.outputs, ports.out, 'output');
    return { layer, kind, attrs, ports };
  });
}

/** A fast membership test equal to allows(t, ·) (the executor checks every element it moves). */
function valueTest(t: QType): (v: number) => boolean {
  if (t.kind === 'BIPOLAR') return (v) => v === 1 || v === -1;
  if (!isIntegral(t)) return (v) => allows(t, v);
  const [lo, hi] = range(t);
  return (v) => Number.isInteger(v) && v >= lo && v <= hi;
}

function firstBad(values: ArrayLike<number>, ok: (v: number) => boolean): number | undefined {
  for (let i = 0; i < values.length; i++) if (!ok(values[i])) return values[i];
  return undefined;
}

/** A checked layer ready to run many inferences: its kernel, prepared once (or its `execute`). */
interface PreparedLayer extends CheckedLayer {
  run: Kernel;
  outTests: ((v: number) => boolean)[];
}

function prepare(df: DataflowGraph, checked: CheckedLayer[]): PreparedLayer[] {
  return checked.map((c) => {
    const { kind, attrs, layer } = c;
    const run: Kernel = kind.spec.kernel
      ? kind.spec.kernel(attrs, layer.consts)
      : (ins) => kind.spec.execute(attrs, ins.map((v) => Array.from(v)), layer.consts).map((v) => Float64Array.from(v));
    return { ...c, run, outTests: layer.outputs.map((name) => valueTest(df.streams.get(name)!.qtype)) };
  });
}

/** Every stream's values of one inference (inputs and each layer's outputs), by stream name. */
function runStreams(df: DataflowGraph, layers: PreparedLayer[], inputs: number[][]): Map<string, ArrayLike<number>> {
  if (inputs.length !== df.inputs.length) fail('InputMismatch', `the design takes ${df.inputs.length} input(s), not ${inputs.length}`);
  const env = new Map<string, ArrayLike<number>>();
  df.inputs.forEach((name, i) => {
    const s = df.streams.get(name)!;
    const x = inputs[i];
    const n = numel(s.shape);
    if (x.length !== n) fail('InputMismatch', `input '${name}' must have ${n} elements, not ${x.length}`);
    const bad = firstBad(x, valueTest(s.qtype));
    if (bad !== undefined) fail('InputMismatch', `input '${name}' must hold ${qtypeName(s.qtype)} values, not ${bad}`);
    // Every stream a Float64Array: the kernels' loops then see one array type (monomorphic, fast).
    env.set(name, Float64Array.from(x));
  });
  for (const { layer, run, outTests } of layers) {
    const ins = layer.inputs.map((name) => {
      const v = env.get(name);
      if (!v) throw new InternalError(`stream '${name}' used before it is produced (layers not in topological order?)`);
      return v;
    });
    const outs = run(ins);
    layer.outputs.forEach((name, i) => {
      const bad = firstBad(outs[i], outTests[i]);
      if (bad !== undefined) throw new InternalError(`layer '${layer.name}' produced ${bad}, not a ${qtypeName(df.streams.get(name)!.qtype)} value`);
      env.set(name, outs[i]);
    });
  }
  return env;
}

function runPrepared(df: DataflowGraph, layers: PreparedLayer[], inputs: number[][]): number[][] {
  const env = runStreams(df, layers, inputs);
  return df.outputs.map((name) => Array.from(env.get(name)!));
}

/** One inference: input values per graph input → output values per graph output. */
export function runDataflow(df: DataflowGraph, inputs: number[][]): number[][] {
  return runPrepared(df, prepare(df, checkDataflow(df)), inputs);
}

/** Many inferences (`batch[i]` = the inputs of inference i); checks the graph once. */
export function runDataflowBatch(df: DataflowGraph, batch: number[][][]): number[][][] {
  const layers = prepare(df, checkDataflow(df));
  return batch.map((inputs) => runPrepared(df, layers, inputs));
}

/** Many inferences, every stream's values (what each layer's output stream must carry: kiln's mismatch localization). */
export function runDataflowStreamsBatch(df: DataflowGraph, batch: number[][][]): Map<string, number[]>[] {
  const layers = prepare(df, checkDataflow(df));
  return batch.map((inputs) => new Map([...runStreams(df, layers, inputs)].map(([name, v]) => [name, Array.from(v)])));
}
