// How the validate step reads (pure): the thread messages (drift summary, connectivity, the
// anomaly's flows against live and Git, the test results, lint), the full Markdown report (a file
// when long) and the postmortem's "Validation" section, all from the step's result.

export interface ValidationResult {
  kind: 'validation';
  /** `repository@commit` of each repository compared. */
  commits: string[];
  drift: { missing: string[]; extra: string[]; modified: Array<{ key: string; diff: number }>; containment: string[]; ignored: number; compared: number };
  diffs: Array<{ key: string; lines: string[] }>;
  exposure: string[];
  breakage: string[];
  severity: 'low' | 'medium' | 'high' | null;
  why: string | null;
  /** The incident's anomalous flows: allowed by the live rules (without containment) and by Git's. */
  flows: Array<{ flow: string; live: boolean | 'unknown'; intended: boolean | 'unknown' }>;
  tests: Array<{ name: string | null; from: string; to: string; port: string; protocol: string; expect: 'allow' | 'deny'; origin: string; live: 'pass' | 'fail' | 'error'; intended: 'pass' | 'fail' | 'error'; reason: string }>;
  lint: Array<{ id: string; severity: string; object: string; message: string }>;
  limits: string[];
  /** How many there were when a list was kept only in part (past MAX_KEPT lines): its own length otherwise. */
  totals?: Partial<Record<KeptList, number>>;
}

/** The lists a big cluster can make long, and how many lines of each the incident record keeps. */
export type KeptList = 'exposure' | 'breakage' | 'extra' | 'missing';
export const MAX_KEPT = 2000;

/** A result whose long lists are cut at MAX_KEPT lines, their totals kept (a 10k-pod cluster's exposure can be 100k lines). */
export function keptResult(r: ValidationResult): ValidationResult {
  const totals: Partial<Record<KeptList, number>> = { ...r.totals };
  const cut = (name: KeptList, lines: string[]): string[] => {
    if (lines.length <= MAX_KEPT) return lines;
    totals[name] = Math.max(totals[name] ?? 0, lines.length);
    return lines.slice(0, MAX_KEPT);
  };
  const out: ValidationResult = { ...r, exposure: cut('exposure', r.exposure), breakage: cut('breakage', r.breakage), drift: { ...r.drift, extra: cut('extra', r.drift.extra), missing: cut('missing', r.drift.missing) } };
  return Object.keys(totals).length > 0 ? { ...out, totals } : out;
}

/** How many lines a list had, kept in full or not. */
export function totalOf(r: ValidationResult, name: KeptList): number {
  const lines = name === 'extra' || name === 'missing' ? r.drift[name] : r[name];
  return Math.max(r.totals?.[name] ?? 0, lines.length);
}

export interface ValidationView {
  summary: string;
  /** Thread messages (Slack mrkdwn), the first one the headline. */
  messages: string[];
  /** The whole report (Markdown). */
  full: string;
  /** True when the thread shows only part of it (attach `full`). */
  long: boolean;
}

function yesNo(v: boolean | 'unknown'): string {
  return v === 'unknown' ? 'unknown' : v ? 'allowed' : 'denied';
}

/** Is restoring Git enough to stop the anomalous flows? */
export function restoreVerdict(r: ValidationResult): string | undefined {
  if (r.flows.length === 0) return undefined;
  const liveOpen = r.flows.filter((f) => f.live === true).length;
  const gitOpen = r.flows.filter((f) => f.intended === true).length;
  const unknown = r.flows.some((f) => f.intended === 'unknown');
  if (r.commits.length === 0) return `${liveOpen} of ${r.flows.length} anomalous flow(s) pass the live rules; without Git, whether restoring is enough cannot be told.`;
  if (unknown) return 'Some anomalous flows could not be evaluated against Git.';
  if (gitOpen === 0) return liveOpen > 0 ? `Restoring Git is enough: Git's rules deny every anomalous flow that the live rules let through (${liveOpen}).` : 'Neither the live rules nor Git allow the anomalous flows: they did not come through a policy gap (look at the CNI and the flow source).';
  return `Restoring Git is NOT enough: Git's rules also allow ${gitOpen} of ${r.flows.length} anomalous flow(s); the fix must change Git.`;
}

