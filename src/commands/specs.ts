// Every CLI command's description, in one place: `netpol-responder --help`, each command's
// `--help`, its argument parser and the README's CLI reference all read it. Pure data.
import type { CommandSpec } from './spec.js';

export const SERVE = {
  name: 'serve',
  summary: 'run the bot (web, worker, watcher and collector roles)',
  synopsis: ['[--config FILE] [--roles web,worker,watcher,collector] [--port N]'],
  flags: {
    config: { type: 'string', arg: 'FILE', help: 'configuration file (else $NETPOL_CONFIG, else ./netpol-responder.yaml)' },
    roles: { type: 'string', arg: 'LIST', help: 'comma-separated roles to run in this process: web, worker, watcher, collector (overrides the file)' },
    port: { type: 'string', arg: 'N', help: "port of the Slack HTTP receiver (overrides slack.port; 0 picks a free one)" },
  },
  details:
    'Start-up: what retrying cannot fix (the configuration, the kubeconfig, Redis, a token Slack refuses, a port in use) is one line on stderr and exit status 1. While Slack or the Kubernetes API does not answer, it retries with backoff, logs each attempt, and /readyz answers 503 with the reason.\n' +
    'SIGTERM or SIGINT: it stops taking work, lets running jobs finish, hands those still running back to the queue before shutdown.graceMs (default 25 s) runs out, and exits 0. A second signal exits at once (130 or 143).',
} as const satisfies CommandSpec;

export const DEMO = {
  name: 'demo',
  summary: 'run a whole incident on the embedded environment and write the postmortem',
  synopsis: ['[--keep-running] [--out DIR] [--verbose]', "send '/netpol <text>' | --click approve|reject|open|dismiss [--as USER] [--incident ID]"],
  flags: {
    'keep-running': { type: 'boolean', help: 'leave the simulated cluster, Slack stand-in and bot running until Ctrl-C, for kubectl and `demo send`' },
    out: { type: 'string', arg: 'DIR', default: 'postmortem', help: 'where the postmortem files are written' },
    verbose: { type: 'boolean', help: "print the bot's logs" },
  },
  details: "`demo send` (see `netpol-responder demo send --help`) sends your own signed slash commands and button clicks, as a demo user, to the bot of a demo started with --keep-running, and prints the bot's answer.",
} as const satisfies CommandSpec;

/** `netpol-responder demo send`: acts as Slack towards the bot of a running `demo --keep-running`. */
export const DEMO_SEND = {
  name: 'demo send',
  summary: "send a signed slash command or button click to the bot of a running `demo --keep-running` and print its answer",
  synopsis: ["'/netpol <text>' [--as USER] [--wait SECONDS] [--session FILE]", '--click approve|reject|open|dismiss [--incident ID] [--as USER] [--wait SECONDS] [--session FILE]'],
  flags: {
    as: { type: 'string', arg: 'USER', default: 'alice', help: 'who acts: alice (on-call), bob or carol (approvers), mallory (not an approver), or a user id' },
    click: { type: 'string', arg: 'BUTTON', help: 'click instead: approve or reject (newest incident awaiting a decision), open or dismiss (newest anomaly alert)' },
    incident: { type: 'string', arg: 'ID', help: 'with --click approve|reject: the incident whose buttons to click' },
    wait: { type: 'string', arg: 'SECONDS', default: '5', help: "how long to wait for the bot's replies after its acknowledgement (0 to 60)" },
    session: { type: 'string', arg: 'FILE', help: 'the session file the demo printed (default: $NETPOL_DEMO_SESSION, else the per-user one)' },
  },
  details: "Prints the bot's acknowledgement and then what it posts that the user can see: ephemeral replies and new messages in #incidents.",
} as const satisfies CommandSpec;

export const EXPORT = {
  name: 'export',
  summary: "write an incident's postmortem timeline (needs REDIS_URL)",
  synopsis: ['<incident-id> [--format md|json|html] [--out DIR] [--config FILE]'],
  flags: {
    format: { type: 'string', arg: 'FMT', default: 'md', help: 'md (Markdown, with a Mermaid timeline), json, or html (one self-contained page: timeline chart, connectivity graphs, highlighted diffs)' },
    out: { type: 'string', arg: 'DIR', help: 'output directory (default: export.dir of the configuration)' },
    config: { type: 'string', arg: 'FILE', help: 'configuration file, for the key prefix, the playbook and slack.apiUrl' },
  },
  details:
    "Slack user ids become names as in the bot's own export (users.info, with SLACK_BOT_TOKEN and slack.apiUrl). Without a token, or when Slack refuses or does not answer within 4 s, the ids stay and one line on stderr says why. The HTML file loads nothing (no script, font, image or request; a Content-Security-Policy forbids them): open it in any browser, offline.",
} as const satisfies CommandSpec;

