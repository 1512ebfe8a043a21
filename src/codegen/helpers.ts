// The one place templates are compiled and their helpers registered. Compiled with strict (a
// missing field is an error, not an empty string) and noEscape (Verilog's <=, & and ' must not be
// HTML-escaped).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type Handlebars from 'handlebars';

export const kilnRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const templatesDir = join(kilnRoot, 'templates');
export const hwDir = join(kilnRoot, 'hw');

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
