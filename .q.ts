import { importModel } from './src/onnx/import.ts';
import { parseQType } from './src/ir/datatype.ts';
import { lowerModel } from './src/passes/to-dataflow.ts';
import { requantForm } from './src/layers/common/threshold-requant.ts';
for (const name of process.argv.slice(2)) {
  const m = `test/fixtures/zoo/${name}/model.onnx`;
  const df = lowerModel(importModel(m, { pipeline: 'tidy-exact' }), { source: m });
  for (const l of df.layers.filter((x) => x.kind === 'Threshold')) {
    const a = l.attrs as any; const t0 = performance.now();
    const f = requantForm(parseQType(a.inType), a.channels, a.steps, l.consts.thresholds);
    const ms = performance.now() - t0;
    if (typeof f === 'string') { console.log(name, l.name, a.channels, a.steps, 'NO:', f); continue; }
    const per = f.exceptions.map((e) => e.length).sort((x, y) => x - y);
    console.log(name, l.name, 'ch', a.channels, 'steps', a.steps, 'shift', f.shift, 'exceptions total', per.reduce((s, e) => s + e, 0), 'median', per[per.length >> 1], 'max', f.maxExceptions, `${ms.toFixed(0)} ms`);
  }
}
