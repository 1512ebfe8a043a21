// The whole estimate of a folded design: performance (perf.ts) and resources per layer and in total
// for both families. Codegen puts it into report.json / report.html; `kiln estimate` prints it.
import type { CheckedLayer } from '../exec/dataflow.ts';
import type { DataflowGraph } from '../ir/dataflow.ts';
import type { Resources } from './units.ts';
import { networkPerformance, type Performance } from './perf.ts';
import { costTerms, layerResources, totalResources } from './resources.ts';

export interface LayerEstimate {
  name: string;
  kind: string;
  pe?: number;
  simd?: number;
  cycles: number;
  /** The form chosen for each form attribute of the layer's kind (LayerSpec.forms, e.g. Threshold impl) and why. */
  forms?: Record<string, { value: string; why: string }>;
  xc7: Resources;
  ice40: Resources;
}

export interface NetworkEstimate extends Performance {
  layers: LayerEstimate[];
  total: { xc7: Resources; ice40: Resources };
}

export function estimateNetwork(df: DataflowGraph, checked: CheckedLayer[]): NetworkEstimate {
  const perf = networkPerformance(df, checked);
  const layers: LayerEstimate[] = checked.map(({ layer, kind, attrs }) => {
    const a = attrs as Record<string, unknown>;
    const terms = costTerms(layer); // both families' resources come from the same terms
    return {
      name: layer.name,
      kind: layer.kind,
      ...(typeof a.pe === 'number' ? { pe: a.pe } : {}),
      ...(typeof a.simd === 'number' ? { simd: a.simd } : {}),
      cycles: kind.spec.cycles(attrs),
      ...(kind.spec.forms ? { forms: formsOf(layer, a, Object.keys(kind.spec.forms)) } : {}),
      xc7: layerResources(layer, 'xc7', terms),
      ice40: layerResources(layer, 'ice40', terms),
    };
  });
  return { ...perf, layers, total: { xc7: totalResources(layers.map((l) => l.xc7)), ice40: totalResources(layers.map((l) => l.ice40)) } };
}

function formsOf(layer: CheckedLayer['layer'], a: Record<string, unknown>, attrs: string[]): Record<string, { value: string; why: string }> {
  return Object.fromEntries(attrs.map((k) => [k, { value: String(a[k]), why: layer.why?.[k] ?? 'the default form' }]));
}