export const ANALYZE = {
  name: 'analyze',
  summary: 'list the connections that manifests allow, or explain one',
  synopsis: ['<path...> [--format txt|json|csv|md|dot] [--port N [--protocol TCP|UDP|SCTP]] [--merge-external] [--strict]', '<path...> --explain SRC DST --port N|name [--protocol TCP|UDP|SCTP] [--strict]'],
  flags: {
    format: { type: 'string', arg: 'FMT', default: 'txt', help: 'txt, json, csv, md or dot (json with --explain: the decision as data)' },
    explain: { type: 'boolean', help: 'explain the decision for one connection SRC → DST (the last two arguments)' },
    port: { type: 'string', arg: 'N', help: 'only this port (with --explain: a number or a named port)' },
    protocol: { type: 'string', arg: 'PROTO', default: 'TCP', help: 'TCP, UDP or SCTP: the protocol of --port' },
    'merge-external': { type: 'boolean', help: 'join adjacent external address blocks that have the same connections' },
    strict: { type: 'boolean', help: 'refuse (exit 1) files of directories that hold no Kubernetes object instead of skipping them' },
  },
  details: [
    'PATH: a manifest file, a directory (its *.yaml, *.yml and *.json files, recursively, in name order) or "-" for standard input (YAML documents or JSON); give as many as you like. A file of a directory with no document that has a kind (Chart.yaml, values.yaml, package.json...) is skipped with a warning; --strict refuses it.',
    'Kinds: Namespace, Pod, NetworkPolicy, AdminNetworkPolicy and BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1), CiliumNetworkPolicy (cilium.io/v2, a subset), Node, and workloads through their pod template.',
    'SRC/DST: namespace/name (pod or workload), namespace/name[Kind], or an IP address.',
    'Exit status: 0 after a run, 1 when a path cannot be read or a manifest is invalid, 2 on bad usage or an unknown SRC/DST.',
  ].join('\n'),
} as const satisfies CommandSpec;

export const DIFF = {
  name: 'diff',
  summary: 'the connections a change opens and closes',
  synopsis: ['<before-path...> -- <after-path...> [--format txt|json] [--strict]'],
  flags: {
    format: { type: 'string', arg: 'FMT', default: 'txt', help: 'txt or json' },
    strict: { type: 'boolean', help: 'refuse (exit 1) files of directories that hold no Kubernetes object instead of skipping them' },
  },
  details: [
    'Each side is one or more paths as analyze takes them (files, directories, "-" for standard input on one side). Options may come anywhere, before or after "--".',
    'Exit status: 0 after a run (with or without changes), 1 when a path cannot be read or a manifest is invalid, 2 on bad usage.',
  ].join('\n'),
} as const satisfies CommandSpec;

export const LINT = {
  name: 'lint',
  summary: 'check NetworkPolicies; exits non-zero on errors (for CI)',
  synopsis: ['<path...> [--format txt|json|sarif] [--config FILE] [--strict]'],
  flags: {
    format: { type: 'string', arg: 'FMT', default: 'txt', help: 'txt, json, or sarif (SARIF 2.1.0 for GitHub code scanning)' },
    config: { type: 'string', arg: 'FILE', help: 'YAML with suppressions: ignore: [{rule, namespace?, policy?, reason}], ignoreNamespaces: [...]' },
    strict: { type: 'boolean', help: 'a file of a directory that holds no Kubernetes object is an NP000 error instead of an NP009 warning' },
  },
  details: [
    'Paths are files or directories (searched for *.yaml, *.yml, *.json); "-" reads standard input. An invalid manifest is an NP000 finding and the rest is still checked.',
    'Suppress a finding on one policy with the annotation `netpol-responder.io/lint-ignore: "NP011: DNS blocked on purpose"` (several: one per line or separated by ";"), or with an ignore entry of --config. Suppressed findings are listed with their reason and do not fail the run.',
    'Exit status: 1 when an error finding is not suppressed, 2 on usage or --config errors, else 0. Rules: docs/policy-engine.md.',
  ].join('\n'),
} as const satisfies CommandSpec;

