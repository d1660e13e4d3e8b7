// A parser for the subset of Go's text/template that notification templates use. It produces a small AST that
// exec.ts interprets. Anything outside the subset (define/template/block, unknown functions, comments that never
// close) is refused here, at config load, with the template's name and line:column: never at send time.
import { FUNCTION_NAMES } from './funcs.ts';

export const TEMPLATE_LIMITS = {
  /** Characters in one template body. */
  maxLength: 64 * 1024,
  /** AST nodes in one template. */
  maxNodes: 5000,
  /** Nesting of control structures and parentheses. */
  maxDepth: 48,
} as const;

export class TemplateError extends Error {
  readonly template: string;
  readonly line: number;
  readonly column: number;
  constructor(template: string, line: number, column: number, detail: string) {
    super(`template ${template}:${line}:${column}: ${detail}`);
    this.name = 'TemplateError';
    this.template = template;
    this.line = line;
    this.column = column;
  }
}

export interface Pos {
  readonly offset: number;
}

/** An operand of a command: a literal, a field chain, a variable, a function name or a parenthesized pipeline. */
export type Arg =
  | { kind: 'lit'; value: string | number | boolean | null; pos: number }
  | { kind: 'field'; base: 'dot' | { variable: string } | { pipe: Pipeline }; path: string[]; pos: number }
  | { kind: 'func'; name: string; pos: number };

export interface Command {
  args: Arg[];
  pos: number;
}

export interface Pipeline {
  decl: string[];
  /** `=` assigns an existing variable; `:=` declares. */
  assign: boolean;
  cmds: Command[];
  pos: number;
}

export type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Pipeline }
  | { kind: 'if' | 'with'; pipe: Pipeline; then: Node[]; else: Node[] }
  | { kind: 'range'; pipe: Pipeline; body: Node[]; else: Node[] }
  | { kind: 'break' | 'continue'; pos: number };

interface Token {
  kind: 'text' | 'action';
  text: string;
  /** Offset of the text (or of the action's body) in the source. */
  pos: number;
}

/** The line and column (1-based) of an offset. */
export function lineCol(source: string, offset: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < offset && i < source.length; i++) {
    if (source.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  }
  return { line, column: offset - last };
}

export class Parser {
  private readonly name: string;
  private readonly src: string;
  private nodes = 0;

  constructor(name: string, src: string) {
    this.name = name;
    this.src = src;
  }

  fail(offset: number, detail: string): never {
    const { line, column } = lineCol(this.src, offset);
    throw new TemplateError(this.name, line, column, detail);
  }

  count(offset: number): void {
    if (++this.nodes > TEMPLATE_LIMITS.maxNodes) this.fail(offset, `more than ${TEMPLATE_LIMITS.maxNodes} template nodes`);
  }

  parse(): Node[] {
    if (this.src.length > TEMPLATE_LIMITS.maxLength) this.fail(0, `longer than ${TEMPLATE_LIMITS.maxLength} characters (${this.src.length})`);
    const tokens = this.lex();
    let i = 0;
    const list = (depth: number, ends: string[]): { nodes: Node[]; end: string; endPos: number; rest: string } => {
      if (depth > TEMPLATE_LIMITS.maxDepth) this.fail(tokens[i]?.pos ?? 0, `nested deeper than ${TEMPLATE_LIMITS.maxDepth}`);
      const nodes: Node[] = [];
      while (i < tokens.length) {
        const t = tokens[i++] as Token;
        this.count(t.pos);
        if (t.kind === 'text') {
          nodes.push({ kind: 'text', text: t.text });
          continue;
        }
        const body = t.text.trim();
        const lead = t.pos + (t.text.length - t.text.trimStart().length);
        const word = /^[a-z]+\b/.exec(body)?.[0] ?? '';
        const rest = body.slice(word.length);
        if (word === 'end' || word === 'else') {
          if (!ends.includes(word)) this.fail(lead, `unexpected {{${word}}}`);
          return { nodes, end: word, endPos: lead, rest };
        }
        if (word === 'if' || word === 'with' || word === 'range') nodes.push(this.control(word, rest, lead + word.length, depth, list));
        else if (word === 'break' || word === 'continue') nodes.push({ kind: word, pos: lead });
        else if (word === 'define' || word === 'template' || word === 'block') this.fail(lead, `{{${word}}} is not supported (one template per key)`);
        else nodes.push({ kind: 'action', pipe: new ActionParser(this, body, lead, depth).pipeline(true) });
      }
      if (ends.length > 0) this.fail(this.src.length, `unexpected end of template: missing {{end}}`);
      return { nodes, end: '', endPos: this.src.length, rest: '' };
    };
    return list(0, []).nodes;
  }

