// Network test results as text (one line per case, the explanation under a failure), JSON, or
// JUnit XML for CI test reports. Names and reasons come from the input: the text formats escape
// what could drive a terminal, the XML what could break the document. Pure.
import { printable, printableLines } from '../printable.js';
import { caseTitle } from './cases.js';
import type { CaseResult } from './run.js';

export const NET_TEST_FORMATS = ['txt', 'json', 'junit'] as const;
export type NetTestFormat = (typeof NET_TEST_FORMATS)[number];

export interface FormatOptions {
  /** JUnit test suite name, e.g. the cases file (default "netpol-tests"). */
  suite?: string;
}

export interface ResultSummary {
  total: number;
  passed: number;
  failed: number;
  errors: number;
}

export function summarizeResults(results: readonly CaseResult[]): ResultSummary {
  const errors = results.filter((r) => r.got === 'error').length;
  const passed = results.filter((r) => r.pass).length;
  return { total: results.length, passed, failed: results.length - passed - errors, errors };
}

function status(r: CaseResult): 'PASS' | 'FAIL' | 'ERROR' {
  return r.got === 'error' ? 'ERROR' : r.pass ? 'PASS' : 'FAIL';
}

function connection(r: CaseResult): string {
  const c = r.case;
  return `${c.from} → ${c.to} ${c.port}/${c.protocol}`;
}

/** `expected allow, got deny` (or `got partial: 2 of 5 allowed`, `got an error`). */
export function verdictText(r: CaseResult): string {
  const got = r.got === 'partial' ? `partial: ${r.allowedCount} of ${r.checked} allowed` : r.got === 'error' ? 'an error' : r.got;
  return `expected ${r.case.expect}, got ${got}`;
}

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((line) => `${by}${line}`)
    .join('\n');
}

function formatText(results: readonly CaseResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    const c = r.case;
    const origin = c.origin === 'file' ? '' : `[${c.origin}] `;
    const name = c.name !== undefined ? `${c.name}  ` : '';
    const where = !r.pass && c.line !== undefined ? `  (line ${c.line})` : '';
    lines.push(printable(`${status(r).padEnd(5)}  ${origin}${name}${connection(r)}  ${verdictText(r)}${where}`));
    if (r.got === 'error') lines.push(printable(`    error: ${r.error ?? r.reason}`));
    else if (!r.pass) lines.push(indent(printableLines(r.reason), '    '));
  }
  const s = summarizeResults(results);
  lines.push(`${s.total} case(s): ${s.passed} passed, ${s.failed} failed, ${s.errors} error(s)`);
  return `${lines.join('\n')}\n`;
}

function formatJson(results: readonly CaseResult[]): string {
  const list = results.map((r) => ({
    ...(r.case.name !== undefined ? { name: r.case.name } : {}),
    from: r.case.from,
    to: r.case.to,
    port: r.case.port,
    protocol: r.case.protocol,
    expect: r.case.expect,
    origin: r.case.origin,
    ...(r.case.line !== undefined ? { line: r.case.line } : {}),
    status: status(r).toLowerCase(),
    got: r.got,
    pass: r.pass,
    allowed: r.allowed,
    checked: r.checked,
    allowedCount: r.allowedCount,
    reason: r.reason,
    ...(r.error !== undefined ? { error: r.error } : {}),
  }));
  return `${JSON.stringify({ summary: summarizeResults(results), results: list }, null, 2)}\n`;
}

// XML 1.0 allows only these characters; printable() has already escaped C0/C1 controls and
// bidirectional overrides, this catches the rest (lone surrogates, U+FFFE, U+FFFF).
// eslint-disable-next-line no-control-regex -- the XML Char production names the allowed control characters
const NOT_XML_CHAR = /[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu;

function xmlSafe(text: string): string {
  return text.replace(NOT_XML_CHAR, (ch) => `\\u${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}

/** Element content: the line breaks stay. */
function xmlText(text: string): string {
  return xmlSafe(printableLines(text)).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Attribute value (double-quoted): one line. */
function xmlAttr(text: string): string {
  return xmlSafe(printable(text)).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function formatJunit(results: readonly CaseResult[], suite: string): string {
  const s = summarizeResults(results);
  const counts = `tests="${s.total}" failures="${s.failed}" errors="${s.errors}"`;
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="netpol-responder test" ${counts}>`, `  <testsuite name="${xmlAttr(suite)}" ${counts} skipped="0">`];
  for (const r of results) {
    const open = `    <testcase name="${xmlAttr(caseTitle(r.case))}" classname="netpol.${r.case.origin}"`;
    if (r.pass) {
      out.push(`${open}/>`);
      continue;
    }
    out.push(`${open}>`);
    if (r.got === 'error') out.push(`      <error message="${xmlAttr(r.error ?? r.reason)}" type="error">${xmlText(`${connection(r)}\n${r.error ?? r.reason}`)}</error>`);
    else out.push(`      <failure message="${xmlAttr(verdictText(r))}" type="${r.got}">${xmlText(`${connection(r)}\n${r.reason}`)}</failure>`);
    out.push('    </testcase>');
  }
  out.push('  </testsuite>', '</testsuites>');
  return `${out.join('\n')}\n`;
}

export function formatResults(results: readonly CaseResult[], format: NetTestFormat, options: FormatOptions = {}): string {
  if (format === 'json') return formatJson(results);
  if (format === 'junit') return formatJunit(results, options.suite ?? 'netpol-tests');
  return formatText(results);
}
