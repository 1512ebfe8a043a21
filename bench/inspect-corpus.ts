// Runs `kiln inspect` (in process) over every model of the shared corpus and zoo and sorts them
// into: supported, unsupported (exit 2 with KLN1003 diagnostics), refused (other KilnError), crash.
// Usage: npx tsx bench/inspect-corpus.ts [root=../shared] [--json out.json]
import { existsSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { KilnError } from '../src/diag/index.ts';
import { inspectModel } from '../src/cli/inspect.ts';
import { onnxFiles } from './models.ts';

const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
const jsonOut = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
const root = args.find((a, i) => !a.startsWith('--') && i !== jsonAt + 1) ?? (existsSync('../shared') ? '../shared' : '/work/shared');
if (!existsSync(root)) {
  console.log(`skip: no model collection at '${root}'`);
  process.exit(0);
}

const files = [...onnxFiles(join(root, 'corpus')), ...onnxFiles(join(root, 'zoo'))];
const rows: { model: string; status: string; ms: number; detail: string }[] = [];
const unsupportedOps = new Map<string, number>();
for (const f of files) {
  const t0 = performance.now();
  let status: string;
  let detail = '';
  try {
    const r = inspectModel(f);
    status = r.supported ? 'ok' : 'unsupported';
    if (!r.supported) {
      const ops = [...new Set(r.diagnostics.filter((d) => d.code === 'KLN1003').map((d) => /'([^']+)'/.exec(d.message)?.[1] ?? d.message))];
      for (const op of ops) unsupportedOps.set(op, (unsupportedOps.get(op) ?? 0) + 1);
      const other = r.diagnostics.filter((d) => d.code !== 'KLN1003');
      detail = [...ops, ...(other.length ? [`${other.length} structural problem(s), first: ${other[0].message}`] : [])].join(', ');
    }
  } catch (e) {
    if (e instanceof KilnError) {
      status = 'refused';
      detail = e.message.split('\n')[0];
    } else {
      status = 'CRASH';
      detail = (e as Error).stack?.split('\n').slice(0, 3).join(' | ') ?? String(e);
    }
  }
  const ms = performance.now() - t0;
  rows.push({ model: relative(root, f), status, ms, detail });
  console.log(`${status.padEnd(11)} ${ms.toFixed(0).padStart(6)} ms  ${relative(root, f)}${detail ? `  — ${detail}` : ''}`);
}
const count = (s: string) => rows.filter((r) => r.status === s).length;
console.log(`\n${files.length} models: ${count('ok')} ok, ${count('unsupported')} unsupported, ${count('refused')} refused, ${count('CRASH')} crashed`);
console.log('unsupported ops (models using them):');
for (const [op, n] of [...unsupportedOps].sort((a, b) => b[1] - a[1])) console.log(`  ${op}: ${n}`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ rows, unsupportedOps: Object.fromEntries(unsupportedOps) }, null, 2));
process.exit(count('CRASH') ? 1 : 0);
