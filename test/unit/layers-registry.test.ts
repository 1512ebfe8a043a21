// Adding a layer kind touches src/layers/<kind>.ts, its cost form (src/layers/cost/), hw/<kind>/,
// layers/index.ts and test/sim/<kind>.test.ts: this test fails when any of them is missing.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hwDir, kilnRoot } from '../../src/codegen/helpers.ts';
import { layerKinds } from '../../src/layers/index.ts';

const layerFiles = readdirSync(join(kilnRoot, 'src/layers')).filter((f) => f.endsWith('.ts') && f !== 'define.ts' && f !== 'index.ts');

describe('layer registry', () => {
  it.each(layerFiles)('%s is registered, has RTL, a cost form and a sim test', async (file) => {
    const mod = (await import(join(kilnRoot, 'src/layers', file))) as { default?: unknown };
    expect(mod.default, `${file} must default-export defineLayer(...)`).toBeDefined();
    expect(layerKinds, `${file} is not listed in src/layers/index.ts`).toContain(mod.default);
    const kind = layerKinds.find((k) => k === mod.default)!;
    for (const f of kind.spec.rtl.files) expect(existsSync(join(hwDir, f)), `hw/${f} (RTL of ${kind.kind}) is missing`).toBe(true);
    // src/estimate/ has no per-kind fallback: a kind without a cost form would have no estimate.
    expect(typeof kind.spec.cost, `${kind.kind} has no cost form (LayerSpec.cost, src/layers/cost/)`).toBe('function');
    const simTest = join(kilnRoot, 'test/sim', file.replace(/\.ts$/, '.test.ts'));
    expect(existsSync(simTest), `${kind.kind} has no sim test ${simTest}`).toBe(true);
  });

  it('kinds are unique', () => {
    expect(new Set(layerKinds.map((k) => k.kind)).size).toBe(layerKinds.length);
  });
});
