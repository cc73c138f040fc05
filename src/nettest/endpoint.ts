// The two sides of a network test case, as text: a workload (`namespace/name`, optionally with
// `[Kind]`, as `analyze` names it), or an address outside the cluster (an IP or a CIDR). Pure.
import { formatIp, parseCidr, parseIp, type IpFamily } from '../policy/ip-set.js';
import { printable } from '../printable.js';

/** Longest `from`/`to` accepted: a namespace (63), "/", a name (253) and a `[Kind]`. */
export const MAX_ENDPOINT_LENGTH = 340;

export type TestEndpoint =
  | { kind: 'workload'; text: string; namespace: string; name: string; workloadKind?: string }
  /** Inclusive range; a single IP has start === end and `single`. */
  | { kind: 'address'; text: string; family: IpFamily; start: bigint; end: bigint; single: boolean };

// Namespaces are DNS-1123 labels. Names are taken as the engine resolves them (anything without
// "/", "[", "]" or blanks): workload names derived from pods are not always DNS subdomains.
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const NAME = /^[^/\s[\]\p{Cc}]{1,253}$/u;
const KIND = /^[A-Z][A-Za-z]{0,62}$/;

/** Parses one side of a case; a string is the reason it is not valid. */
export function parseTestEndpoint(text: string): TestEndpoint | string {
  if (text.length === 0) return 'must not be empty';
  if (text.length > MAX_ENDPOINT_LENGTH) return `is longer than ${MAX_ENDPOINT_LENGTH} characters`;
  const ip = parseIp(text);
  if (ip) return { kind: 'address', text, family: ip.family, start: ip.value, end: ip.value, single: true };
  if (text.includes('/') && parseIp(text.slice(0, text.indexOf('/')))) {
    const cidr = parseCidr(text);
    if (typeof cidr === 'string') return printable(cidr, 400);
    const given = parseIp(text.slice(0, text.indexOf('/')));
    // A CIDR with host bits set is almost always a typo for a narrower or wider range: say which one it means.
    if (given && given.value !== cidr.start) return `"${printable(text, 100)}" has host bits set: the range it stands for is ${formatIp(cidr.family, cidr.start)}/${cidr.prefix}`;
    return { kind: 'address', text, family: cidr.family, start: cidr.start, end: cidr.end, single: cidr.start === cidr.end };
  }
  const m = /^([^/]*)\/([^[]*)(?:\[([^\]]*)\])?$/.exec(text);
  if (!m) return `"${printable(text, 100)}" is neither <namespace>/<workload>, <namespace>/<workload>[Kind], an IP address nor a CIDR`;
  const [, namespace = '', name = '', kind] = m;
  if (namespace.length > 63 || !NAMESPACE.test(namespace)) return `"${printable(namespace, 100)}" is not a namespace name (a DNS-1123 label: lower-case letters, digits, "-", at most 63)`;
  if (!NAME.test(name)) return `"${printable(name, 100)}" is not a workload or pod name (1-253 characters, no "/", "[", "]", blanks or control characters)`;
  if (kind !== undefined && !KIND.test(kind)) return `"[${printable(kind, 100)}]" is not a workload kind such as [Deployment]`;
  return { kind: 'workload', text, namespace, name, ...(kind !== undefined ? { workloadKind: kind } : {}) };
}
