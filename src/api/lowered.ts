// The lowered-model cache of `kiln estimate` (and the API's estimate): <cache>/lowered/. Light to load:
// the ONNX importer and lowering are imported only on a miss.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataflowFromJson, dataflowToJson, type DataflowJson } from '../dataflow/json.ts';
import type { DataflowGraph } from '../ir/dataflow.ts';
import { cacheDirOf, prune, touch } from '../util/lru.ts';

/**
 * The model lowered to the dataflow IR. Lowering (streamlining's threshold search above all) is most
 * of an estimate's time, and a user tries several foldings of one model, so the result is cached in
 * <cache>/lowered/ (size-bounded, least recently used out: src/util/lru.ts) by the hash of the model's bytes and of kiln's sources (KILN_SOURCE_HASH, which
 * bin/kiln.js sets when it runs the bundled CLI; without it — tsx, tests — nothing is cached).
 */
export async function loweredModel(path: string): Promise<DataflowGraph> {
  const lower = async () => {
    const [{ importModel }, { lowerModel }] = await Promise.all([import('../onnx/import.ts'), import('../passes/to-dataflow.ts')]);
    return lowerModel(importModel(path, { pipeline: 'tidy-exact' }), { source: path });
  };
  const kiln = process.env.KILN_SOURCE_HASH;
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return lower(); // importModel reports the problem
  }
  if (!kiln) return lower();
  const key = createHash('sha256').update(`${kiln}\0${path}\0`).update(bytes).digest('hex').slice(0, 32);
  const dir = cacheDirOf('lowered');
  const file = join(dir, `${key}.json`);
  try {
    const df = dataflowFromJson(JSON.parse(readFileSync(file, 'utf8')) as DataflowJson);
    touch(file);
    return df;
  } catch {
    // not cached yet (or unreadable): lower and store
  }
  const df = await lower();
  let exact = true; // JSON has no Infinity / NaN: such a graph is not cached
  const text = JSON.stringify(dataflowToJson(df), (_, v) => {
    if (typeof v === 'number' && !Number.isFinite(v)) exact = false;
    return v;
  });
  if (exact) {
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${file}.${process.pid}.tmp`, text);
      renameSync(`${file}.${process.pid}.tmp`, file);
      prune('lowered', `${key}.json`);
    } catch {
      // a read-only cache only costs speed
    }
  }
  return df;
}