  private control(
    word: 'if' | 'with' | 'range',
    rest: string,
    at: number,
    depth: number,
    list: (d: number, ends: string[]) => { nodes: Node[]; end: string; endPos: number; rest: string },
  ): Node {
    if (rest.trim() === '') this.fail(at, `{{${word}}} needs a pipeline`);
    const pipe = new ActionParser(this, rest, at, depth).pipeline(true, word === 'range');
    const body = list(depth + 1, ['end', 'else']);
    let elseNodes: Node[] = [];
    if (body.end === 'else') {
      const chained = body.rest.trim();
      if (chained.startsWith('if ') || chained.startsWith('with ')) {
        // `{{else if x}}` is `{{else}}{{if x}}...{{end}}` sharing the outer {{end}}.
        const w = chained.startsWith('if ') ? 'if' : 'with';
        const at2 = body.endPos + 4 + (body.rest.length - body.rest.trimStart().length) + w.length;
        elseNodes = [this.control(w, chained.slice(w.length), at2, depth + 1, list)];
        return word === 'range' ? { kind: 'range', pipe, body: body.nodes, else: elseNodes } : { kind: word, pipe, then: body.nodes, else: elseNodes };
      }
      if (chained !== '') this.fail(body.endPos, `unexpected "${chained}" after else`);
      const tail = list(depth + 1, ['end']);
      elseNodes = tail.nodes;
    }
    return word === 'range' ? { kind: 'range', pipe, body: body.nodes, else: elseNodes } : { kind: word, pipe, then: body.nodes, else: elseNodes };
  }

  /** Splits the source into text and action tokens, honouring `{{-`/`-}}` trimming and `{{/* comments *\/}}`. */
  private lex(): Token[] {
    const s = this.src;
    const out: Token[] = [];
    let i = 0;
    let trimNext = false;
    while (i < s.length) {
      const open = s.indexOf('{{', i);
      let text = s.slice(i, open < 0 ? s.length : open);
      const textPos = i;
      if (trimNext) text = text.trimStart();
      trimNext = false;
      if (open < 0) {
        if (text !== '') out.push({ kind: 'text', text, pos: textPos });
        break;
      }
      const trimLeft = s.startsWith('{{- ', open) || s.startsWith('{{-\n', open) || s.startsWith('{{-\t', open);
      if (trimLeft) text = text.trimEnd();
      if (text !== '') out.push({ kind: 'text', text, pos: textPos });
      const bodyStart = open + (trimLeft ? 3 : 2);
      const close = this.findClose(bodyStart);
      let bodyEnd = close;
      if (s[close - 1] === '-' && /\s/.test(s[close - 2] ?? '')) {
        trimNext = true;
        bodyEnd = close - 1;
      }
      const body = s.slice(bodyStart, bodyEnd);
      const trimmed = body.trim();
      if (trimmed.startsWith('/*')) {
        if (!trimmed.endsWith('*/')) this.fail(bodyStart, 'unclosed comment');
      } else {
        if (trimmed === '') this.fail(bodyStart, 'missing value for command');
        out.push({ kind: 'action', text: body, pos: bodyStart });
      }
      i = close + 2;
    }
    return out;
  }

  /** The offset of the `}}` closing an action that starts at `from`, skipping quoted strings. */
  private findClose(from: number): number {
    const s = this.src;
    let i = from;
    while (i < s.length) {
      const c = s[i];
      if (c === '"' || c === '`' || c === "'") {
        const end = c === '`' ? s.indexOf('`', i + 1) : this.endOfQuoted(i, c);
        if (end < 0) this.fail(i, 'unterminated quoted string');
        i = end + 1;
        continue;
      }
      if (s.startsWith('/*', i)) {
        const end = s.indexOf('*/', i + 2);
        if (end < 0) this.fail(i, 'unclosed comment');
        i = end + 2;
        continue;
      }
      if (s.startsWith('}}', i)) return i;
      i++;
    }
    return this.fail(from, 'unclosed action: no "}}"');
  }

  private endOfQuoted(start: number, q: string): number {
    const s = this.src;
    for (let i = start + 1; i < s.length; i++) {
      if (s[i] === '\\') i++;
      else if (s[i] === q) return i;
      else if (s[i] === '\n') return -1;
    }
    return -1;
  }
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*/;

/** Parses the inside of one action: `$x := cmd arg | cmd arg`. */
class ActionParser {
  private readonly p: Parser;
  private readonly s: string;
  private readonly base: number;
  private readonly depth: number;
  private i = 0;

  constructor(p: Parser, s: string, base: number, depth: number) {
    this.p = p;
    this.s = s;
    this.base = base;
    this.depth = depth;
  }

  private fail(detail: string, at = this.i): never {
    return this.p.fail(this.base + at, detail);
  }

