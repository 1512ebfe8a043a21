// Network-level performance from the per-layer cycle models: the one implementation that codegen's
// manifest/report and `kiln estimate` both use.
//   II (cycles per inference, steady state) = the slowest layer, or the input/output port's beats.
//   First-output latency = the first inference's beats pushed through the pipeline (input beat j
//   offered at cycle j): each layer's beat-level `schedule` where it has one, else its `timing`
//   (a join starting from its inputs' latest first and last beats) spread evenly over its beats.
//   Not the pessimistic sum of layer latencies: layers overlap as their beats flow.
import type { DataflowGraph } from '../ir/dataflow.ts';
import type { CheckedLayer } from '../exec/dataflow.ts';

export interface Performance {
  /** Steady-state cycles per inference (initiation interval). */
  cyclesPerInference: number;
  /** Cycles from the first input beat accepted to the first output beat. */
  firstOutputLatency: number;
  /** Name of the layer (or 'input' / 'output' port) that sets the II. */
  bottleneck: string;
}

/** II, first-output latency and bottleneck of a checked (folded, width-converted) dataflow graph. */
export function networkPerformance(df: DataflowGraph, checked: CheckedLayer[]): Performance {
  const port = (stream: string) => {
    for (const c of checked) {
      const i = c.layer.inputs.indexOf(stream);
      if (i >= 0) return c.ports.in[i];
      const o = c.layer.outputs.indexOf(stream);
      if (o >= 0) return c.ports.out[o];
    }
    throw new Error(`stream '${stream}' has no port`); // checkDataflow guarantees one
  };
  const inPort = port(df.inputs[0]);
  const outPort = port(df.outputs[0]);
  const inBeats = inPort.elems / inPort.fold;
  const outBeats = outPort.elems / outPort.fold;
  const beats = new Map<string, number[]>([[df.inputs[0], Array.from({ length: inBeats }, (_, j) => j)]]);
  let ii = inBeats;
  let bottleneck = 'input';
  if (outBeats > ii) [ii, bottleneck] = [outBeats, 'output'];
  let taken = 0;
  for (const { layer, kind, attrs, ports } of checked) {
    const ins = layer.inputs.map((s) => beats.get(s)!);
    let outs: number[][];
    if (kind.spec.schedule) {
      const sched = kind.spec.schedule(attrs, ins);
      outs = sched.out;
      if (layer.inputs[0] === df.inputs[0] && sched.firstTaken !== undefined) taken = sched.firstTaken;
    } else {
      const [first, last] = kind.spec.timing(attrs, Math.max(...ins.map((x) => x[0])), Math.max(...ins.map((x) => x[x.length - 1])));
      outs = ports.out.map((p) => {
        const n = p.elems / p.fold;
        return Array.from({ length: n }, (_, j) => (n > 1 ? first + Math.round((j * (last - first)) / (n - 1)) : first));
      });
    }
    layer.outputs.forEach((s, i) => beats.set(s, outs[i]));
    const cycles = kind.spec.cycles(attrs);
    if (cycles > ii) [ii, bottleneck] = [cycles, layer.name];
  }
  return { cyclesPerInference: ii, firstOutputLatency: beats.get(df.outputs[0])![0] - taken, bottleneck };
}

/** Inferences per second at a clock. */
export function fps(cyclesPerInference: number, clockMHz: number): number {
  return (clockMHz * 1e6) / cyclesPerInference;
}
