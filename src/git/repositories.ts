// The policy repositories of the configuration, started together; and which one declares an object.
import type { Logger } from '../log.js';
import type { GitConfig } from './config-schema.js';
import type { Location, ObjectKey } from './locate.js';
import { mergeStates, type DesiredObject, type DesiredState, type RenderProblem } from './render.js';
import { PolicyRepository, type SyncResult } from './repository.js';

export class PolicyRepositories {
  readonly list: PolicyRepository[];
  private lastMerge: { states: DesiredState[]; merged: { objects: readonly DesiredObject[]; problems: RenderProblem[] } } | undefined;

  constructor(config: GitConfig | undefined, logger?: Logger) {
    this.list = (config?.repositories ?? []).map(
      (repo) => new PolicyRepository(repo, { dir: config?.dir as string, maxFileBytes: config?.maxFileBytes, fetchTimeoutMs: config?.fetchTimeout, logger }),
    );
  }

  get(name: string): PolicyRepository | undefined {
    return this.list.find((r) => r.config.name === name);
  }

  /** First sync of every repository (in parallel) and their intervals; never rejects. */
  start(): Promise<Array<{ name: string; result: SyncResult }>> {
    return Promise.all(this.list.map(async (repo) => ({ name: repo.config.name, result: await repo.start() })));
  }

  stop(): void {
    for (const repo of this.list) repo.stop();
  }

  /** The first repository (in config order) whose head declares the object. */
  async locate(obj: ObjectKey): Promise<{ repository: PolicyRepository; location: Location } | undefined> {
    for (const repository of this.list) {
      const location = await repository.locate(obj);
      if (location) return { repository, location };
    }
    return undefined;
  }

  /**
   * The desired policies of every repository at its head, as one set: a policy two repositories
   * declare is a problem (the later repository's is used). A repository not cloned yet, or whose
   * render failed, is a problem too; the others still count.
   */
  async desiredState(): Promise<{ states: DesiredState[]; objects: readonly DesiredObject[]; problems: RenderProblem[] }> {
    const results = await Promise.all(
      this.list.map(async (repo): Promise<DesiredState | RenderProblem> => {
        const repository = repo.config.name;
        try {
          return (await repo.desiredState()) ?? { repository, path: '', message: `${repository}: not cloned yet (no fetch has succeeded): its desired state is unknown` };
        } catch (error) {
          return { repository, path: '', message: `${repository}: cannot be rendered: ${(error as Error).message}` };
        }
      }),
    );
    const states = results.filter((r): r is DesiredState => 'objects' in r);
    const merged = this.mergedOf(states);
    return { states, objects: merged.objects, problems: [...results.filter((r): r is RenderProblem => !('objects' in r)), ...merged.problems] };
  }

  /**
   * The states merged, or the last merge when they are the very same renders (a repository's render
   * of a commit is one object until its head moves): the drift monitor asks at every evaluation,
   * and merging 10k policies again each time was megabytes of garbage for the same answer.
   */
  private mergedOf(states: DesiredState[]): { objects: readonly DesiredObject[]; problems: RenderProblem[] } {
    const last = this.lastMerge;
    if (last && last.states.length === states.length && last.states.every((s, i) => s === states[i])) return last.merged;
    const merged = mergeStates(states);
    // Shared by every caller from now on: frozen, so none can change another's.
    this.lastMerge = { states, merged: { objects: Object.freeze(merged.objects), problems: merged.problems } };
    return this.lastMerge.merged;
  }
}
