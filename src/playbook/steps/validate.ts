// Step "validate" (Validate Rules): the live policies against the desired state in Git. Which
// objects drift (the bot's containment apart), what the drift does to connectivity over the real
// pods (exposure: open now, not intended; breakage: intended, closed now), whether the incident's
// anomalous flows pass live rules and Git's rules (is restoring Git enough?), a matrix of network
// tests run against both, and the lint findings of the live policies. It changes nothing.
import { z } from 'zod';
import { readScopeLive, servedKinds } from '../../containment/snapshot.js';
import { shareDesired, shareLive } from '../../compute/shared-lists.js';
import { formatFieldDiff, keyString, type DriftReport } from '../../drift/compare.js';
import { comparedKinds } from '../../drift/coverage.js';
import { readRepositoryFile } from '../../git/read-file.js';
import type { DesiredObject } from '../../git/render.js';
import { buildMatrix } from '../../nettest/matrix.js';
import { NetTestFileError, parseTestCases, type NetTestCase } from '../../nettest/cases.js';
import type { CaseResult } from '../../nettest/run.js';
import type { LiveObjects } from '../../policy/index.js';
import { computeOffThread } from '../../compute/thread.js';
import type { ValidationInput } from './validate-compute.js';
import { botActor, type TimelineEvent } from '../../timeline/types.js';
import { keptResult, validationReport, type ValidationResult } from '../../drift/validation-report.js';
import type { StepContext, StepHandler } from './types.js';

export const validateParamsSchema = z
  .object({
    /** The repository file with the team's own network tests (each repository is looked in). */
    testsFile: z.string().min(1).max(256).default('netpol-tests.yaml'),
    /** Most test cases run (file cases first, then the anomaly's flows, then learned edges). */
    maxCases: z.number().int().min(1).max(10_000).default(500),
    /** Lines per list in the thread; the full report goes in a file. */
    listRows: z.number().int().min(1).max(50).default(8),
  })
  .strict();

type ValidateParams = z.infer<typeof validateParamsSchema>;

function params(ctx: StepContext): ValidateParams {
  return validateParamsSchema.parse(ctx.step.params);
}

/** The desired state of every repository, or why there is none. */
async function desiredState(ctx: StepContext): Promise<{ objects: readonly DesiredObject[]; problems: string[]; renderProblems: number; commits: string[] } | { none: string }> {
  const git = ctx.git;
  if (!git || git.list.length === 0) return { none: 'no policy repository is configured (git.repositories): nothing to compare the live policies with' };
  const synced = await Promise.all(git.list.map((r) => r.sync()));
  const state = await git.desiredState();
  if (state.states.length === 0) return { none: `no policy repository could be read (${synced.map((s, i) => (s.ok ? '' : `${git.list[i]?.config.name}: ${s.error}`)).filter(Boolean).join('; ')})` };
  const failed = synced.map((s, i) => (s.ok ? undefined : `Git fetch failed for ${git.list[i]?.config.name} (${s.error}): compared with the last good clone`)).filter((s): s is string => s !== undefined);
  return {
    objects: state.objects,
    problems: [...failed, ...state.problems.map((p) => `${p.repository}: ${p.message}`)],
    renderProblems: state.problems.length,
    commits: state.states.map((s) => `${s.repository}@${s.commit.slice(0, 12)}`),
  };
}

/** The repositories' netpol-tests.yaml cases (the first repository that has the file). */
async function fileCases(ctx: StepContext, path: string): Promise<{ cases: NetTestCase[]; note?: string }> {
  for (const repository of ctx.git?.list ?? []) {
    const file = await readRepositoryFile(repository, path);
    if (!file.found) continue;
    try {
      return { cases: parseTestCases(file.text, `${repository.config.name}:${path}`).cases };
    } catch (error) {
      if (error instanceof NetTestFileError) return { cases: [], note: `${path} was not run: ${error.message.split('\n').slice(0, 3).join('; ')}` };
      throw error;
    }
  }
  return { cases: [] };
}

function resultsBySide(live: CaseResult[], intended: CaseResult[]): ValidationResult['tests'] {
  return live.map((l, i) => {
    const t = intended[i] as CaseResult;
    return { name: l.case.name ?? null, from: l.case.from, to: l.case.to, port: String(l.case.port), protocol: l.case.protocol, expect: l.case.expect, origin: l.case.origin, live: l.pass ? 'pass' : l.got === 'error' ? 'error' : 'fail', intended: t.pass ? 'pass' : t.got === 'error' ? 'error' : 'fail', reason: l.pass ? (t.pass ? '' : t.reason) : l.reason };
  });
}

