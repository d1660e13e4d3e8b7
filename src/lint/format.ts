// How lint findings are printed: one line per finding (`file:line:column: field: message`, warnings marked), or JSON.
import type { Finding, LintResult } from './lint.ts';

export function formatFinding(f: Finding): string {
  return `${f.file}:${f.line}:${f.column}: ${f.severity === 'warning' ? 'warning: ' : ''}${f.field}: ${f.message}`;
}

export function summary(result: LintResult): string {
  const errors = result.findings.filter((f) => f.severity === 'error').length;
  const warnings = result.findings.length - errors;
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `${plural(errors, 'error')}, ${plural(warnings, 'warning')} in ${plural(result.checked, 'Sluice object')} (${result.skipped} other objects left to the apiserver)`;
}

/** Exit status: 1 when any finding is an error, else 0 (warnings name what could not be checked offline). */
export function lintExitCode(result: LintResult): 0 | 1 {
  return result.findings.some((f) => f.severity === 'error') ? 1 : 0;
}
