// The kiln checkout's root directory (package.json, hw/, templates/, sim/, docs/), defined once.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const kilnRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