export const TEST = {
  name: 'test',
  summary: 'run network test cases (netpol-tests.yaml) against manifests; exits 1 when one fails (for CI)',
  synopsis: ['<path...> --cases FILE [--format txt|json|junit] [--strict]'],
  flags: {
    cases: { type: 'string', arg: 'FILE', help: 'the test cases: cases: [{name?, from, to, port, protocol?, expect: allow|deny}]' },
    format: { type: 'string', arg: 'FMT', default: 'txt', help: 'txt, json, or junit (JUnit XML for CI test reports)' },
    strict: { type: 'boolean', help: 'refuse files of directories that hold no Kubernetes object instead of skipping them' },
  },
  details: [
    'PATH: the manifests as analyze takes them (files, directories, "-" for standard input). Each case is decided by the same engine as `analyze --explain`; a failure prints that explanation.',
    'from/to: namespace/workload (as analyze names it, without [Kind]), namespace/workload[Kind], namespace/pod, or an IP address or CIDR outside the cluster. A CIDR passes `expect: allow` only when every address in it is allowed and `expect: deny` only when none is; a workload whose pods differ in labels is judged the same way over its pods. port: a number or a port name of the destination pod. The file format: README, "Network tests (netpol-tests.yaml)".',
    'Exit status: 0 when every case passes, 1 when a case fails or cannot be evaluated (an unknown workload), 2 on bad usage, a bad cases file, or manifests that cannot be read or are invalid.',
  ].join('\n'),
} as const satisfies CommandSpec;

export const REPLAY = {
  name: 'replay',
  summary: 'run captured Hubble flows through the anomaly detectors, offline',
  synopsis: ['<capture...> [--learn CAPTURE]... [--format txt|json] [--config FILE] [--learning-minutes N] [--cooldown-minutes N]'],
  flags: {
    learn: { type: 'string', arg: 'CAPTURE', multiple: true, help: 'learn the baseline from this capture of normal traffic first (its anomalies are discarded)' },
    format: { type: 'string', arg: 'FMT', default: 'txt', help: 'txt or json' },
    config: { type: 'string', arg: 'FILE', help: 'take thresholds, baseline bounds, learning period and cooldown from its `collector` section' },
    'learning-minutes': { type: 'string', arg: 'N', help: 'without --learn, learn from the first N minutes of the capture (default: 60; overrides --config)' },
    'cooldown-minutes': { type: 'string', arg: 'N', help: 'repeats of one event closer than this are one anomaly (default: 15; overrides --config)' },
  },
  details: [
    "CAPTURE: `hubble observe -o json` output (one JSON record per line) or the Hubble flow exporter's file; a directory stands for its *.json, *.jsonl and *.log files in name order (the exporter's rotated files sort before the current one); \"-\" reads standard input. Several captures are read in the order given, as one stream.",
    "Time is the capture's own: no record is skipped for its time. Captures from different days, concatenated in any order, are all replayed; a flow more than 6 h after the latest one or more than 10 min before it starts a new stretch (rate buckets start afresh, what was learned is kept), and the jumps are reported. Records skipped (damaged, oversized, missing fields, unknown verdict…) are counted per reason, each with its first example: line number and the record's beginning.",
    'Exit status: 0 after a run, 1 when a capture cannot be read or holds no flow at all, 2 on bad usage.',
  ].join('\n'),
} as const satisfies CommandSpec;

export const TRACE = {
  name: 'trace',
  summary: 'who changed NetworkPolicies and namespace labels, with which tool, from kube-apiserver audit logs (offline)',
  synopsis: ['--audit-log FILE... [--namespace NS] [--since TIME] [--until TIME] [--repo DIR [--branch NAME] [--paths DIR]...] [--format txt|json]'],
  flags: {
    'audit-log': { type: 'string', arg: 'FILE', multiple: true, help: 'an audit log (plain or gzipped), a directory of them, or "-" for standard input; more may follow as arguments' },
    namespace: { type: 'string', arg: 'NS', help: 'only changes in this namespace, to the Namespace itself, and to cluster-scoped policies' },
    since: { type: 'string', arg: 'TIME', help: 'only changes at or after TIME: ISO-8601, or that long ago (30m, 2h, 7d)' },
    until: { type: 'string', arg: 'TIME', help: 'only changes at or before TIME (same forms)' },
    repo: { type: 'string', arg: 'DIR', help: 'a clone of the policy repository: say for each change whether GitOps applied a commit, someone applied one by hand, or nobody committed it' },
    branch: { type: 'string', arg: 'NAME', help: 'with --repo: the branch to read (default: the one checked out)' },
    paths: { type: 'string', arg: 'DIR', multiple: true, help: 'with --repo: a directory of the repository holding the manifests (default: all of it)' },
    format: { type: 'string', arg: 'FMT', default: 'txt', help: 'txt or json' },
  },
  details: [
    "FILE: kube-apiserver's audit log (--audit-log-path, JSON lines), its rotated files (audit-2026-11-30T10-00-00.000.log, .log.gz with --audit-log-compress), or a directory of them (read in name order). Several inputs are read as one: each change is shown once, whichever files hold it.",
    'Shown: every create, update, patch or delete of a NetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy, CiliumNetworkPolicy or Namespace (a Namespace patch that leaves its labels alone is not), with its time, who made it (`admin@corp as dave@corp` when impersonated), the tool (from the User-Agent), the verb and the object; attempts refused with 401/403 apart. Reads, dry runs and failed requests are not changes. Damaged lines are counted per reason with the first of each.',
    'With --repo, only commits count: uncommitted edits in the clone are not read.',
    'Exit status: 0 after a run, 1 when an input cannot be read, holds no audit event at all, or --repo cannot be used, 2 on bad usage.',
  ].join('\n'),
} as const satisfies CommandSpec;