function driftSummary(report: DriftReport): ValidationResult['drift'] {
  return {
    missing: report.items.filter((i) => i.status === 'missing').map((i) => keyString(i.key)),
    extra: report.items.filter((i) => i.status === 'extra').map((i) => keyString(i.key)),
    modified: report.items.flatMap((i) => (i.status === 'modified' ? [{ key: keyString(i.key), diff: i.diff.length }] : [])),
    containment: report.containment.map((c) => `${keyString(c.key)} (${c.what})`),
    ignored: report.ignored,
    compared: report.compared,
  };
}

export const validateStep: StepHandler = {
  action: 'validate',

  validateParams(raw) {
    const parsed = validateParamsSchema.safeParse(raw ?? {});
    return parsed.success ? [] : parsed.error.issues.map((i) => ({ path: i.path as (string | number)[], message: i.message }));
  },

  async prepare() {
    return { summary: 'Comparing the live policies with Git (drift, connectivity, network tests, lint)' };
  },

  async execute(ctx) {
    const p = params(ctx);
    const { namespace } = ctx.incident.scope;
    const limits: string[] = [];
    const served = servedKinds(await ctx.cluster.discoverKinds());
    // The scope's namespace fresh, the watched view elsewhere (see the trace step).
    const live: LiveObjects = await readScopeLive(ctx.cluster, served, namespace, ctx.clusterView);
    const desired = await desiredState(ctx);
    let compared: ValidationInput['desired'];
    if ('none' in desired) limits.push(desired.none);
    else {
      const { kinds, problems } = comparedKinds(desired.objects, served);
      limits.push(...problems, ...desired.problems);
      compared = { objects: desired.objects, renderProblems: desired.renderProblems, kinds, ignore: [...(ctx.driftIgnore ?? [])] };
    }

    const anomalies = (await ctx.anomalies?.forIncident(ctx.incident)) ?? [];
    const probes = anomalies.flatMap((a) => a.probes ?? []);
    // The same connection sampled several times (several anomalies, repeated flows) is asked once.
    const distinct = [...new Map(probes.map((probe) => [`${probe.src} → ${probe.dst} ${probe.port}/${probe.protocol}`, probe])).entries()].map(([flow, probe]) => ({ flow, probe }));

    const file = await fileCases(ctx, p.testsFile);
    if (file.note) limits.push(file.note);
    const learned = ctx.learnedEdges ? await ctx.learnedEdges([namespace]).catch((error: unknown) => ({ edges: [], unavailable: `could not be read: ${(error as Error).message}` })) : { edges: [], unavailable: 'no flow collector is configured' };
    if (learned.unavailable) limits.push(`no learned edges (${learned.unavailable}): the tests hold no "the apps need this" cases`);
    const matrix = buildMatrix({ learned: learned.edges, anomalies: probes, file: file.cases, limit: p.maxCases });
    limits.push(...matrix.notes);
    // Seconds of CPU on a large cluster: off the main thread, which answers Slack meanwhile.
    const computed = await computeOffThread('validation', { live: shareLive(live), ...(compared ? { desired: { ...compared, objects: shareDesired(compared.objects) } } : {}), probes: distinct, cases: matrix.cases, namespace });
    const { report, delta, flows, findings } = computed;
    if (computed.note) limits.push(computed.note);
    const tests = resultsBySide(computed.live, computed.intended);

    // Long lists are kept in part, with their totals: the result goes into the incident record.
    const result: ValidationResult = keptResult({
      kind: 'validation',
      commits: 'none' in desired ? [] : desired.commits,
      drift: driftSummary(report),
      diffs: report.items.flatMap((i) => (i.status === 'modified' ? [{ key: keyString(i.key), lines: formatFieldDiff(i.diff, 30) }] : [])),
      exposure: delta?.exposure.map((l) => `${l.src} → ${l.dst} ${l.conns}`) ?? [],
      breakage: delta?.breakage.map((l) => `${l.src} → ${l.dst} ${l.conns}`) ?? [],
      severity: delta?.severity ?? null,
      why: delta?.why ?? null,
      flows,
      tests,
      lint: findings.slice(0, 200).map((f) => ({ id: f.id, severity: f.severity, object: f.object, message: f.message })),
      limits,
    });
    const view = validationReport(result, p.listRows);
    const at = ctx.now().toISOString();
    const events: TimelineEvent[] = view.messages.map((summary, i) => ({ at, type: i === 0 ? 'validate.summary' : 'validate.detail', actor: botActor, step: ctx.step.id, summary }));
    return {
      result: { summary: view.summary, ...result },
      events,
      ...(view.long ? { files: [{ filename: `validation-${ctx.incident.id}.md`, content: view.full, comment: 'The whole validation: drift with field diffs, connectivity, every test, lint' }] } : {}),
    };
  },
};
