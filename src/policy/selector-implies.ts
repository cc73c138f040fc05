// Label-selector implication: does every label set that matches A also match B? Decided on the
// selectors alone (so it holds for any pod, present or future), one label key at a time: the
// values a key may take under A must lie within what each requirement of B allows.
import type { Requirement, Selector } from './selectors.js';

/** The label values a key may take: absent or not, and present values in (or not in) a set. */
interface Domain {
  absent: boolean;
  /** 'in': present values must be in `values`; 'notin': present values must not be in it. */
  mode: 'in' | 'notin';
  values: ReadonlySet<string>;
}

const ANY: Domain = { absent: true, mode: 'notin', values: new Set() };

function domainOf(r: Requirement): Domain {
  switch (r.operator) {
    case 'In':
      return { absent: false, mode: 'in', values: new Set(r.values) };
    case 'NotIn':
      return { absent: true, mode: 'notin', values: new Set(r.values) };
    case 'Exists':
      return { absent: false, mode: 'notin', values: new Set() };
    case 'DoesNotExist':
      return { absent: true, mode: 'in', values: new Set() };
  }
  return ANY;
}

function intersect(a: Domain, b: Domain): Domain {
  const absent = a.absent && b.absent;
  if (a.mode === 'in' && b.mode === 'in') return { absent, mode: 'in', values: new Set([...a.values].filter((v) => b.values.has(v))) };
  if (a.mode === 'notin' && b.mode === 'notin') return { absent, mode: 'notin', values: new Set([...a.values, ...b.values]) };
  const [inc, exc] = a.mode === 'in' ? [a, b] : [b, a];
  return { absent, mode: 'in', values: new Set([...inc.values].filter((v) => !exc.values.has(v))) };
}

function isEmpty(d: Domain): boolean {
  return !d.absent && d.mode === 'in' && d.values.size === 0;
}

/** a ⊆ b. A co-finite set of values (notin) is never inside a finite one: label values are unbounded. */
function within(a: Domain, b: Domain): boolean {
  if (a.absent && !b.absent) return false;
  if (a.mode === 'in') return b.mode === 'in' ? [...a.values].every((v) => b.values.has(v)) : [...a.values].every((v) => !b.values.has(v));
  return b.mode === 'notin' && [...b.values].every((v) => a.values.has(v));
}

function domainsOf(selector: Selector): Map<string, Domain> {
  const out = new Map<string, Domain>();
  for (const r of selector.requirements) out.set(r.key, intersect(out.get(r.key) ?? ANY, domainOf(r)));
  return out;
}

/** True when `a` can match no label set at all (e.g. `app In (x)` and `app NotIn (x)`). */
export function selectsNothing(a: Selector): boolean {
  return [...domainsOf(a).values()].some(isEmpty);
}

/** True when every label set matched by `a` is matched by `b`. */
export function selectorImplies(a: Selector, b: Selector): boolean {
  if (b.requirements.length === 0) return true;
  const domains = domainsOf(a);
  if ([...domains.values()].some(isEmpty)) return true;
  return b.requirements.every((r) => within(domains.get(r.key) ?? ANY, domainOf(r)));
}

