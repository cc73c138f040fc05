// Text rendering of lint findings: active findings first (severity, id, object, message, where,
// fix), then the suppressed ones with their reason and origin, then the counts.
import type { LocatedFinding } from './lint-sarif.js';

function where(f: LocatedFinding): string | undefined {
  if (f.file !== undefined) return f.line !== undefined ? `${f.file}:${f.line}` : f.file;
  return f.source;
}

export function formatFindingsText(findings: readonly LocatedFinding[]): string {
  const lines: string[] = [];
  const active = findings.filter((f) => !f.suppressed);
  const suppressed = findings.filter((f) => f.suppressed);
  for (const f of active) {
    lines.push(`${f.severity.toUpperCase()} ${f.id} ${f.name} ${f.object}: ${f.message}`);
    const at = where(f);
    if (at) lines.push(`  at: ${at}`);
    lines.push(`  fix: ${f.hint}`);
  }
  if (suppressed.length > 0) {
    lines.push('suppressed:');
    for (const f of suppressed) {
      lines.push(`  ${f.severity.toUpperCase()} ${f.id} ${f.name} ${f.object}: ${f.message}`);
      lines.push(`    reason: ${f.suppressed?.reason} (${f.suppressed?.by})`);
    }
  }
  const count = (s: string): number => active.filter((f) => f.severity === s).length;
  lines.push(`${count('error')} error(s), ${count('warning')} warning(s), ${count('info')} info${suppressed.length > 0 ? `; ${suppressed.length} suppressed` : ''}`);
  return `${lines.join('\n')}\n`;
}
