// The dataflow IR text (src/ir/print-dataflow.ts): print → parse → print is the identity, on lowered
// and folded zoo designs (MLP, CNN with a window FIFO, sparse MVUs); malformed text is one KLN1013
// naming the line; `kiln compile --dump-after` prints it after the dataflow passes.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lower } from '../../src/api/model.ts';
import { readDataflowJson, dataflowToJson } from '../../src/dataflow/json.ts';
import { DATAFLOW_PASSES, foldedDataflow } from '../../src/dataflow/pipeline.ts';
import { parseDataflow, printDataflow } from '../../src/ir/print-dataflow.ts';
import { kiln, ROOT, tempDir } from './cli-helpers.ts';

const zoo = (m: string) => join(ROOT, 'test/fixtures/zoo', m, 'model.onnx');

describe('dataflow IR text', () => {
  it.each([
    ['tfc_w1a1', false],
    ['cnv_small_w2a2', false],
    ['mlp_pruned90_int8_qdq', true],
  ])('%s (sparse %s): print → parse → print is the identity, lowered and folded', (model, sparse) => {
    const lowered = lower(zoo(model));
    for (const df of [lowered, foldedDataflow(lowered, { sparse, verify: true }).df]) {
      const text = printDataflow(df);
      const back = parseDataflow(text);
      expect(printDataflow(back)).toBe(text);
      expect(dataflowToJson(back)).toEqual(dataflowToJson(df));
    }
  });

  it('names the line of malformed text', () => {
    const text = printDataflow(lower(zoo('tfc_w1a1'))).split('\n');
    const i = text.findIndex((l) => l.startsWith('%'));
    text[i] = text[i].replace(' {', ' [');
    expect(() => parseDataflow(text.join('\n'))).toThrow(new RegExp(`^KLN1013 dataflow IR line ${i + 1}: expected ' \\{'`));
    expect(() => parseDataflow('kiln-ir 1\n')).toThrow(/KLN1013 dataflow IR text must start with 'kiln-dataflow 1'/);
  });
});

describe('kiln compile --dump-after <dataflow pass>', () => {
  it('prints the dataflow IR after the pass; after the last one it is the written dataflow.json', () => {
    const out = join(tempDir(), 'd');
    try {
      const r = kiln(['compile', zoo('cnv_small_w2a2'), '-o', out, '--dump-after', 'fifos', DATAFLOW_PASSES[DATAFLOW_PASSES.length - 1]]);
      expect(r.code, r.stderr).toBe(0);
      const dumps = r.stderr.split(/^# after (\S+)\n/m).slice(1);
      expect(dumps.filter((_, i) => i % 2 === 0)).toEqual(['fifos', 'width-converters']);
      const [afterFifos, last] = [dumps[1], dumps[3]];
      // (booleans: a failing match would print the whole IR)
      expect(afterFifos.startsWith('kiln-dataflow 1\n')).toBe(true);
      const kinds = (text: string) => parseDataflow(text).layers.map((l) => l.kind);
      expect(kinds(afterFifos).includes('WidthConverter')).toBe(false);
      expect(kinds(last).filter((k) => k !== 'WidthConverter')).toEqual(kinds(afterFifos));
      expect(last === printDataflow(readDataflowJson(join(out, 'dataflow.json')))).toBe(true);
      expect(JSON.parse(readFileSync(join(out, 'dataflow.json'), 'utf8')).layers.length).toBe(parseDataflow(last).layers.length);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('refuses an unknown pass with one line naming the known ones', () => {
    const r = kiln(['compile', zoo('tfc_w1a1'), '-o', join(tempDir(), 'x'), '--dump-after', 'flod']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe(`KLN1014 unknown dataflow pass 'flod' (known: ${DATAFLOW_PASSES.join(', ')}, or all)`);
  });
});
