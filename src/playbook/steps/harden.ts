// Step "harden" (Post-Incident Hardening): after the restore, a baseline of NetworkPolicies for the
// namespaces the incident touched — default-deny plus exactly the traffic the flow collector
// learned, minus the incident's anomalous flows — proven by the engine before anyone approves it.
// prepare() generates and proves (changes nothing); execute() builds the pull request's files
// (policies, network tests, CI job), hands them to the change proposer (a pull/merge request, or a
// branch) or attaches them to the thread, and turns drift monitoring on for those namespaces.
import { readLiveObjects, servedKinds } from '../../containment/snapshot.js';
import { ChangeProposalError, type ChangeProposalOutcome } from '../../git/change-proposal.js';
import { resolvePullRequests } from '../../git/config-schema.js';
import { readRepositoryFile } from '../../git/read-file.js';
import { parseRemoteUrl, providerOf } from '../../git/url.js';
import type { PolicyRepository } from '../../git/repository.js';
import { editable, supersede, type DeclaredPolicy } from '../../harden/supersede.js';
import { connectivityRows, toWorkloads, type Connection } from '../../harden/connectivity.js';
import { generateBaseline, HardenInputError, type GeneratedBaseline } from '../../harden/generate.js';
import { buildPrFiles, GITLAB_CI, policyDir, type CiProvider } from '../../harden/pr-files.js';
import { proveBaseline, stateAfterMerge } from '../../harden/prove.js';
import { hardenParams, hardenParamsSchema, proofFigures, type HardenDelivery, type HardenDrift, type HardenNamespace, type HardenProposal, type HardenTarget } from '../../harden/step-model.js';
import { closingFacts } from '../../incident/closing-summary.js';
import type { LiveObjects } from '../../policy/index.js';
import { botActor, type TimelineEvent } from '../../timeline/types.js';
import { plural } from '../../words.js';
import { toolVersion } from '../../commands/lint.js';
import { causeOf, restoreNamespaces, restoreParams } from './restore.js';
import { StepFailed, type StepContext, type StepHandler } from './types.js';

/** The evidence keeps the files the approver approved; a baseline this large is refused. */
const MAX_EVIDENCE_BYTES = 4 * 1024 * 1024;
/** Attached one by one up to this many; more go in one bundle. */
const MAX_ATTACHED_FILES = 12;

/** The incident's namespace, the cause's, the restore's extra ones and the step's own; never a protected one, nor the bot's own. */
export function hardenNamespaces(ctx: Pick<StepContext, 'incident' | 'playbook' | 'protectedNamespaces'>, extra: readonly string[]): { namespaces: string[]; skipped: string[] } {
  const restore = ctx.playbook.steps.find((s) => s.action === 'restore');
  const restoreExtra = restore ? restoreParams(restore.params).namespaces.filter((n) => !n.includes('*')) : [];
  const all = restoreNamespaces(ctx.incident, causeOf(ctx.incident), [...restoreExtra, ...extra]);
  // ctx.protectedNamespaces adds kube.botNamespace: hardening it could cut the bot off.
  const guarded = new Set([...ctx.playbook.parameters.protectedNamespaces, ...(ctx.protectedNamespaces ?? [])]);
  return { namespaces: all.filter((n) => !guarded.has(n)), skipped: all.filter((n) => guarded.has(n)) };
}

function repositoryConfig(repo: PolicyRepository): { name: string; branch: string; path: string; provider: CiProvider; pullRequests: boolean; base: string } {
  const { config } = repo;
  const settings = resolvePullRequests(config);
  const resolved = settings && !('error' in settings) ? settings : undefined;
  const parsed = parseRemoteUrl(config.url);
  const provider = resolved?.provider ?? ('error' in parsed ? undefined : providerOf(parsed, config.provider));
  return {
    name: config.name,
    branch: config.branch,
    path: config.paths[0] ?? '',
    provider: provider === 'github' || provider === 'gitlab' ? provider : 'unknown',
    pullRequests: config.pullRequests !== undefined,
    base: resolved?.baseBranch ?? config.branch,
  };
}

