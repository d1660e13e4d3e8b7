// Go's time values as templates see them: `now`, `(call .time.Now).Format "2006-01-02"`, `date "15:04" now`.
// Layouts use Go's reference time (Mon Jan 2 15:04:05 MST 2006); times are always rendered in UTC.

/** A point in time, formatted as Go would (UTC). */
export class GoTime {
  readonly ms: number;
  constructor(ms: number) {
    this.ms = ms;
  }

  static parse(v: string): GoTime | undefined {
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? undefined : new GoTime(ms);
  }

  format(layout: string): string {
    return formatGo(new Date(this.ms), layout);
  }

  /** Go's time.Time String(). */
  toString(): string {
    return this.format('2006-01-02 15:04:05.999999999 -0700 MST');
  }
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const pad = (n: number, w = 2, c = '0'): string => String(n).padStart(w, c);

// Tokens in the order Go's layout scanner prefers them (longest first where they share a prefix).
const TOKENS: [string, (d: Date) => string][] = [
  ['January', (d) => MONTHS[d.getUTCMonth()] as string],
  ['Jan', (d) => (MONTHS[d.getUTCMonth()] as string).slice(0, 3)],
  ['Monday', (d) => DAYS[d.getUTCDay()] as string],
  ['Mon', (d) => (DAYS[d.getUTCDay()] as string).slice(0, 3)],
  ['MST', () => 'UTC'],
  ['2006', (d) => pad(d.getUTCFullYear(), 4)],
  ['-07:00:00', () => '+00:00:00'],
  ['-0700', () => '+0000'],
  ['-07:00', () => '+00:00'],
  ['-07', () => '+00'],
  ['Z07:00', () => 'Z'],
  ['Z0700', () => 'Z'],
  ['Z07', () => 'Z'],
  ['01', (d) => pad(d.getUTCMonth() + 1)],
  ['02', (d) => pad(d.getUTCDate())],
  ['_2', (d) => pad(d.getUTCDate(), 2, ' ')],
  ['002', (d) => pad(dayOfYear(d), 3)],
  ['03', (d) => pad(d.getUTCHours() % 12 === 0 ? 12 : d.getUTCHours() % 12)],
  ['04', (d) => pad(d.getUTCMinutes())],
  ['05', (d) => pad(d.getUTCSeconds())],
  ['06', (d) => pad(d.getUTCFullYear() % 100)],
  ['15', (d) => pad(d.getUTCHours())],
  ['PM', (d) => (d.getUTCHours() >= 12 ? 'PM' : 'AM')],
  ['pm', (d) => (d.getUTCHours() >= 12 ? 'pm' : 'am')],
  ['1', (d) => String(d.getUTCMonth() + 1)],
  ['2', (d) => String(d.getUTCDate())],
  ['3', (d) => String(d.getUTCHours() % 12 === 0 ? 12 : d.getUTCHours() % 12)],
  ['4', (d) => String(d.getUTCMinutes())],
  ['5', (d) => String(d.getUTCSeconds())],
];

function dayOfYear(d: Date): number {
  return Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1;
}

/** Fractional seconds: `.000` keeps zeros, `.999` trims them (Go's rules); JavaScript has milliseconds only. */
function fraction(d: Date, token: string): string {
  const digits = token.length - 1;
  const ns = String(d.getUTCMilliseconds()).padStart(3, '0').padEnd(9, '0').slice(0, digits);
  if (token[1] === '0') return `.${ns}`;
  const trimmed = ns.replace(/0+$/, '');
  return trimmed === '' ? '' : `.${trimmed}`;
}

export function formatGo(d: Date, layout: string): string {
  let out = '';
  let i = 0;
  outer: while (i < layout.length) {
    const frac = /^[.,](0+|9+)(?!\d)/.exec(layout.slice(i));
    if (frac !== null && /\d$/.test(layout.slice(0, i))) {
      out += fraction(d, frac[0]);
      i += frac[0].length;
      continue;
    }
    for (const [tok, fn] of TOKENS) {
      if (layout.startsWith(tok, i)) {
        out += fn(d);
        i += tok.length;
        continue outer;
      }
    }
    out += layout[i];
    i++;
  }
  return out;
}
