// Width converters: a WidthConverter layer on every stream whose producer's beat (elements per beat)
// differs from its consumer's, so each layer may be folded on its own.
import type { DataflowGraph, Layer } from '../ir/dataflow.ts';
import { qtypeName } from '../ir/datatype.ts';
import { checkDataflow } from '../exec/dataflow.ts';
import type { Port } from '../layers/define.ts';

/** Inserts a WidthConverter on every stream whose producer's beat differs from its consumer's. */
export function insertWidthConverters(df: DataflowGraph): DataflowGraph {
  const checked = checkDataflow(df);
  const layers: Layer[] = [];
  const streams = new Map(df.streams);
  const names = new Set(df.layers.map((l) => l.name));
  const producerPort = new Map<string, Port>();
  for (const c of checked) c.layer.outputs.forEach((s, i) => producerPort.set(s, c.ports.out[i]));
  for (const c of checked) {
    const inputs = c.layer.inputs.map((src, i) => {
      const from = producerPort.get(src);
      const to = c.ports.in[i];
      if (!from || from.fold === to.fold) return src;
      const dst = `${src}__w${to.fold}`;
      let name = `${c.layer.name}_dwc${i > 0 ? i : ''}`;
      while (names.has(name)) name += '_';
      names.add(name);
      streams.set(dst, { ...df.streams.get(src)!, name: dst });
      layers.push({
        name,
        kind: 'WidthConverter',
        attrs: { elems: to.elems, inFold: from.fold, outFold: to.fold, qtype: qtypeName(to.qtype) },
        consts: {},
        inputs: [src],
        outputs: [dst],
        origin: c.layer.origin,
      });
      return dst;
    });
    layers.push(inputs.every((s, i) => s === c.layer.inputs[i]) ? c.layer : { ...c.layer, inputs });
  }
  return { ...df, streams, layers };
}
