// `make lint`'s import layering (.dependency-cruiser.cjs, issue #19): a wrong-way import in a fixture
// tree (layers/ importing codegen/) is reported with the rule's name, and the checkout itself has no
// violation beyond the recorded baseline (.dependency-cruiser-known-violations.json).
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kilnRoot } from '../../src/tools/root.ts';

const depcruise = join(kilnRoot, 'node_modules', '.bin', 'depcruise');
const config = join(kilnRoot, '.dependency-cruiser.cjs');

describe('dependency-cruiser layering', () => {
  it('reports a wrong-way import with the rule name', () => {
    const r = spawnSync(depcruise, ['src', '--config', config, '--output-type', 'err'], { cwd: join(kilnRoot, 'test/fixtures/depcruise'), encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stdout).toContain('error layers-import-ir-diag-util-only: src/layers/bad.ts → src/codegen/emit.ts');
    expect(r.stdout).toContain('nothing-below-flow-imports-codegen-report-synth');
  }, 60_000);

  it('the checkout has no new violation', () => {
    const out = execFileSync(depcruise, ['src', 'bench', '--config', config, '--ignore-known', '--output-type', 'err'], { cwd: kilnRoot, encoding: 'utf8' });
    expect(out).toMatch(/no dependency violations found/);
  }, 60_000);
});
