// The one place templates are compiled and their helpers registered. Compiled with strict (a
// missing field is an error, not an empty string) and noEscape (Verilog's <=, & and ' must not be
// HTML-escaped). Also the hw/ sources as a design copies them (hwSource).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type Handlebars from 'handlebars';

import { hwDir, kilnRoot, templatesDir } from '../tools/root.ts';

export { hwDir, kilnRoot, templatesDir };

/**
 * A hw/ file as it is copied into a design's rtl/: each `` `include "x.vh" `` line (a header of
 * hw/common, e.g. code_values.vh, included inside a module body) replaced by the header's code, so the
 * compiled design has no include and needs no search path in any tool (Verilator 5.006 and Icarus do
 * not look beside the including file). hw/ tools find the headers with -y / -I hw/common.
 */
export function hwSource(file: string): string {
  return readFileSync(join(hwDir, file), 'utf8').replace(/^([ \t]*)`include\s+"([^"]+)"[ \t]*$/gm, (_line, indent: string, name: string) => {
    const header = join(hwDir, 'common', name);
    if (!existsSync(header)) throw new Error(`hw/${file} includes '${name}', which is not in hw/common`);
    // without the header's file comment (its column-0 lines on top: what it is, how to include it)
    const body = readFileSync(header, 'utf8').replace(/^(?:\/\/.*\n)*\n*/, '').replace(/\n+$/, '');
    return `${indent}// ---- hw/common/${name} (pasted in by kiln codegen) ----\n${body}\n${indent}// ---- end of ${name} ----`;
  });
}

// Handlebars is loaded on the first template (kiln estimate imports codegen for its folding, never renders).
let hbs: typeof Handlebars | undefined;
function handlebars(): typeof Handlebars {
  if (!hbs) {
    hbs = (createRequire(import.meta.url)('handlebars') as typeof Handlebars).create();
    // `[{{msb w}}:0]`: most significant bit index of a w-bit vector.
    hbs.registerHelper('msb', (w: number) => w - 1);
  }
  return hbs;
}

const cache = new Map<string, Handlebars.TemplateDelegate>();

/** templates/<name>.hbs, compiled once. */
export function template(name: string): Handlebars.TemplateDelegate {
  let t = cache.get(name);
  if (!t) {
    t = handlebars().compile(readFileSync(join(templatesDir, `${name}.hbs`), 'utf8'), { strict: true, noEscape: true });
    cache.set(name, t);
  }
  return t;
}
