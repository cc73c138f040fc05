// The desired state of a policy repository at a commit: plain YAML/JSON under `paths` read from
// the clone's blobs, kustomizations built with `kubectl kustomize` or `kustomize build`, and the
// configured Helm charts rendered with `helm template`. Tools run on the commit's tree written to
// a private temporary directory, removed afterwards whatever happens. Every failure is a problem
// in the result (a missing tool, a build error, a file that is not YAML); the rest still renders.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import type { HelmChartConfig } from './config-schema.js';
import { isKustomizationPath, locatedObjects, originPath } from './manifests.js';
import { batches, listTree, readBlobs } from './objects.js';
import type { ParsedFile, RenderCache } from './render-cache.js';
import { isInside, renderLayout, type RenderLayout } from './render-layout.js';
import { problemAt, selectPolicies, type Candidate, type DesiredState, type RenderProblem } from './render-select.js';
import { findTool, kustomizeTool, runTool, toolEnv, toolMessage } from './render-tools.js';
import { writeWorktree } from './render-worktree.js';

export { POLICY_KINDS, identityOf, mergeStates, type DesiredObject, type DesiredState, type PolicyKind, type RenderProblem } from './render-select.js';

export interface RenderInput {
  /** The repository's name in the configuration. */
  repository: string;
  /** The bare clone. */
  repoDir: string;
  /** A full commit sha. */
  commit: string;
  /** Normalised paths ('' is the whole repository). */
  paths: string[];
  helm?: HelmChartConfig[];
  maxFileBytes: number;
  maxFiles: number;
  /** Timeout of each git read. */
  readTimeoutMs: number;
  /** Timeout of each tool run (one kustomization, one chart). */
  toolTimeoutMs?: number;
  /** Where kubectl, kustomize and helm are looked for (default: this process's PATH, read now). */
  toolPath?: string;
  /** Parent of the temporary directories (default: the system's). */
  workRoot?: string;
  /** Plain files parsed by earlier renders (of this repository or any other): only new blobs are parsed. */
  cache?: RenderCache;
}

export const DEFAULT_TOOL_TIMEOUT_MS = 60_000;
const MAX_TOOL_OUTPUT = 64 * 1024 * 1024;
const MAX_WORKTREE_FILES = 100_000;
const MAX_WORKTREE_BYTES = 512 * 1024 * 1024;
/** Blobs per `git cat-file --batch` call, and bytes: keeps one call's output bounded. */
const BATCH_BLOBS = 10_000;
const BATCH_BYTES = 32 * 1024 * 1024;

/** How long parsing may hold the event loop before it lets other work run. */
const YIELD_EVERY_MS = 10;
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function renderDesiredState(input: RenderInput): Promise<DesiredState> {
  const { repository } = input;
  const helm = input.helm ?? [];
  const entries = await listTree(input.repoDir, input.commit, input.paths, input.readTimeoutMs);
  const kustomizations = await readKustomizations(input, entries.filter((e) => isKustomizationPath(e.path) && e.type === 'blob' && e.mode !== '120000'));
  const layout = renderLayout(entries, kustomizations, helm, input);
  const problems: RenderProblem[] = layout.skipped.map((s) => problemAt(repository, s.path, s.reason));
  const candidates: Candidate[] = [];
  await readPlain(input, layout.plain, candidates, problems);
  await renderWithTools(input, layout, helm, candidates, problems);
  const selected = selectPolicies(repository, candidates);
  problems.push(...selected.problems);
  problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : (a.line ?? 0) - (b.line ?? 0)));
  return { repository, commit: input.commit, objects: selected.objects, problems };
}

async function readKustomizations(input: RenderInput, files: Array<{ path: string; oid: string; size?: number }>): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  const readable = files.filter((f) => (f.size ?? 0) <= input.maxFileBytes);
  const blobs = await readBlobs(input.repoDir, [...new Set(readable.map((f) => f.oid))], readable.reduce((n, f) => n + (f.size ?? 0), 0), input.readTimeoutMs);
  for (const file of readable) {
    const blob = blobs.get(file.oid);
    out.set(file.path, blob ? locatedObjects(blob.toString('utf8'), file.path).objects[0]?.object : undefined);
  }
  return out;
}