export const AUDIT_REPORT = {
  name: 'audit',
  summary: 'post-incident hardening audit of NetworkPolicies (manifests or --live): open namespaces and pods, broad rules, per-namespace score',
  synopsis: [
    '<path...> [--format md|json|sarif] [--matched FILE | --flows [--redis URL]] [--unused-days N]',
    '--live [--kubeconfig FILE] [--request-timeout SECONDS] [--format FMT] [--matched FILE | --flows [--redis URL]]',
  ],
  flags: {
    format: { type: 'string', arg: 'FMT', default: 'md', help: 'md (Markdown), json, or sarif (SARIF 2.1.0 for GitHub code scanning)' },
    live: { type: 'boolean', help: 'audit the cluster of the kubeconfig instead of files, reading it as the scheduled audit does' },
    kubeconfig: { type: 'string', arg: 'FILE', help: "with --live: the kubeconfig, at its current context (default: $KUBECONFIG, else the pod's service account, else ~/.kube/config)" },
    'request-timeout': { type: 'string', arg: 'SECONDS', default: '10', help: 'with --live: how long one API request may take before the cluster counts as unreachable (1 to 300)' },
    matched: { type: 'string', arg: 'FILE', help: 'JSON object "namespace/policy": last time a flow matched it (ISO 8601), from the flow collector; enables the unused-policy check' },
    flows: { type: 'boolean', help: "judge unused policies on the flow collector's learned flows (its snapshot in Redis) instead of --matched" },
    redis: { type: 'string', arg: 'URL', help: "with --flows: the bot's Redis, redis:// or rediss:// (default: $REDIS_URL)" },
    'redis-prefix': { type: 'string', arg: 'PREFIX', default: 'netpol', help: "with --flows: the bot's key prefix (redis.keyPrefix of its configuration)" },
    'unused-days': { type: 'string', arg: 'N', default: '30', help: 'with --matched or --flows: a policy no flow matched in N days is reported' },
  },
  details: [
    'Paths are files or directories (searched for *.yaml, *.yml, *.json); "-" reads standard input. --live reads the cluster instead: give paths or --live, not both.',
    '--live lists namespaces, pods and networkpolicies, and adminnetworkpolicies, baselineadminnetworkpolicies, ciliumnetworkpolicies and ciliumclusterwidenetworkpolicies where the cluster serves them: the kubeconfig\'s user needs "list" on each, cluster-wide. An object the engine cannot read is an audit/invalid-input finding. In SARIF a live object is located at Kind/namespace/name relative to the uriBaseId KUBERNETES (kubernetes://<API server host>/).',
    '--flows reads the baseline snapshot the flow collector keeps in Redis; without one the unused-policy check is reported as not run, with the reason, and the run still exits 0.',
    'Checks (SARIF rule ids): audit/no-default-deny, audit/unselected-pods, audit/allows-any-address, audit/allows-all-ports, audit/allows-all-namespaces, audit/selects-no-pod, audit/unused-policy (only with --matched or --flows), audit/admin-override (ANP/BANP).',
    'Exit status: 0 after a run, 1 when a path cannot be read, a manifest is invalid, or the cluster or Redis cannot be read (no kubeconfig, API unreachable, access forbidden), 2 on bad usage or a bad --matched file.',
  ].join('\n'),
} as const satisfies CommandSpec;

/** In the order `netpol-responder --help` and the README list them. */
export const COMMAND_SPECS: readonly CommandSpec[] = [SERVE, DEMO, EXPORT, ANALYZE, DIFF, LINT, TEST, REPLAY, TRACE, AUDIT_REPORT];