function targetOf(ctx: StepContext, namespace: string): HardenTarget {
  const repo = ctx.git?.list[0];
  if (!repo) return { kind: 'attach', why: 'no policy repository is configured (git.repositories)' };
  const r = repositoryConfig(repo);
  const branch = `netpol-responder/harden-${namespace}-${ctx.incident.id}`;
  const common = { kind: 'repository' as const, repository: r.name, path: r.path, branch, base: r.base };
  if (!ctx.proposeChanges) return { ...common, delivery: 'attach', why: 'this bot has no Git delivery configured' };
  return r.pullRequests ? { ...common, delivery: 'pull-request' } : { ...common, delivery: 'branch', why: 'no Git host API is configured (pullRequests): the branch is pushed, no request opened' };
}

function proposalOf(ctx: StepContext): HardenProposal {
  const evidence = ctx.incident.steps[ctx.step.id]?.evidence as HardenProposal | undefined;
  if (evidence?.kind !== 'harden-proposal') throw new StepFailed('the hardening step has no proposal to run: its evidence is missing');
  return evidence;
}

function summaryOf(namespaces: HardenNamespace[]): string {
  return namespaces
    .map((n) => {
      const p = n.proof;
      const flagged = n.flagged.length > 0 ? `, ${plural(n.flagged.length, 'workload')} flagged for too little history` : '';
      return `Baseline for ${n.namespace}: ${plural(n.files.length, 'file')}; learned edges allowed ${p.coverage.allowed}/${p.coverage.learned}; ${p.unobserved.pairs} pair(s) allowed unobserved; anomalous flows denied ${p.anomalies.denied}/${p.anomalies.total}; lint ${p.lint.errors} error(s), ${p.lint.warnings} warning(s)${flagged}`;
    })
    .join('. ');
}

function touches(c: Connection, namespaces: ReadonlySet<string>): boolean {
  return [c.src, c.dst].some((side) => side.includes('/') && namespaces.has(side.slice(0, side.indexOf('/'))));
}

function deliveryText(d: HardenDelivery): string {
  if (d.kind === 'pull-request') return `${d.existing ? 'The pull request was already open' : 'Pull request opened'}: ${d.url} (branch \`${d.branch}\` → \`${d.base}\`)`;
  if (d.kind === 'branch') return `Branch \`${d.branch}\` pushed (${d.commit.slice(0, 12)}, off \`${d.base}\`)${d.compareUrl ? `: ${d.compareUrl}` : ''}. ${d.note}`;
  return d.error ? `Could not deliver the files (${d.error.message}); they are attached to this thread instead.` : `The files are attached to this thread (${d.why}).`;
}

