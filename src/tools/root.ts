// The kiln checkout's root directory (package.json, hw/, templates/, sim/, docs/) and the source
// directories found from it, defined once.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const kilnRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The hand-written RTL (hw/<family>/*.v, hw/common headers). */
export const hwDir = join(kilnRoot, 'hw');
/** The Handlebars templates of generated files (templates/*.hbs). */
export const templatesDir = join(kilnRoot, 'templates');
