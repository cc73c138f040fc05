// The generated baseline as files: `<namespace>/default-deny.yaml` (default-deny and DNS
// egress) and one `<namespace>/<workload>.yaml` per workload with its ingress and egress
// policies. Keys, rules, peers and ports are always written in the same order, so a
// regenerated baseline diffs only where the traffic changed. Pure.
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { blockSortKey } from './cidr.js';
import type { EdgeProtocol } from './edges.js';

export const DEFAULT_DENY_POLICY = 'default-deny';
export const DNS_POLICY = 'allow-dns-egress';
export const DEFAULT_DENY_FILE = 'default-deny.yaml';
export const NS_NAME_LABEL = 'kubernetes.io/metadata.name';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'netpol-responder' } as const;

/** Who is on the other side of a rule. */
export type RulePeer =
  | { kind: 'pods'; namespace: string; matchLabels: Record<string, string>; sameNamespace: boolean }
  | { kind: 'ipBlock'; cidr: string };

export interface PortRef {
  protocol: EdgeProtocol;
  port: number;
}

export interface PeerRule {
  peer: RulePeer;
  ports: PortRef[];
}

export type PolicyObject = Record<string, unknown>;

export interface GeneratedFile {
  /** `<namespace>/<file>.yaml`. */
  path: string;
  /** The workload the file is for (undefined for the default-deny file). */
  workload?: string;
  policies: PolicyObject[];
  yaml: string;
}

const MAX_NAME = 253;

/** `allow-<workload>-<direction>`, shortened with a hash when the workload name is very long. */
export function allowPolicyName(workload: string, direction: 'ingress' | 'egress'): string {
  let name = `allow-${workload}-${direction}`;
  if (name.length > MAX_NAME) {
    const hash = createHash('sha256').update(workload).digest('hex').slice(0, 8);
    name = `allow-${workload.slice(0, MAX_NAME - 30).replace(/[-.]+$/, '')}-${hash}-${direction}`;
  }
  // A workload named "dns" would otherwise take the DNS policy's name.
  return name === DNS_POLICY ? `allow-${workload}-workload-${direction}` : name;
}

/** The workload's file name; a workload named "default-deny" must not replace the namespace file. */
export function workloadFileName(workload: string): string {
  const file = `${workload}.yaml`;
  return file === DEFAULT_DENY_FILE ? `workload-${file}` : file;
}

function sortedLabels(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(labels).sort()) out[key] = labels[key] as string;
  return out;
}

function peerSortKey(p: RulePeer): string {
  if (p.kind === 'ipBlock') return `2:${blockSortKey(p.cidr)}`;
  return `${p.sameNamespace ? 0 : 1}:${p.namespace}:${JSON.stringify(sortedLabels(p.matchLabels))}`;
}

function peerObject(p: RulePeer): Record<string, unknown> {
  if (p.kind === 'ipBlock') return { ipBlock: { cidr: p.cidr } };
  const podSelector = { matchLabels: sortedLabels(p.matchLabels) };
  if (p.sameNamespace) return { podSelector };
  return { namespaceSelector: { matchLabels: { [NS_NAME_LABEL]: p.namespace } }, podSelector };
}

function portObjects(ports: readonly PortRef[]): Array<{ protocol: EdgeProtocol; port: number }> {
  return [...ports].sort((a, b) => (a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : a.port - b.port)).map((p) => ({ protocol: p.protocol, port: p.port }));
}

function metadata(namespace: string, name: string): Record<string, unknown> {
  return { name, namespace, labels: { ...MANAGED_BY } };
}

