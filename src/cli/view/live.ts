// Showing a view that changes: on a terminal each frame replaces the previous one in place (cursor up, clear to the
// end of the screen); elsewhere (a pipe, a CI log) every changed frame is printed after the last, as plain lines.
import type { Writer } from '../command.ts';

const ESC = '\u001b[';
export const HIDE_CURSOR = `${ESC}?25l`;
export const SHOW_CURSOR = `${ESC}?25h`;

/** A line cut to `columns - 1` characters (with an ellipsis where the screen has room for one), so it never wraps. */
function cutLine(line: string, columns: number): string {
  const chars = [...line];
  if (chars.length < columns) return line;
  return columns > 10 ? `${chars.slice(0, columns - 2).join('')}…` : chars.slice(0, columns - 1).join('');
}

/**
 * Pure: `text` cut to fit the screen, so a redraw in place stays right: no line wraps (a wrapped line throws off the
 * line count the redraw moves up by), and at most `rows - 1` lines (the cursor cannot move above the screen), the
 * last saying how many were cut.
 */
export function fitToScreen(text: string, rows: number | undefined, columns: number | undefined): string {
  const trailing = text.endsWith('\n');
  let lines = (trailing ? text.slice(0, -1) : text).split('\n');
  if (columns !== undefined && columns > 1) lines = lines.map((l) => cutLine(l, columns));
  if (rows !== undefined && rows >= 4 && lines.length > rows - 1) {
    const cut = lines.length - (rows - 2);
    lines = [...lines.slice(0, rows - 2), `… ${cut} more lines (a taller terminal shows them)`];
  }
  return lines.join('\n') + (trailing ? '\n' : '');
}

/** What to write to go from the frame on screen (`prev`) to `next`; '' when nothing changed. Pure. */
export function frameUpdate(prev: string | undefined, next: string, tty: boolean, columns?: number, rows?: number): string {
  const shown = tty ? fitToScreen(next, rows, columns) : next;
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
    const update = frameUpdate(this.prev, frame, this.tty, this.out.columns, this.out.rows);
    if (update === '') return;
    this.out.write(update);
    this.prev = this.tty ? fitToScreen(frame, this.out.rows, this.out.columns) : frame;
  }

  /** Gives the cursor back on a terminal. */
  end(): void {
    if (this.tty && this.prev !== undefined) this.out.write(SHOW_CURSOR);
  }
}
