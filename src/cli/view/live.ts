// Showing a view that changes: on a terminal each frame replaces the previous one in place (cursor up, clear to the
// end of the screen); elsewhere (a pipe, a CI log) every changed frame is printed after the last, as plain lines.
import type { Writer } from '../command.ts';

const ESC = '\u001b[';
export const HIDE_CURSOR = `${ESC}?25l`;
export const SHOW_CURSOR = `${ESC}?25h`;

/** Cuts lines to the terminal width, so none wraps and the line count used to redraw stays right. */
function fit(text: string, columns: number | undefined): string {
  if (columns === undefined || columns <= 1) return text;
  return text
    .split('\n')
    .map((l) => ([...l].length >= columns ? [...l].slice(0, columns - 1).join('') : l))
    .join('\n');
}

/** What to write to go from the frame on screen (`prev`) to `next`; '' when nothing changed. Pure. */
export function frameUpdate(prev: string | undefined, next: string, tty: boolean, columns?: number): string {
  const shown = tty ? fit(next, columns) : next;
  if (prev === shown) return '';
  if (!tty) return prev === undefined ? shown : `\n${shown}`;
  if (prev === undefined) return `${HIDE_CURSOR}${shown}`;
  const lines = prev.split('\n').length - (prev.endsWith('\n') ? 1 : 0);
  return `${ESC}${lines}F${ESC}J${shown}`;
}

export class LiveView {
  private prev: string | undefined;
  private readonly out: Writer;

  constructor(out: Writer) {
    this.out = out;
  }

  get tty(): boolean {
    return this.out.isTTY === true;
  }

  show(frame: string): void {
    const update = frameUpdate(this.prev, frame, this.tty, this.out.columns);
    if (update === '') return;
    this.out.write(update);
    this.prev = this.tty ? fit(frame, this.out.columns) : frame;
  }

  /** Gives the cursor back on a terminal. */
  end(): void {
    if (this.tty && this.prev !== undefined) this.out.write(SHOW_CURSOR);
  }
}
