// The lowering rules are data (src/lower/rules/index.ts): docs/lowering.md lists every rule as the
// list says, every test a rule names exists, and every op the driver accepts is claimed by a rule.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RULES, ruleFor } from '../../src/lower/rules/index.ts';
import { LAYOUT, MACS, MONOTONE, QUANTIZERS, TAIL, CODE_OPS } from '../../src/lower/ops.ts';
import { DOC_PATH, renderDoc } from '../../scripts/lowering-doc.ts';
import { ROOT } from '../../scripts/mnist.ts';

describe('lowering rules as data', () => {
  it('docs/lowering.md is the rendering of the rule list (run `npx tsx scripts/lowering-doc.ts`)', () => {
    const doc = readFileSync(DOC_PATH, 'utf8');
    expect(doc).toBe(renderDoc(doc));
    for (const r of RULES) expect(doc).toContain(`| \`${r.name}\` |`);
  });

  it('rule names are unique kebab-case ids and every named test file exists', () => {
    expect(new Set(RULES.map((r) => r.name)).size).toBe(RULES.length);
    for (const r of RULES) {
      expect(r.name).toMatch(/^[a-z]+(-[a-z]+)*$/);
      expect(r.doc.length).toBeGreaterThan(20);
      for (const t of r.tests) expect(existsSync(join(ROOT, t)), `${r.name}: ${t}`).toBe(true);
    }
  });

  it('every op family the driver walks is claimed by a rule', () => {
    for (const op of [...LAYOUT, ...MACS, ...MONOTONE, ...QUANTIZERS, ...TAIL, ...CODE_OPS, 'Concat']) expect(ruleFor(op), op).toBeDefined();
    expect(ruleFor('Gather')).toBeUndefined();
  });
});

describe('every rule a refusal names is in the list', () => {
  it('each `rule: ...` literal in src/lower and the streamline driver is a rule of RULES', () => {
    const names = new Set(RULES.map((r) => r.name));
    const files = ['src/lower', 'src/lower/rules', 'src/passes'].flatMap((d) =>
      readdirSync(join(ROOT, d)).filter((f) => f.endsWith('.ts')).map((f) => join(ROOT, d, f)));
    let seen = 0;
    for (const f of files) {
      for (const m of readFileSync(f, 'utf8').matchAll(/(?:rule: |inRule\()'([a-z-]+)'/g)) {
        expect(names.has(m[1]), `${f}: ${m[1]}`).toBe(true);
        seen++;
      }
    }
    expect(seen).toBeGreaterThan(40);
  });
});
