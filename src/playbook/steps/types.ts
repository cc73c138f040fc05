// The contract between the generic step runner and the handlers that do a step's work.
import type { ContainmentSettings } from '../../containment/execute.js';
import type { ContainmentLedger } from '../../containment/ledger.js';
import type { TrafficCheck } from '../../containment/traffic.js';
import type { AuditStore } from '../../audit/store.js';
import type { PolicyRepositories } from '../../git/index.js';
import type { IgnoreRuleConfig } from '../../drift/config-schema.js';
import type { ChangeJournal } from '../../journal/index.js';
import type { ContainmentState, Incident } from '../../incident/model.js';
import type { KubeGateway } from '../../kube/index.js';
import type { Logger } from '../../log.js';
import type { TimelineEvent } from '../../timeline/types.js';
import type { ProposeChanges } from '../../git/change-proposal.js';
import type { WorkloadHistory } from '../../harden/generate.js';
import type { LiveClusterView } from '../../restore/cluster-view.js';
import type { RestoreStore } from '../../restore/plan-store.js';
import type { RestoreMode } from '../../restore/run-model.js';
import type { Playbook, PlaybookStep } from '../schema.js';

/** What a step handler needs from the cluster: the kube adapter (src/kube). */
export type ClusterAccess = KubeGateway;

export interface PodLike {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  status?: { phase?: string; podIP?: string };
}

export interface PolicyLike {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string; uid?: string };
  spec?: { podSelector?: object; policyTypes?: string[]; ingress?: unknown[]; egress?: unknown[] };
}

/** A connection the flow collector learned as normal: `ns/workload` to `ns/workload` or an address. */
export type { LearnedEdge } from '../../nettest/matrix.js';
import type { LearnedEdge } from '../../nettest/matrix.js';

/** An anomaly as step evidence: enough to show and to put in the postmortem. */
export interface AnomalySummary {
  id: string;
  kind: string;
  severity: string;
  title: string;
  baseline: string;
  sampleFlows: string[];
  /** The sample flows as the policy engine can query them (pods and addresses), when they are known. */
  probes?: Array<{ src: string; dst: string; port: number; protocol: 'TCP' | 'UDP' | 'SCTP'; at: number }>;
  /** Epoch ms of the anomaly's first flow or alert (the flow source's clock). */
  firstSeen?: number;
  /** ISO time the bot raised it (this bot's clock, like the journal's and the audit log's). */
  raisedAt?: string;
  /** An approver dismissed it as expected: its traffic is normal, not something to deny. */
  dismissed?: boolean;
}

/** The drift monitor's coverage, as the hardening step turns it on for the namespaces it hardened. */
export interface DriftWatch {
  /** Why drift cannot be watched at all (no policy repository, no watcher), or undefined. */
  unavailable(): string | undefined;
  /** Adds the namespaces to the watched set; says which were covered before (config or earlier adds). */
  watch(namespaces: string[]): Promise<{ turnedOn: string[]; alreadyOn: string[] }>;
}

/** The anomalies an incident was opened from, plus recent ones in its namespace. */
export interface AnomalyLookup {
  forIncident(incident: Incident): Promise<AnomalySummary[]>;
}

export type StepSettings = ContainmentSettings;

export interface StepContext {
  incident: Incident;
  step: PlaybookStep;
  playbook: Playbook;
  cluster: ClusterAccess;
  anomalies?: AnomalyLookup;
  settings: StepSettings;
  /** Where containment records what it changes (absent: steps that change nothing). */
  ledger?: ContainmentLedger;
  /** Watches the scope's flows through the flow collector (absent: no traffic verification). */
  traffic?: TrafficCheck;
  /** The watcher's record of every policy change (before and after). */
  journal?: ChangeJournal;
  /** Kubernetes audit evidence: who made each change, with which tool. */
  audit?: AuditStore;
  /** The policy repositories (desired state in Git). */
  git?: PolicyRepositories;
  /** Objects the drift comparison never looks at (config drift.ignore). */
  driftIgnore?: readonly IgnoreRuleConfig[];
  /** The flow collector's learned edges touching these namespaces (what the apps need). */
  learnedEdges?: (namespaces: string[]) => Promise<{ edges: LearnedEdge[]; unavailable?: string; history?: WorkloadHistory[] }>;
  /** Pushes a branch and opens a pull/merge request on the policy repository (absent: files are attached instead). */
  proposeChanges?: ProposeChanges;
  /** Drift monitoring's namespaces: which it covers, and adding more (absent: no drift monitor). */
  driftWatch?: DriftWatch;
  /** Namespaces no step may change: the playbook's protectedNamespaces plus kube.botNamespace. */
  protectedNamespaces?: ReadonlySet<string>;
  /** A Slack permalink of a message (the incident's, for the hardening pull request). */
  permalink?: (channel: string, ts: string) => Promise<string | undefined>;
  /** Restore plans and step records (step 4). */
  restore?: RestoreStore;
  /**
   * The cluster as watches keep it (a few ms behind): a proposal reads it whole; a change and its
   * proof read only other namespaces' pods and policies from it, the far ends of the scope's
   * connections, and the scope's namespace and the cluster-scoped objects fresh
   * (readScopeLive). Absent: everything lists.
   */
  clusterView?: Pick<LiveClusterView, 'workloads' | 'policies'>;
  logger: Logger;
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export interface StepOutcome {
  result: Record<string, unknown> & { summary: string };
  events: TimelineEvent[];
  /** Containment the step put in force: it outlives the step, until lifted. */
  containment?: ContainmentState;
  /** Files to attach to the incident thread (e.g. a long report). */
  files?: Array<{ filename: string; content: string; comment: string }>;
  /**
   * The step goes on in the background (restore): it stays running, and the restore runner
   * completes it once every step, the lift and the watch window are through.
   */
  continues?: { planId: string; source: string; mode: RestoreMode; total: number; approvedBy: string[]; liftAt?: number };
}

export interface StepHandler {
  action: string;
  validateParams(params: unknown): { path: (string | number)[]; message: string }[];
  /**
   * Gathers evidence and builds the exact change to approve. Must not change the cluster. An
   * `events` array in the evidence is posted to the thread with the proposal (and not kept in it).
   */
  prepare(ctx: StepContext): Promise<Record<string, unknown> & { summary: string }>;
  /** Performs the approved change. Must be safe to run again after an interrupted run. */
  execute(ctx: StepContext): Promise<StepOutcome>;
}

/** A failure to report on the timeline as it is (e.g. the API's own "forbidden" message). */
export class StepFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StepFailed';
  }
}