function driftText(d: HardenDrift): string {
  if (d.unavailable) return `Drift monitoring could not be turned on: ${d.unavailable}.`;
  const parts = [...(d.turnedOn.length > 0 ? [`turned on for ${d.turnedOn.map((n) => `\`${n}\``).join(', ')}`] : []), ...(d.alreadyOn.length > 0 ? [`was already on for ${d.alreadyOn.map((n) => `\`${n}\``).join(', ')}`] : [])];
  return `Drift monitoring ${parts.join('; ')}: a change that departs from Git there raises a drift alert.`;
}

/** The files as thread attachments: each on its own, or one bundle when there are many. */
function attachments(files: Array<{ path: string; content: string }>, incidentId: string): NonNullable<Awaited<ReturnType<StepHandler['execute']>>['files']> {
  if (files.length <= MAX_ATTACHED_FILES) return files.map((f) => ({ filename: f.path.replace(/\//g, '__'), content: f.content, comment: `Hardening file ${f.path}` }));
  const bundle = files.map((f) => `# ===== ${f.path} =====\n${f.content}`).join('\n');
  return [{ filename: `hardening-${incidentId}.txt`, content: bundle, comment: `The ${files.length} hardening files, each under its path` }];
}

/** The repository's NetworkPolicies in the hardened namespaces (the baseline replaces them), and the text of their plain files. */
async function declaredPolicies(ctx: StepContext, repository: string, namespaces: ReadonlySet<string>): Promise<{ declared: DeclaredPolicy[]; texts: Record<string, string> }> {
  const repo = ctx.git?.get(repository);
  if (!ctx.git || !repo) return { declared: [], texts: {} };
  const { objects } = await ctx.git.desiredState();
  const mine = objects.filter((o) => o.source.repository === repository && o.kind === 'NetworkPolicy' && o.namespace !== undefined && namespaces.has(o.namespace));
  const declared = mine.map((o) => ({ namespace: o.namespace as string, name: o.name, path: o.source.path, spec: o.object.spec, via: o.source.via, object: o.object }));
  const texts: Record<string, string> = {};
  // Only plain files are edited; one that cannot be read keeps its policies (and the proof counts them).
  for (const path of new Set(declared.filter(editable).map((d) => d.path))) {
    const text = await existingFile(repo, path);
    if (text !== undefined) texts[path] = text;
  }
  return { declared, texts };
}

/** The kustomization files of the policy directory and of every directory up to it from the given files. */
async function kustomizationTexts(repo: PolicyRepository | undefined, files: readonly string[]): Promise<Record<string, string>> {
  const dirs = new Set<string>(['']);
  for (const f of files) {
    const parts = f.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(`${parts.slice(0, i).join('/')}/`);
  }
  const out: Record<string, string> = {};
  for (const dir of dirs) {
    for (const name of ['kustomization.yaml', 'kustomization.yml', 'Kustomization']) {
      const text = await existingFile(repo, `${dir}${name}`);
      if (text !== undefined) {
        out[`${dir}${name}`] = text;
        break;
      }
    }
  }
  return out;
}

async function existingFile(repo: PolicyRepository | undefined, path: string): Promise<string | undefined> {
  if (!repo) return undefined;
  const file = await readRepositoryFile(repo, path);
  return file.found ? file.text : undefined;
}

export const hardenStep: StepHandler = {
  action: 'harden',

  validateParams(raw) {
    const parsed = hardenParamsSchema.safeParse(raw ?? {});
    return parsed.success ? [] : parsed.error.issues.map((i) => ({ path: i.path as (string | number)[], message: i.message }));
  },

  async prepare(ctx) {
    const p = hardenParams(ctx.step.params);
    const { namespaces, skipped } = hardenNamespaces(ctx, p.namespaces);
    const limits: string[] = skipped.length > 0 ? [`Protected namespaces are never hardened here: ${skipped.join(', ')}.`] : [];
    if (namespaces.length === 0) throw new StepFailed('no namespace to harden: the incident only touched protected namespaces');
    const live: LiveObjects = await readLiveObjects(ctx.cluster, servedKinds(await ctx.cluster.discoverKinds()));
    const learned = ctx.learnedEdges ? await ctx.learnedEdges(namespaces).catch((error: unknown) => ({ edges: [], unavailable: `could not be read: ${(error as Error).message}`, history: undefined })) : { edges: [], unavailable: 'no flow collector is configured', history: undefined };
    // Without learned traffic every workload is flagged (no history) rather than silently denied.
    const history = learned.unavailable ? [] : (learned.history ?? []);
    if (learned.unavailable) limits.push(`No learned traffic (${learned.unavailable}): no allow rules can be generated, only default-deny and DNS.`);
    const all = (await ctx.anomalies?.forIncident(ctx.incident)) ?? [];
    const active = all.filter((a) => !a.dismissed);
    const anomalies = toWorkloads(live, active.flatMap((a) => a.probes ?? []));

    const target = targetOf(ctx, namespaces[0] as string);
    const { declared, texts } = target.kind === 'repository' ? await declaredPolicies(ctx, target.repository, new Set(namespaces)) : { declared: [], texts: {} };
    let merged: LiveObjects = live;
    const generated: GeneratedBaseline[] = [];
    const plans: Array<ReturnType<typeof supersede>> = [];
    const out: HardenNamespace[] = [];
    try {
      for (const namespace of namespaces) {
        const baseline = generateBaseline({ namespace, live, edges: learned.edges, exclude: anomalies, history, options: { minHistoryMs: p.minHistory, v4Prefix: p.v4Prefix, v6Prefix: p.v6Prefix } });
        const plan = supersede({
          files: baseline.files.map((f) => ({ path: `${policyDir(target.kind === 'repository' ? target.path : '')}${f.path}`, content: f.yaml })),
          declared,
          texts,
          live,
          flagged: new Set(baseline.flagged.map((f) => f.workload)),
          namespaces: [namespace],
        });
        for (const k of plan.kept) limits.push(`${k.key} (${k.path}) stays after the merge: ${k.why}; the proof counts it in.`);
        if (plan.liveOnly.length > 0) limits.push(`In ${namespace} but not in the repository: ${plan.liveOnly.join(', ')}; the proof assumes they are gone.`);
        generated.push(baseline);
        plans.push(plan);
      }
      // The proof is of the state after the merge, every hardened namespace at once (an edge between
      // two of them needs both sides' rules): what the change cannot remove stays in, and narrowed
      // copies keep the rules of replaced policies for the workloads left out.
      const merges = generated.map((baseline, i) => {
        const plan = plans[i] as ReturnType<typeof supersede>;
        return { namespace: baseline.namespace, generated: baseline.policies, keep: [...plan.kept.map((k) => k.object), ...plan.narrowed.map((c) => c.object)] };
      });
      merged = stateAfterMerge(live, merges);
      generated.forEach((baseline, i) => {
        const plan = plans[i] as ReturnType<typeof supersede>;
        const namespace = baseline.namespace;
        const proof = proveBaseline({ live: merged as LiveObjects, baseline, keep: plan.kept.map((k) => k.object), narrowed: plan.narrowed.map((c) => c.object), anomalies: anomalies.filter((a) => touches(a, new Set([namespace]))) });
        out.push({ namespace, proof: proofFigures(proof), flagged: baseline.flagged, files: baseline.files.map((f) => ({ path: f.path, yaml: f.yaml })), notes: baseline.notes.slice(0, 10), kept: plan.kept.map((k) => k.key), narrowed: plan.narrowed.map((c) => ({ key: c.key, from: c.from, workloads: c.workloads })) });
      });
    } catch (error) {
      if (error instanceof HardenInputError) throw new StepFailed(`the baseline cannot be generated: ${error.message}`);
      throw error;
    }
    const bytes = out.reduce((n, ns) => n + ns.files.reduce((m, f) => m + f.yaml.length, 0), 0);
    if (bytes > MAX_EVIDENCE_BYTES) throw new StepFailed(`the baseline is ${(bytes / 1024 / 1024).toFixed(1)} MiB of YAML, more than the ${MAX_EVIDENCE_BYTES / 1024 / 1024} MiB a proposal may hold: harden fewer namespaces (params.namespaces)`);
    const kept = new Map<string, Connection>();
    for (const b of generated) for (const e of b.kept) kept.set(`${e.src}\u0000${e.dst}\u0000${e.protocol}\u0000${e.port}`, e);
    const proposal: HardenProposal = {
      kind: 'harden-proposal',
      summary: summaryOf(out),
      namespaces: out,
      target,
      learned: [...kept.values()],
      anomalies: anomalies.filter((a) => touches(a, new Set(namespaces))),
      dismissed: all.length - active.length,
      limits,
    };
    const learnedRows = [...kept.values()];
    const connectivity = connectivityRows(live, merged, learnedRows, proposal.anomalies);
    return { ...proposal, connectivity: connectivity.rows, connectivityTotal: connectivity.total };
  },

  async execute(ctx) {
    const proposal = proposalOf(ctx);
    const p = hardenParams(ctx.step.params);
    const target = proposal.target;
    const repo = target.kind === 'repository' ? ctx.git?.get(target.repository) : undefined;
    if (repo) await repo.sync();
    const r = repo ? repositoryConfig(repo) : undefined;
    const live = await readLiveObjects(ctx.cluster, servedKinds(await ctx.cluster.discoverKinds()));
    const facts = closingFacts(ctx.incident);
    const declared = target.kind === 'repository' ? await declaredPolicies(ctx, target.repository, new Set(proposal.namespaces.map((n) => n.namespace))) : { declared: [], texts: {} };
    const permalink = ctx.permalink && ctx.incident.messageTs ? await ctx.permalink(ctx.incident.channel, ctx.incident.messageTs).catch(() => undefined) : undefined;
    const pr = buildPrFiles({
      incident: { id: ctx.incident.id, scope: `${ctx.incident.scope.namespace}${ctx.incident.scope.selector ? ` (${ctx.incident.scope.selector})` : ''}`, ...(ctx.incident.reason ? { reason: ctx.incident.reason } : {}), ...(permalink ? { permalink } : {}) },
      provider: r?.provider ?? 'unknown',
      policyPath: target.kind === 'repository' ? target.path : '',
      namespaces: proposal.namespaces,
      tests: { path: p.testsFile, ...(await existingFile(repo, p.testsFile).then((text) => (text !== undefined ? { existing: text } : {}))) },
      learned: proposal.learned,
      anomalies: proposal.anomalies,
      live: { namespaces: live.namespaces ?? [], pods: live.pods ?? [], networkPolicies: live.networkPolicies ?? [] },
      gitlabCiExists: r?.provider === 'gitlab' && (await existingFile(repo, GITLAB_CI)) !== undefined,
      toolVersion: toolVersion(),
      story: { contained: facts.contain, cause: facts.cause, restore: facts.restore },
      target,
      declared: declared.declared,
      declaredTexts: declared.texts,
      kustomizations: await kustomizationTexts(repo, [...declared.declared.map((d) => d.path), ...proposal.namespaces.flatMap((n) => n.files.map((f) => `${policyDir(target.kind === 'repository' ? target.path : '')}${f.path}`))]),
      now: ctx.now().toISOString(),
    });

    let delivery: HardenDelivery;
    if (target.kind === 'repository' && target.delivery !== 'attach' && ctx.proposeChanges) {
      try {
        // Same branch on a re-run: the proposer finds the request already open instead of opening another.
        const outcome: ChangeProposalOutcome = await ctx.proposeChanges({ repository: target.repository, branch: target.branch, title: pr.title, body: pr.body, files: pr.files, ...(pr.deletions.length > 0 ? { deletions: pr.deletions } : {}) });
        delivery = outcome;
      } catch (error) {
        // The baseline was approved and proven; a refused push should not fail a resolved incident:
        // the files go to the thread with the reason, for a person to push.
        if (!(error instanceof ChangeProposalError)) throw error;
        ctx.logger.warn({ err: error, reason: error.reason }, 'delivering the hardening files failed; attaching them');
        delivery = { kind: 'attached', why: 'the delivery to the repository failed', error: { reason: error.reason, message: error.message } };
      }
    } else {
      delivery = { kind: 'attached', why: target.kind === 'attach' ? target.why : (target.why ?? 'no Git delivery configured') };
    }

    const namespaces = proposal.namespaces.map((n) => n.namespace);
    let drift: HardenDrift;
    const unavailable = ctx.driftWatch ? ctx.driftWatch.unavailable() : 'no drift monitor runs without a policy repository (git.repositories)';
    if (!p.watchDrift) drift = { turnedOn: [], alreadyOn: [], unavailable: 'the playbook turned it off for this step (params.watchDrift: false)' };
    else if (unavailable || !ctx.driftWatch) drift = { turnedOn: [], alreadyOn: [], unavailable: unavailable ?? 'no drift monitor' };
    else drift = { ...(await ctx.driftWatch.watch(namespaces)) };

    const at = ctx.now().toISOString();
    const events: TimelineEvent[] = [
      { at, type: 'harden.delivered', actor: botActor, step: ctx.step.id, summary: `*Hardening:* ${deliveryText(delivery)}\nFiles: ${pr.files.map((f) => `\`${f.path}\``).join(', ')}${pr.deletions.length > 0 ? `\nDeleted (replaced by the baseline): ${pr.deletions.map((f) => `\`${f}\``).join(', ')}` : ''}${pr.notes.length > 0 ? `\n${pr.notes.map((n) => `_${n}_`).join('\n')}` : ''}`, data: { delivery, files: pr.files.map((f) => f.path), deletions: pr.deletions, cases: pr.cases } },
      { at, type: 'harden.drift', actor: botActor, step: ctx.step.id, summary: driftText(drift), data: { ...drift } },
    ];
    const where = delivery.kind === 'pull-request' ? `pull request ${delivery.url}` : delivery.kind === 'branch' ? `branch ${delivery.branch}` : 'files attached to the thread';
    return {
      result: {
        summary: `Baseline for ${namespaces.join(', ')}: ${where}; drift monitoring ${drift.unavailable ? 'not turned on' : 'on'}`,
        kind: 'hardening',
        delivery,
        namespaces: proposal.namespaces.map((n) => ({ namespace: n.namespace, proof: n.proof, flagged: n.flagged, files: n.files.map((f) => f.path) })),
        files: pr.files.map((f) => f.path),
        tests: { path: pr.testsPath, ...pr.cases },
        drift,
        connectivity: proposal.connectivity ?? [],
        connectivityTotal: proposal.connectivityTotal ?? 0,
      },
      events,
      ...(delivery.kind === 'attached' ? { files: attachments([...pr.files, { path: 'PULL_REQUEST.md', content: `# ${pr.title}\n\n${pr.body}\n` }], ctx.incident.id) } : {}),
    };
  },
};
