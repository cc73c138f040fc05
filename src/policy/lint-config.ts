// The lint config file for CI (`lint --config FILE`): suppressions with their reasons, and the
// namespaces NP001/NP002 skip. YAML, validated with zod; every problem is `path: reason`.
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { findRule, LINT_RULES, type RuleId } from './lint-catalog.js';

export const MAX_CONFIG_BYTES = 1024 * 1024;
const MAX_ENTRIES = 10_000;
const MAX_REASON = 2_000;

export interface IgnoreEntry {
  rule: RuleId;
  namespace?: string;
  policy?: string;
  reason: string;
}

export interface LintConfig {
  ignore: IgnoreEntry[];
  ignoreNamespaces?: string[];
  /** The file it was read from, named in suppressions and findings. */
  source?: string;
}

const text = (what: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? `${what} is required` : `${what} must be a string`) });

const entrySchema = z.strictObject({
  rule: text('rule').refine((r) => findRule(r) !== undefined, { error: (issue) => `unknown rule ${JSON.stringify(issue.input)} (a rule id such as NP011, or a name such as ${LINT_RULES.NP011.name})` }),
  namespace: text('namespace').min(1, { error: 'namespace must not be empty' }).max(253).optional(),
  policy: text('policy').min(1, { error: 'policy must not be empty' }).max(253).optional(),
  reason: text('reason')
    .trim()
    .min(1, { error: 'reason is required: say why the finding is accepted' })
    .max(MAX_REASON, { error: `reason is longer than ${MAX_REASON} characters` }),
});

const configSchema = z.strictObject({
  ignore: z
    .array(entrySchema, { error: (issue) => (issue.code === 'invalid_type' ? 'ignore must be a list of {rule, namespace?, policy?, reason}' : undefined) })
    .max(MAX_ENTRIES, { error: `more than ${MAX_ENTRIES} entries` })
    .optional(),
  ignoreNamespaces: z
    .array(text('namespace').min(1, { error: 'namespace must not be empty' }), { error: (issue) => (issue.code === 'invalid_type' ? 'ignoreNamespaces must be a list of namespace names' : undefined) })
    .max(MAX_ENTRIES, { error: `more than ${MAX_ENTRIES} entries` })
    .optional(),
});

/** `ignore[0].reason`-style path of a zod issue. */
function pathOf(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

export type ConfigResult = { ok: true; config: LintConfig } | { ok: false; problems: string[] };

/** Validates an already-parsed config document. Pure. */
export function buildLintConfig(document: unknown, source?: string): ConfigResult {
  const parsed = configSchema.safeParse(document ?? {});
  if (!parsed.success) return { ok: false, problems: parsed.error.issues.map((i) => `${pathOf(i.path)}: ${i.message}`) };
  const ignore = (parsed.data.ignore ?? []).map((e) => ({ ...e, rule: findRule(e.rule) as RuleId }));
  const config: LintConfig = { ignore, ...(parsed.data.ignoreNamespaces ? { ignoreNamespaces: parsed.data.ignoreNamespaces } : {}), ...(source ? { source } : {}) };
  return { ok: true, config };
}

/** Parses and validates the text of a config file. */
export function parseLintConfig(textContent: string, source?: string): ConfigResult {
  if (textContent.length > MAX_CONFIG_BYTES) return { ok: false, problems: [`(root): the file is larger than ${MAX_CONFIG_BYTES / 1024} KiB`] };
  const doc = parseDocument(textContent, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    const reason = (message: string): string => (message.split('\n')[0] ?? 'invalid YAML').replace(/ at line \d+, column \d+:?$/, '');
    return { ok: false, problems: doc.errors.map((e) => `line ${e.linePos?.[0]?.line ?? '?'}: ${reason(e.message)}`) };
  }
  let document: unknown;
  try {
    document = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return { ok: false, problems: [`(root): ${(error as Error).message}`] };
  }
  return buildLintConfig(document, source);
}