async function readPlain(input: RenderInput, files: RenderLayout['plain'], candidates: Candidate[], problems: RenderProblem[]): Promise<void> {
  const parsed: Array<ParsedFile | undefined> = files.map((f) => input.cache?.get(f.oid, f.path));
  const missing = files.map((file, index) => ({ ...file, index })).filter((f) => parsed[f.index] === undefined);
  const groups = [...batches(missing, BATCH_BLOBS, BATCH_BYTES)];
  const read = (group: typeof missing) => {
    const pending = readBlobs(input.repoDir, [...new Set(group.map((b) => b.oid))], group.reduce((n, b) => n + b.size, 0), input.readTimeoutMs);
    pending.catch(() => undefined); // awaited below; a failure while the previous batch parses is not unhandled
    return pending;
  };
  // The next batch is read by git while this one is parsed.
  let next = groups[0] ? read(groups[0]) : undefined;
  let lastYield = performance.now();
  for (let g = 0; g < groups.length; g++) {
    const contents = await (next as Promise<Map<string, Buffer>>);
    next = groups[g + 1] ? read(groups[g + 1] as typeof missing) : undefined;
    for (const { path, oid, size, index } of groups[g] as typeof missing) {
      const content = contents.get(oid);
      if (!content) continue;
      // The same blob at another path of this commit may have been parsed a moment ago.
      const cached = input.cache?.get(oid, path);
      if (cached) {
        parsed[index] = cached;
        continue;
      }
      const file = locatedObjects(content.toString('utf8'), path);
      input.cache?.set(oid, path, size, file);
      if (input.cache) input.cache.parsedFiles++;
      parsed[index] = file;
      // Parsing thousands of files must not starve the rest of the bot: a turn every few ms.
      if (performance.now() - lastYield >= YIELD_EVERY_MS) {
        await yieldToLoop();
        lastYield = performance.now();
      }
    }
  }
  files.forEach(({ path }, i) => {
    const file = parsed[i];
    if (!file) {
      problems.push(problemAt(input.repository, path, 'could not be read from the clone'));
      return;
    }
    for (const p of file.problems) problems.push(problemAt(input.repository, path, p.message, p.line));
    for (const o of file.objects) candidates.push({ object: o.object, source: { repository: input.repository, path, ...(o.line === undefined ? {} : { line: o.line }), via: 'plain' } });
  });
}