/** One policy for one workload and direction: a rule per peer, peers and ports sorted. */
export function allowPolicy(namespace: string, workload: string, matchLabels: Record<string, string>, direction: 'ingress' | 'egress', rules: readonly PeerRule[]): PolicyObject {
  const sorted = [...rules].sort((a, b) => (peerSortKey(a.peer) < peerSortKey(b.peer) ? -1 : 1));
  const side = direction === 'ingress' ? 'from' : 'to';
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: metadata(namespace, allowPolicyName(workload, direction)),
    spec: {
      podSelector: { matchLabels: sortedLabels(matchLabels) },
      policyTypes: [direction === 'ingress' ? 'Ingress' : 'Egress'],
      [direction]: sorted.map((r) => ({ [side]: [peerObject(r.peer)], ports: portObjects(r.ports) })),
    },
  };
}

/** A label requirement `key NotIn values`: the pods of workloads left out of the baseline. */
export interface Exemption {
  key: string;
  values: string[];
}

/** Every pod of the namespace, or every pod but the exempted ones (NotIn per key, ANDed). */
function exemptSelector(exempt: readonly Exemption[]): Record<string, unknown> {
  if (exempt.length === 0) return {};
  const sorted = [...exempt].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { matchExpressions: sorted.map((e) => ({ key: e.key, operator: 'NotIn', values: [...new Set(e.values)].sort() })) };
}

export function defaultDenyPolicies(namespace: string, exempt: readonly Exemption[] = []): PolicyObject[] {
  const podSelector = exemptSelector(exempt);
  return [
    { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: metadata(namespace, DEFAULT_DENY_POLICY), spec: { podSelector, policyTypes: ['Ingress', 'Egress'] } },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: metadata(namespace, DNS_POLICY),
      spec: {
        podSelector: structuredClone(podSelector),
        policyTypes: ['Egress'],
        egress: [
          {
            to: [{ namespaceSelector: { matchLabels: { [NS_NAME_LABEL]: 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
            ports: [
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 53 },
            ],
          },
        ],
      },
    },
  ];
}

// Rendering each scalar with the yaml package decides its quoting ("true", "8080", "" and the
// like must be quoted); the block layout around it is fixed. Rendering whole policies with
// stringify() costs ~0.5 ms each, most of a 500-workload baseline's time; the result is the same.
const scalarCache = new Map<string | number | boolean | null, string>();

function scalar(value: string | number | boolean | null): string {
  let text = scalarCache.get(value);
  if (text === undefined) {
    text = stringify(value, { lineWidth: 0 }).replace(/\n$/, '');
    // A block scalar cannot sit after "key: "; JSON's double-quoted form is valid YAML.
    if (text.includes('\n')) text = JSON.stringify(value);
    if (scalarCache.size >= 10_000) scalarCache.clear();
    scalarCache.set(value, text);
  }
  return text;
}

function inline(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return scalar(value as string | number | boolean | null);
  if (Array.isArray(value)) return value.length === 0 ? '[]' : undefined;
  return Object.keys(value).length === 0 ? '{}' : undefined;
}

/** Block-style lines of a map or sequence at `indent` (sequences under a key indented, as yaml does). */
function block(value: object, indent: string, out: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) {
      const text = inline(item);
      if (text !== undefined) {
        out.push(`${indent}- ${text}`);
        continue;
      }
      const first = out.length;
      block(item as object, `${indent}  `, out);
      out[first] = `${indent}- ${(out[first] as string).slice(indent.length + 2)}`;
    }
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined) continue;
    const text = inline(item);
    if (text !== undefined) out.push(`${indent}${scalar(key)}: ${text}`);
    else {
      out.push(`${indent}${scalar(key)}:`);
      block(item as object, `${indent}  `, out);
    }
  }
}

/** One policy as a YAML document body, as yaml's stringify() writes it. */
export function renderPolicy(policy: PolicyObject): string {
  const lines: string[] = [];
  block(policy, '', lines);
  return `${lines.join('\n')}\n`;
}

/** Multi-document YAML with a fixed header; every name in it was validated before. */
export function renderFile(header: string, policies: readonly PolicyObject[]): string {
  return `# ${header}\n${policies.map((p) => `---\n${renderPolicy(p)}`).join('')}`;
}