  private ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i] as string)) this.i++;
  }

  pipeline(top: boolean, rangeDecl = false): Pipeline {
    if (this.depth > TEMPLATE_LIMITS.maxDepth) this.fail(`nested deeper than ${TEMPLATE_LIMITS.maxDepth}`);
    this.ws();
    const pos = this.base + this.i;
    const decl: string[] = [];
    let assign = false;
    const m = /^(\$[A-Za-z0-9_]*)\s*(?:,\s*(\$[A-Za-z0-9_]*)\s*)?(:=|=)(?!=)/.exec(this.s.slice(this.i));
    if (m !== null) {
      if (m[2] !== undefined && !rangeDecl) this.fail('only range declares two variables');
      decl.push(m[1] as string);
      if (m[2] !== undefined) decl.push(m[2]);
      assign = m[3] === '=';
      this.i += m[0].length;
    }
    const cmds: Command[] = [];
    for (;;) {
      this.ws();
      cmds.push(this.command());
      this.ws();
      if (this.s[this.i] === '|') {
        this.i++;
        continue;
      }
      break;
    }
    this.ws();
    if (top && this.i < this.s.length) this.fail(`unexpected "${this.s.slice(this.i, this.i + 20)}"`);
    return { decl, assign, cmds, pos };
  }

  private command(): Command {
    const pos = this.base + this.i;
    const args: Arg[] = [];
    for (;;) {
      this.ws();
      const c = this.s[this.i];
      if (c === undefined || c === '|' || c === ')') break;
      this.p.count(this.base + this.i);
      args.push(this.operand());
    }
    if (args.length === 0) this.fail('missing value for command');
    for (const a of args.slice(1)) if (a.kind === 'func' && !FUNCTION_NAMES.has(a.name)) this.p.fail(a.pos, `unknown function "${a.name}"`);
    return { args, pos };
  }

  private operand(): Arg {
    const at = this.i;
    const pos = this.base + at;
    const rest = this.s.slice(at);
    const c = rest[0] as string;
    if (c === '(') {
      this.i++;
      const pipe = new ActionParser(this.p, this.s, this.base, this.depth + 1);
      pipe.i = this.i;
      const inner = pipe.pipeline(false);
      this.i = pipe.i;
      if (this.s[this.i] !== ')') this.fail('unclosed "("');
      this.i++;
      return { kind: 'field', base: { pipe: inner }, path: this.chain(), pos };
    }
    if (c === '"') {
      const end = this.quotedEnd(at, '"');
      this.i = end + 1;
      try {
        return { kind: 'lit', value: JSON.parse(this.s.slice(at, end + 1)) as string, pos };
      } catch {
        return this.fail('bad string escape', at);
      }
    }
    if (c === '`') {
      const end = this.s.indexOf('`', at + 1);
      if (end < 0) this.fail('unterminated raw string');
      this.i = end + 1;
      return { kind: 'lit', value: this.s.slice(at + 1, end), pos };
    }
    if (c === "'") this.fail('character literals are not supported');
    const num = /^[+-]?(0x[0-9a-fA-F]+|\d+(\.\d+)?([eE][+-]?\d+)?)(?![A-Za-z0-9_.])/.exec(rest);
    if (num !== null) {
      this.i += num[0].length;
      return { kind: 'lit', value: Number(num[0]), pos };
    }
    if (c === '.') {
      if (!/^\.[A-Za-z_]/.test(rest)) {
        this.i++;
        return { kind: 'field', base: 'dot', path: [], pos };
      }
      return { kind: 'field', base: 'dot', path: this.chain(), pos };
    }
    if (c === '$') {
      const v = /^\$[A-Za-z0-9_]*/.exec(rest)?.[0] as string;
      this.i += v.length;
      return { kind: 'field', base: { variable: v }, path: this.chain(), pos };
    }
    const id = IDENT.exec(rest)?.[0];
    if (id === undefined) return this.fail(`unexpected "${c}"`);
    this.i += id.length;
    if (id === 'true' || id === 'false') return { kind: 'lit', value: id === 'true', pos };
    if (id === 'nil') return { kind: 'lit', value: null, pos };
    if (!FUNCTION_NAMES.has(id)) this.p.fail(pos, `unknown function "${id}"`);
    return { kind: 'func', name: id, pos };
  }

  /** `.a.b.c` right after an operand. */
  private chain(): string[] {
    const path: string[] = [];
    while (this.s[this.i] === '.') {
      const id = IDENT.exec(this.s.slice(this.i + 1))?.[0];
      if (id === undefined) this.fail('a field name must follow "."');
      path.push(id);
      this.i += 1 + id.length;
    }
    return path;
  }

  private quotedEnd(start: number, q: string): number {
    for (let j = start + 1; j < this.s.length; j++) {
      if (this.s[j] === '\\') j++;
      else if (this.s[j] === q) return j;
    }
    return this.fail('unterminated quoted string', start);
  }
}

export function parseTemplate(name: string, source: string): Node[] {
  return new Parser(name, source).parse();
}
