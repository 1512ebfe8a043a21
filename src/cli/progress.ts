// A progress bar on stderr for long steps (Verilator builds, simulations). On a terminal it redraws
// one line; otherwise it prints each phase change once, so logs stay readable.
import { endBeforeError } from './errors.ts';

export interface ProgressEvent {
  message: string;
  done?: number;
  total?: number;
}

export interface ProgressBar {
  update(e: ProgressEvent): void;
  /** Clears the bar line (terminal) so normal output follows cleanly. */
  finish(): void;
}

const WIDTH = 30;

/** Bars drawn and not yet finished: an error clears them first, so it starts its own line. */
const live = new Set<ProgressBar>();

export function finishAllProgress(): void {
  for (const bar of [...live]) bar.finish();
}
endBeforeError.add(finishAllProgress);

export function progressBar(stream: NodeJS.WriteStream = process.stderr, enabled = true): ProgressBar {
  if (!enabled) return { update: () => {}, finish: () => {} };
  const tty = stream.isTTY === true;
  let lastMessage = '';
  let drawn = false;
  let lastDraw = 0;
  const bar: ProgressBar = {
    update(e) {
      if (!tty) {
        if (e.message !== lastMessage) stream.write(`${e.message}\n`);
        lastMessage = e.message;
        return;
      }
      const now = Date.now();
      const final = e.total !== undefined && e.done === e.total;
      if (e.message === lastMessage && !final && now - lastDraw < 100) return; // limit redraws
      lastMessage = e.message;
      lastDraw = now;
      let line = e.message;
      if (e.total !== undefined && e.total > 0 && e.done !== undefined) {
        const filled = Math.round((WIDTH * e.done) / e.total);
        line = `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${e.done}/${e.total} ${e.message}`;
      }
      const cols = stream.columns || 80; // 0 on some pseudo-terminals
      stream.write(`\r\x1b[K${line.slice(0, cols - 1)}`);
      drawn = true;
      live.add(bar);
    },
    finish() {
      if (tty && drawn) stream.write('\r\x1b[K');
      drawn = false;
      live.delete(bar);
    },
  };
  return bar;
}
