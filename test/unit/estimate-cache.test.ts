// `kiln estimate` caches the lowered model (src/cli/estimate.ts loweredModel): the cached run must
// print exactly what the first run printed, and the cache entry must be keyed by kiln's sources.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loweredModel } from '../../src/cli/estimate.ts';
import { dataflowToJson } from '../../src/dataflow/json.ts';
import { importModel } from '../../src/onnx/import.ts';
import { lowerModel } from '../../src/passes/to-dataflow.ts';
import { ROOT } from './cli-helpers.ts';

const model = join(ROOT, 'test/fixtures/zoo/cnv_small_w2a2/model.onnx');
const cache = mkdtempSync(join(tmpdir(), 'kiln-estimate-cache-'));
afterAll(() => rmSync(cache, { recursive: true, force: true }));

async function withEnv<T>(env: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const old = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(old)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('kiln estimate: lowered-model cache', () => {
  const fresh = JSON.stringify(dataflowToJson(lowerModel(importModel(model, { pipeline: 'tidy-exact' }), { source: model })));

  it('stores the lowered model and reads back the same graph', async () => {
    const first = await withEnv({ KILN_CACHE: cache, KILN_SOURCE_HASH: 'kiln-a' }, () => loweredModel(model));
    expect(readdirSync(join(cache, 'lowered'))).toHaveLength(1);
    const second = await withEnv({ KILN_CACHE: cache, KILN_SOURCE_HASH: 'kiln-a' }, () => loweredModel(model));
    expect(JSON.stringify(dataflowToJson(first))).toBe(fresh);
    expect(JSON.stringify(dataflowToJson(second))).toBe(fresh);
  });

  it('is read only for the same kiln sources, and not used without them', async () => {
    // A planted entry under kiln-a's key would be returned for kiln-a only.
    const [entry] = readdirSync(join(cache, 'lowered'));
    writeFileSync(join(cache, 'lowered', entry), JSON.stringify({ ...JSON.parse(fresh), name: 'planted' }));
    expect((await withEnv({ KILN_CACHE: cache, KILN_SOURCE_HASH: 'kiln-a' }, () => loweredModel(model))).name).toBe('planted');
    expect((await withEnv({ KILN_CACHE: cache, KILN_SOURCE_HASH: 'kiln-b' }, () => loweredModel(model))).name).not.toBe('planted');
    expect((await withEnv({ KILN_CACHE: cache, KILN_SOURCE_HASH: undefined }, () => loweredModel(model))).name).not.toBe('planted');
    expect(readdirSync(join(cache, 'lowered'))).toHaveLength(2); // kiln-b's entry; none without a hash
  });
});