/** Builds the kustomizations and charts on the commit's tree written to a temporary directory. */
async function renderWithTools(input: RenderInput, layout: RenderLayout, helm: HelmChartConfig[], candidates: Candidate[], problems: RenderProblem[]): Promise<void> {
  if (layout.kustomize.length === 0 && helm.length === 0) return;
  const toolPath = input.toolPath ?? process.env.PATH;
  const kustomize = kustomizeTool(toolPath);
  const helmBin = findTool('helm', toolPath);
  for (const k of kustomize ? [] : layout.kustomize) {
    problems.push(problemAt(input.repository, k.file, 'not built: neither kubectl (kubectl kustomize) nor kustomize (kustomize build) is on PATH; install one of them'));
  }
  for (const chart of helmBin ? [] : helm) {
    problems.push(problemAt(input.repository, chart.chart, `Helm release ${chart.namespace}/${chart.releaseName} not rendered: helm is not on PATH; install helm`));
  }
  const builds = (kustomize ? layout.kustomize.length : 0) + (helmBin ? helm.length : 0);
  if (builds === 0) return;
  const workDir = mkdtempSync(join(input.workRoot ?? tmpdir(), 'netpol-render-'));
  try {
    const worktree = await writeWorktree(input.repoDir, input.commit, workDir, {
      maxFileBytes: input.maxFileBytes,
      maxFiles: MAX_WORKTREE_FILES,
      maxTotalBytes: MAX_WORKTREE_BYTES,
      timeoutMs: Math.max(input.readTimeoutMs, 60_000),
    });
    if (!worktree.ok) {
      for (const k of kustomize ? layout.kustomize : []) problems.push(problemAt(input.repository, k.file, `not built: ${worktree.error}`));
      for (const chart of helmBin ? helm : []) problems.push(problemAt(input.repository, chart.chart, `not rendered: ${worktree.error}`));
      return;
    }
    const built = [...layout.kustomize.map((k) => k.dir), ...helm.map((h) => h.chart), ...input.paths];
    const reported = new Set(layout.skipped.map((s) => s.path));
    for (const s of worktree.skipped) {
      // What a build may read is worth a word; a link or a large file elsewhere in the repository is not.
      if (!reported.has(s.path) && built.some((dir) => isInside(s.path, dir))) problems.push(problemAt(input.repository, s.path, s.reason));
    }
    const run = (file: string, args: string[]) =>
      runTool({ file, args, cwd: worktree.tree, env: toolEnv(toolPath, workDir), timeoutMs: input.toolTimeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS, maxOutputBytes: MAX_TOOL_OUTPUT });
    const failure = (result: { message: string; stderr: string }): string => toolMessage(result.stderr, worktree.tree) || result.message;
    if (kustomize) {
      for (const k of layout.kustomize) {
        const result = await run(kustomize.file, kustomize.args(k.dir === '' ? worktree.tree : join(worktree.tree, k.dir)));
        if (result.ok) addRendered(input, result.stdout, k.file, 'kustomize', candidates, problems, (o) => originSource(o, k.dir));
        else problems.push(problemAt(input.repository, k.file, `${kustomize.label} failed: ${failure(result)}`));
      }
    }
    if (helmBin) {
      for (const chart of helm) {
        const values = chart.values.flatMap((v) => ['-f', join(worktree.tree, v)]);
        const result = await run(helmBin, ['template', chart.releaseName, join(worktree.tree, chart.chart), '--namespace', chart.namespace, ...values]);
        if (!result.ok) {
          problems.push(problemAt(input.repository, chart.chart, `helm template ${chart.releaseName} failed: ${failure(result)}`));
          continue;
        }
        const sources = helmSources(result.stdout, chart.chart);
        addRendered(input, result.stdout, chart.chart, 'helm', candidates, problems, (_o, line) => sourceAt(sources, line), chart.namespace);
      }
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

function addRendered(
  input: RenderInput,
  output: string,
  path: string,
  via: 'kustomize' | 'helm',
  candidates: Candidate[],
  problems: RenderProblem[],
  sourceOf: (object: Record<string, unknown>, line: number | undefined) => string | undefined,
  defaultNamespace?: string,
): void {
  const { objects, problems: found } = locatedObjects(output, 'rendered.yaml');
  for (const p of found) problems.push(problemAt(input.repository, path, `the ${via} output is not YAML: ${p.message}`));
  for (const o of objects) {
    const source = { repository: input.repository, path: sourceOf(o.object, o.line) ?? path, via };
    candidates.push({ object: o.object, source, ...(defaultNamespace ? { defaultNamespace } : {}) });
  }
}

/** The file an object came from, by kustomize's origin annotation (buildMetadata: [originAnnotations]), when it is in the repository. */
function originSource(object: Record<string, unknown>, dir: string): string | undefined {
  const metadata = object.metadata as { annotations?: unknown } | undefined;
  const annotations = typeof metadata?.annotations === 'object' && metadata.annotations !== null ? (metadata.annotations as Record<string, string>) : undefined;
  const origin = originPath(annotations);
  return origin === undefined ? undefined : repoRelative(posix.join(dir === '' ? '.' : dir, origin));
}

/** `# Source: <chart>/templates/x.yaml` comments of helm's output: from which line on each template's objects come. */
function helmSources(output: string, chartDir: string): Array<{ line: number; path: string }> {
  const out: Array<{ line: number; path: string }> = [];
  output.split('\n').forEach((text, i) => {
    const m = /^# Source: [^/\s]+\/(.+)$/.exec(text);
    const path = m ? repoRelative(posix.join(chartDir, m[1] as string)) : undefined;
    if (path) out.push({ line: i + 1, path });
  });
  return out;
}

function sourceAt(sources: Array<{ line: number; path: string }>, line: number | undefined): string | undefined {
  if (line === undefined) return undefined;
  let found: string | undefined;
  for (const s of sources) {
    if (s.line > line) break;
    found = s.path;
  }
  return found;
}

/** A path normalised inside the repository, or undefined when it leaves it. */
function repoRelative(path: string): string | undefined {
  const normal = posix.normalize(path);
  return normal === '.' || normal.startsWith('../') || normal === '..' || posix.isAbsolute(normal) ? undefined : normal;
}

