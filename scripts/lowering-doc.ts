// Writes the rules section of docs/lowering.md from the rule list (src/lower/rules/index.ts):
//   npx tsx scripts/lowering-doc.ts
// test/passes/lowering-rules.test.ts checks that the committed doc equals what this renders.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RULES } from '../src/lower/rules/index.ts';
import { replaceBetweenMarkers, ROOT } from './mnist.ts';

export const DOC_PATH = join(ROOT, 'docs/lowering.md');

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** The rules as a markdown table, in the order the driver consults them. */
export function renderRules(): string {
  const rows = RULES.map((r) => {
    const ops = [...r.ops].join(', ') || '—';
    const tests = r.tests.map((t) => `\`${t}\``).join(', ');
    return `| \`${r.name}\` | ${cell(r.doc)} | ${cell(r.matches)} | ${cell(r.emits)} | ${cell(ops)} | ${tests} |`;
  });
  return ['| rule | what | ONNX patterns | produces | claims ops | tests |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

export function renderDoc(doc: string): string {
  return replaceBetweenMarkers(doc, 'rules', renderRules());
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(DOC_PATH, renderDoc(readFileSync(DOC_PATH, 'utf8')));
}
