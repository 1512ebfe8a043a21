// Reading the JSON files kiln and its users write (manifest.json, dataflow.json, report.json, folding
// files): one reader, so a missing, unreadable or corrupt (e.g. truncated) file is always one coded
// line that says which it is, never a SyntaxError.
import { readFileSync, statSync } from 'node:fs';
import { fail, KilnError } from '../diag/index.ts';

/**
 * The parsed content of the JSON file at `path`; `what` names it in messages ("folding file") and
 * `fix` says what to do about a corrupt one ("recompile with kiln compile").
 */
export function readJsonFile(path: string, what: string, fix?: string): unknown {
  let text: string;
  try {
    if (statSync(path).isDirectory()) fail('BadInputFile', `${what} '${path}' is a directory, not a JSON file`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') fail('FileNotFound', `${what} '${path}' does not exist`);
    if (e instanceof KilnError) throw e;
    fail('BadInputFile', `${what} '${path}' cannot be read (${code})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message.replace(/, ".*$/s, ''); // without the quoted content
    // Cut short: the parser ran out of text (at the end, or a position at the end of it).
    const at = /at position (\d+)/.exec(message);
    const cut = /end of (JSON )?input/i.test(message) || (at !== null && Number(at[1]) >= text.trimEnd().length);
    const why = text.trim() === '' ? 'empty' : cut ? 'truncated' : 'not valid JSON';
    fail('BadInputFile', `${what} '${path}' is corrupt (${why}: ${message})${fix ? `; ${fix}` : ''}`);
  }
}
