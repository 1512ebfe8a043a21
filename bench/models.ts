// The .onnx files under a folder of the model collection, for the sweeps over ../shared.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every .onnx file under dir, recursively, sorted; none when dir is absent. */
export function onnxFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...onnxFiles(p));
    else if (e.endsWith('.onnx')) out.push(p);
  }
  return out.sort();
}
