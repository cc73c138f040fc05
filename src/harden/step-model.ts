// The hardening step's (step 5) parameters and the shapes it keeps in the incident record: the
// proposal an approver reads (the engine's proof figures per namespace, flagged workloads, the
// files and where they go) and the result (where the files went, drift monitoring, connectivity).
import { z } from 'zod';
import { durationSchema, parseDuration } from '../config/duration.js';
import { V4_PREFIX_RANGE, V6_PREFIX_RANGE } from './cidr.js';
import type { BaselineProof } from './prove.js';

export const hardenParamsSchema = z
  .object({
    /** Workloads observed for less than this are left out of the baseline (skipped: default-deny excludes them, they keep their current policies). */
    minHistory: durationSchema.default(parseDuration('24h')),
    /** External addresses are widened to blocks of this prefix length. */
    v4Prefix: z.number().int().min(V4_PREFIX_RANGE[0]).max(V4_PREFIX_RANGE[1]).default(24),
    v6Prefix: z.number().int().min(V6_PREFIX_RANGE[0]).max(V6_PREFIX_RANGE[1]).default(64),
    /** The repository's network tests file (relative to its root), merged with the new cases. */
    testsFile: z
      .string()
      .min(1)
      .max(256)
      .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'must be a path inside the repository')
      .default('netpol-tests.yaml'),
    /** More namespaces to harden, beyond the incident's and the one the cause touched. */
    namespaces: z.array(z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a namespace name')).max(20).default([]),
    /** Turn drift monitoring on for the hardened namespaces (when the policy repository is configured). */
    watchDrift: z.boolean().default(true),
  })
  .strict();

export type HardenParams = z.infer<typeof hardenParamsSchema>;

export function hardenParams(raw: unknown): HardenParams {
  return hardenParamsSchema.parse(raw ?? {});
}

/** The proof figures kept in the record (the full proof's long lists cut). */
export interface HardenProof {
  coverage: { learned: number; allowed: number; percent: number; misses: string[] };
  unobserved: { pairs: number; combinations: number; examples: Array<{ src: string; dst: string; conns: string }> };
  anomalies: { total: number; denied: number; allowed: string[]; unresolved: number };
  lint: { errors: number; warnings: number; findings: string[] };
  ok: boolean;
}

export function proofFigures(p: BaselineProof): HardenProof {
  const edge = (e: { src: string; dst: string; port: number; protocol: string }): string => `${e.src} → ${e.dst} ${e.protocol}/${e.port}`;
  return {
    coverage: { learned: p.coverage.learned, allowed: p.coverage.allowed, percent: Math.round(p.coverage.percent * 10) / 10, misses: p.coverage.misses.slice(0, 10).map((m) => edge(m.edge)) },
    unobserved: { pairs: p.unobserved.pairs, combinations: p.unobserved.combinations, examples: p.unobserved.examples.slice(0, 5) },
    anomalies: { total: p.anomalies.total, denied: p.anomalies.denied, allowed: p.anomalies.allowed.slice(0, 10).map((a) => edge(a.edge)), unresolved: p.anomalies.unresolved.length },
    lint: { errors: p.lint.errors, warnings: p.lint.warnings, findings: p.lint.findings.slice(0, 10).map((f) => `${f.id} ${f.object}: ${f.message}`) },
    ok: p.ok,
  };
}

/** Where the files go: a repository (a branch, and a pull request when a Git host is configured), or the thread. */
export type HardenTarget =
  | { kind: 'repository'; repository: string; path: string; branch: string; base: string; delivery: 'pull-request' | 'branch' | 'attach'; why?: string }
  | { kind: 'attach'; why: string };

export interface HardenNamespace {
  namespace: string;
  proof: HardenProof;
  /** omitted false: default-deny still selects it (no label to leave it out by), merging cuts it off. */
  flagged: Array<{ workload: string; reason: string; omitted?: boolean }>;
  files: Array<{ path: string; yaml: string }>;
  notes: string[];
  /** The repository's policies the proof kept in (`ns/name`): what the change could not remove. */
  kept?: string[];
  /** Narrowed copies of replaced policies, kept for the workloads not hardened (narrow.ts); the proof counts them. */
  narrowed?: Array<{ key: string; from: string; workloads: string[] }>;
}

export interface HardenProposal {
  kind: 'harden-proposal';
  summary: string;
  namespaces: HardenNamespace[];
  target: HardenTarget;
  /** Learned edges kept (they become `expect: allow` cases) and anomalous flows (`expect: deny`). */
  learned: Array<{ src: string; dst: string; port: number; protocol: string }>;
  anomalies: Array<{ src: string; dst: string; port: number; protocol: string }>;
  /** Anomalies dismissed as expected: not excluded, not proven denied. */
  dismissed: number;
  limits: string[];
  /** Each learned edge and anomalous flow: allowed live now, and in the proven state after the merge (at most 500). */
  connectivity?: ConnectivityRow[];
  connectivityTotal?: number;
}

export interface ConnectivityRow {
  src: string;
  dst: string;
  port: number;
  protocol: string;
  kind: 'learned' | 'anomaly';
  /** Allowed by the live policies now (after the restore). */
  live: boolean;
  /** Allowed with the generated baseline added to the live policies. */
  baseline: boolean;
}

export type HardenDelivery =
  | { kind: 'pull-request'; provider: 'github' | 'gitlab'; url: string; number: number; branch: string; commit: string; base: string; existing?: boolean }
  | { kind: 'branch'; branch: string; commit: string; base: string; compareUrl?: string; note: string }
  | { kind: 'attached'; why: string; error?: { reason: string; message: string } };

export interface HardenDrift {
  /** Namespaces drift monitoring now covers that it did not before. */
  turnedOn: string[];
  /** Namespaces it already covered. */
  alreadyOn: string[];
  /** Why it could not be turned on, when it could not. */
  unavailable?: string;
}