function list(items: string[], rows: number, total = items.length, empty = '_none_'): string {
  if (items.length === 0) return empty;
  const shown = items.slice(0, rows).map((i) => `• \`${i.replace(/`/g, "'")}\``);
  return [...shown, ...(total > rows ? [`… and ${total - rows} more (${items.length > rows ? 'in the attached report' : 'not kept'})`] : [])].join('\n');
}

function driftCount(r: ValidationResult): number {
  return totalOf(r, 'missing') + totalOf(r, 'extra') + r.drift.modified.length;
}

export function validationReport(r: ValidationResult, rows: number): ValidationView {
  const drifted = driftCount(r);
  const failedLive = r.tests.filter((t) => t.live !== 'pass');
  const failedGit = r.tests.filter((t) => t.intended !== 'pass');
  const verdict = restoreVerdict(r);
  const summary =
    r.commits.length === 0
      ? `Validated without Git: ${r.tests.length - failedLive.length}/${r.tests.length} tests pass live, ${r.lint.length} lint finding(s)`
      : `${drifted} object(s) drift from Git (${r.severity ?? 'low'}); ${totalOf(r, 'exposure')} exposed, ${totalOf(r, 'breakage')} broken; tests ${r.tests.length - failedLive.length}/${r.tests.length} live, ${r.tests.length - failedGit.length}/${r.tests.length} Git`;

  const head: string[] = [];
  if (r.commits.length > 0) {
    head.push(`*Drift from Git* (${r.commits.join(', ')}): ${drifted === 0 ? 'none — the live policies match Git' : `${r.drift.modified.length} modified, ${totalOf(r, 'extra')} extra in the cluster, ${totalOf(r, 'missing')} missing`}${r.severity ? `, severity *${r.severity}*` : ''}.`);
    if (r.why) head.push(r.why);
  }
  if (r.drift.containment.length > 0) head.push(`_Containment in place (the bot's own, not drift): ${r.drift.containment.length} object(s)._`);
  if (verdict) head.push(`*Anomalous flows:* ${verdict}`);
  for (const limit of r.limits.slice(0, 5)) head.push(`_${limit}_`);
  const messages = [head.join('\n')];
  if (drifted > 0) {
    const lines = [
      ...r.drift.modified.map((m) => `~ ${m.key}`),
      ...r.drift.extra.map((k) => `+ ${k} (not in Git)`),
      ...r.drift.missing.map((k) => `- ${k} (missing in the cluster)`),
    ];
    messages.push(`*Drifted objects (${drifted}):*\n${list(lines, rows, drifted)}`);
    messages.push(`*Exposure* (open now, Git does not allow it): ${totalOf(r, 'exposure')}\n${list(r.exposure, rows, totalOf(r, 'exposure'))}\n*Breakage* (Git allows it, closed now): ${totalOf(r, 'breakage')}\n${list(r.breakage, rows, totalOf(r, 'breakage'))}`);
  }
  if (r.flows.length > 0) messages.push(`*The incident's flows:*\n${r.flows.slice(0, rows).map((f) => `• \`${f.flow}\`: live ${yesNo(f.live)}, Git ${yesNo(f.intended)}`).join('\n')}`);
  if (r.tests.length > 0) {
    const failures = r.tests.filter((t) => t.live !== 'pass' || t.intended !== 'pass');
    const row = (t: ValidationResult['tests'][number]): string => `• ${t.live === 'pass' ? '✅' : '❌'} live · ${t.intended === 'pass' ? '✅' : '❌'} Git · ${t.name ? `${t.name}: ` : ''}\`${t.from} → ${t.to} ${t.port}/${t.protocol}\` expect ${t.expect} (${t.origin})`;
    messages.push(`*Network tests:* ${r.tests.length - failedLive.length}/${r.tests.length} pass live, ${r.tests.length - failedGit.length}/${r.tests.length} pass on Git.${failures.length > 0 ? `\n${failures.slice(0, rows).map(row).join('\n')}${failures.length > rows ? `\n… and ${failures.length - rows} more (in the attached report)` : ''}` : ''}`);
  }
  if (r.lint.length > 0) messages.push(`*Lint of the live policies in scope (${r.lint.length}):*\n${r.lint.slice(0, rows).map((f) => `• ${f.severity} ${f.id} \`${f.object}\`: ${f.message}`).join('\n')}`);
  const full = fullValidation(r);
  const long = drifted > rows || totalOf(r, 'exposure') > rows || totalOf(r, 'breakage') > rows || r.tests.length > rows || r.lint.length > rows || r.diffs.some((d) => d.lines.length > 0);
  return { summary, messages: messages.map((m) => m.slice(0, 2900)), full, long };
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The whole validation as Markdown: the attached report and the postmortem section. */
export function fullValidation(r: ValidationResult, heading = '#'): string {
  const out: string[] = [`${heading} Validation`, ''];
  out.push(r.commits.length > 0 ? `Compared with ${r.commits.join(', ')}: ${r.drift.compared} object(s) compared, ${r.drift.ignored} ignored by rule.` : 'No policy repository: nothing to compare with.', '');
  if (r.severity) out.push(`Severity: **${r.severity}**. ${r.why ?? ''}`, '');
  const verdict = restoreVerdict(r);
  if (verdict) out.push(`**Anomalous flows:** ${verdict}`, '');
  for (const limit of r.limits) out.push(`- _${limit}_`);
  if (r.limits.length > 0) out.push('');
  const section = (title: string, lines: string[], total = lines.length): void => {
    out.push(`${heading}# ${title} (${total})`, '');
    if (lines.length === 0) out.push('None.', '');
    else {
      // A loop, not push(...lines): exposure across a big cluster can be more lines than a call takes arguments.
      for (const l of lines) out.push(`- \`${l}\``);
      if (total > lines.length) out.push(`- … and ${total - lines.length} more, not kept (the first ${lines.length} are)`);
      out.push('');
    }
  };
  section('Modified', r.drift.modified.map((m) => m.key));
  for (const d of r.diffs) out.push(`${d.key}:`, '', '```diff', ...d.lines, '```', '');
  section('Extra in the cluster (not in Git)', r.drift.extra, totalOf(r, 'extra'));
  section('Missing in the cluster', r.drift.missing, totalOf(r, 'missing'));
  if (r.drift.containment.length > 0) section('Containment in place (not drift)', r.drift.containment);
  section('Exposure: open now, not allowed by Git', r.exposure, totalOf(r, 'exposure'));
  section('Breakage: allowed by Git, closed now', r.breakage, totalOf(r, 'breakage'));
  if (r.flows.length > 0) {
    out.push(`${heading}# Anomalous flows`, '', '| Flow | Live rules | Git |', '|---|---|---|');
    for (const f of r.flows) out.push(`| ${cell(f.flow)} | ${yesNo(f.live)} | ${yesNo(f.intended)} |`);
    out.push('');
  }
  out.push(`${heading}# Network tests (${r.tests.length})`, '');
  if (r.tests.length > 0) {
    out.push('| Case | Expect | Origin | Live | Git | Reason |', '|---|---|---|---|---|---|');
    for (const t of r.tests) out.push(`| ${cell(`${t.name ? `${t.name}: ` : ''}${t.from} → ${t.to} ${t.port}/${t.protocol}`)} | ${t.expect} | ${t.origin} | ${t.live} | ${t.intended} | ${cell(t.reason.slice(0, 300))} |`);
  } else out.push('None.');
  out.push('', `${heading}# Lint of the live policies (${r.lint.length})`, '');
  for (const f of r.lint) out.push(`- ${f.severity} ${f.id} \`${f.object}\`: ${f.message}`);
  out.push('');
  return out.join('\n');
}
