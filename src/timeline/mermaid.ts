// The Markdown postmortem's Mermaid timeline (a ```mermaid block GitHub renders): one section per
// step, in the order their first events happened, each event under its UTC time. Event text is
// made inert for Mermaid and for the fence: `:` separates events and `;` statements, `#` starts an
// entity, `%%` a comment, a newline a new item and three backticks would close the fence; each
// becomes a look-alike or a space, and every item is capped. Pure.
import { printable } from '../printable.js';

export interface MermaidEvent {
  at: string;
  step?: string;
  summary: string;
}

export const MERMAID_LIMITS = { text: 120, perSection: 40, events: 300, perTime: 6 } as const;

/** One line of text Mermaid shows as written and that cannot end the item, the section or the fence. */
export function mermaidText(text: string, max: number = MERMAID_LIMITS.text): string {
  const flat = text
    .replace(/\r\n|\r|\n|\u2028|\u2029/g, ' ')
    .replace(/\*/g, '')
    .replace(/:/g, '∶')
    .replace(/;/g, '⁏')
    .replace(/#/g, '＃')
    .replace(/%/g, '％')
    .replace(/`/g, 'ʹ')
    .replace(/[{}]/g, (c) => (c === '{' ? '❴' : '❵'))
    .replace(/<@([A-Z0-9]+)>/g, '@$1')
    .replace(/[<>]/g, (c) => (c === '<' ? '‹' : '›'))
    .replace(/\s+/g, ' ')
    .trim();
  // printable() makes the remaining control characters visible (as text, never a line break).
  return printable(flat, max) || '(no text)';
}

function clock(at: string): string {
  const t = Date.parse(at);
  return Number.isFinite(t) ? new Date(t).toISOString().slice(11, 19).replace(/:/g, '∶') : 'unknown time';
}

/** The ```mermaid block's lines, fences included; empty when there is no event. */
export function mermaidTimeline(title: string, events: readonly MermaidEvent[], sectionTitle: (step: string | undefined) => string): string[] {
  if (events.length === 0) return [];
  const kept = events.slice(0, MERMAID_LIMITS.events);
  const sections = new Map<string, { title: string; items: Array<{ time: string; texts: string[]; hidden: number }>; count: number; more: number }>();
  for (const e of kept) {
    const key = e.step ?? '';
    let section = sections.get(key);
    if (!section) {
      section = { title: mermaidText(sectionTitle(e.step), 60), items: [], count: 0, more: 0 };
      sections.set(key, section);
    }
    if (section.count >= MERMAID_LIMITS.perSection) {
      section.more += 1;
      continue;
    }
    section.count += 1;
    const time = clock(e.at);
    const last = section.items[section.items.length - 1];
    const text = mermaidText(e.summary);
    if (last && last.time === time && last.texts.length < MERMAID_LIMITS.perTime) last.texts.push(text);
    else if (last && last.time === time) last.hidden += 1;
    else section.items.push({ time, texts: [text], hidden: 0 });
  }
  const out = ['```mermaid', 'timeline', `    title ${mermaidText(title, 100)}`];
  for (const section of sections.values()) {
    out.push(`    section ${section.title}`);
    for (const item of section.items) out.push(`        ${item.time} : ${[...item.texts, ...(item.hidden ? [`… and ${item.hidden} more`] : [])].join(' : ')}`);
    if (section.more > 0) out.push(`        later : … and ${section.more} more events`);
  }
  if (events.length > kept.length) out.push('    section More', `        later : … and ${events.length - kept.length} more events (see the table below)`);
  out.push('```');
  return out;
}
