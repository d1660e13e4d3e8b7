import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Template } from './exec.ts';
import { Helper, type TValue } from './funcs.ts';
import { GoTime } from './gotime.ts';
import { TemplateError } from './parse.ts';

const render = (src: string, data: TValue): string => Template.parse('t', src).render(data);

describe('the Go template subset', () => {
  const rollout = {
    metadata: { name: 'web', namespace: 'prod' },
    spec: { strategy: { canary: { steps: [] } }, template: { spec: { containers: [{ name: 'app', image: 'app:2' }, { name: 'side', image: 'side:1' }] } } },
    status: { phase: 'Degraded', message: 'step 2 analysis Failed' },
  };

  it('reads fields, branches and ranges as Argo default templates do', () => {
    const src = `{{if .rollout.spec.strategy.blueGreen}}BlueGreen{{end}}{{if .rollout.spec.strategy.canary}}Canary{{end}}
{{range $index, $c := .rollout.spec.template.spec.containers}}{{if $index}},{{end}}{{$c.name}}={{$c.image}}{{end}}`;
    expect(render(src, { rollout })).toBe('Canary\napp=app:2,side=side:1');
  });

  it('trims whitespace around {{- and -}}', () => {
    expect(render('a  {{- "b" -}}  c', {})).toBe('abc');
  });

  it('pipes the previous value as the last argument', () => {
    expect(render('{{ .x | default "none" | upper }}', {})).toBe('NONE');
    expect(render('{{ "abcdef" | trunc 3 }}', {})).toBe('abc');
    expect(render('{{ .m | toJson }}', { m: { a: [1, 'x'] } })).toBe('{"a":[1,"x"]}');
  });

  it('supports else if, with and variables', () => {
    const src = '{{ $p := .s }}{{ if eq $p "A" }}a{{ else if eq $p "B" "C" }}bc{{ else }}z{{ end }}{{ with .w }}[{{ .k }}]{{ else }}-{{ end }}';
    expect(render(src, { s: 'C', w: { k: 1 } })).toBe('bc[1]');
    expect(render(src, { s: 'Q' })).toBe('z-');
  });

  it('and/or short-circuit and return the deciding value', () => {
    expect(render('{{ and .a .a.b }}', {})).toBe('<no value>');
    expect(render('{{ or .a "fallback" }}', {})).toBe('fallback');
  });

  it('formats times with Go layouts and calls helpers', () => {
    const data = { time: { Now: new Helper('Now', () => new GoTime(Date.UTC(2026, 0, 2, 15, 4, 5))) } };
    expect(render('{{ (call .time.Now).Format "2006-01-02T15:04:05Z07:00" }}', data)).toBe('2026-01-02T15:04:05Z');
    expect(render('{{ date "Jan _2 03:04PM" "2026-03-09T18:30:00Z" }}', {})).toBe('Mar  9 06:30PM');
  });

  it('printf and index', () => {
    expect(render('{{ printf "%s has %d (%.1f%%)" .n (index .l 1) 12.345 }}', { n: 'x', l: [1, 2] })).toBe('x has 2 (12.3%)');
  });

  it('refuses unsupported constructs at parse with name, line and column', () => {
    const bad: [string, RegExp][] = [
      ['ok\n  {{ define "x" }}{{ end }}', /^template t:2:6: \{\{define\}\} is not supported/],
      ['{{ if .a }}x', /missing \{\{end\}\}/],
      ['{{ nosuch .a }}', /^template t:1:4: unknown function "nosuch"/],
      ['{{ .a ', /unclosed action/],
      ['{{ end }}', /unexpected \{\{end\}\}/],
      ['{{ "abc }}', /unterminated/],
    ];
    for (const [src, re] of bad) expect(() => Template.parse('t', src)).toThrow(re);
  });

  it('reports run-time errors with the position of the action', () => {
    const t = Template.parse('tpl', 'line1\n{{ index .l 5 }}');
    expect(() => t.render({ l: [1] })).toThrow(TemplateError);
    expect(() => t.render({ l: [1] })).toThrow(/^template tpl:2:4: index out of range: 5/);
  });

  it('never reaches the prototype', () => {
    expect(() => render('{{ .__proto__ }}', {})).toThrow(/not readable/);
    expect(() => render('{{ .constructor }}', { a: 1 })).toThrow(/not readable/);
  });

  it('is bounded in steps and output', () => {
    expect(() => render('{{ range 1000000 }}{{ range 1000000 }}x{{ end }}{{ end }}', {})).toThrow(/evaluation steps|output longer/);
    expect(() => render('{{ repeat 100000000 "x" }}', {})).toThrow(/output limit/);
  });

  it('renders any text without actions unchanged (property)', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !s.includes('{{')),
        (s) => render(s, {}) === s,
      ),
    );
  });

  it('never throws anything but TemplateError on arbitrary input (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        try {
          Template.parse('p', `{{${s}}}`).render({ a: 1, l: [1, 2] });
        } catch (e) {
          return e instanceof TemplateError;
        }
        return true;
      }),
      { numRuns: 2000 },
    );
  });
});
