// The cluster's namespace names, kept by a watch, for the web role's slash commands.
//
// `/netpol incident <namespace>` is acknowledged within Slack's 3 s only after the namespace is
// known to exist. Asked of the API server once per command, a busy API server sits in front of
// every acknowledgement; a namespace watch is one small list and a trickle of events.
//
// It answers only what it can vouch for. A watch that reports an error (a cut or refused stream)
// may be behind, so it is dropped and the API is asked; the next question starts a fresh one,
// whose list makes it current again.
import type { KindWatch, KubeGateway } from './index.js';
import type { Logger } from '../log.js';

export class NamespaceNames {
  private readonly names = new Set<string>();
  private watch: KindWatch | undefined;
  /** Bumped for every watch started: events of a dropped watch are ignored. */
  private generation = 0;
  /** The current watch has delivered its first list. */
  private synced = false;
  private running = false;

  constructor(
    private readonly gateway: Pick<KubeGateway, 'watch'>,
    private readonly logger?: Logger,
  ) {}

  start(): void {
    this.running = true;
    if (this.watch) return;
    const generation = ++this.generation;
    const current = (): boolean => generation === this.generation;
    this.names.clear();
    this.synced = false;
    this.watch = this.gateway.watch(
      'Namespace',
      (event) => {
        const name = (event.object as { metadata?: { name?: string } }).metadata?.name;
        if (!current() || !name) return;
        if (event.type === 'deleted') this.names.delete(name);
        else this.names.add(name);
      },
      {
        bookmarks: true,
        onSynced: () => {
          if (current()) this.synced = true;
        },
        onError: (error) => {
          if (!current()) return;
          this.logger?.debug({ err: error }, 'namespace names: watch error; asking the API until a fresh watch is in sync');
          void this.drop();
        },
      },
    );
  }

  /** Waits up to `timeoutMs` for the first list; false when it did not come (questions go to the API meanwhile). */
  async inSync(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    // The watch's own promise settles on its first list, or when it is dropped (a refused list).
    await Promise.race([this.watch?.synced, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    return this.synced;
  }

  /**
   * True when the watch has seen the namespace; undefined when it has not or cannot tell, and
   * the caller asks the API (a namespace created a moment ago may not have arrived yet). Never waits.
   */
  has(name: string): true | undefined {
    if (this.running && !this.watch) this.start();
    return this.synced && this.names.has(name) ? true : undefined;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.drop();
  }

  private async drop(): Promise<void> {
    const watch = this.watch;
    this.generation++;
    this.watch = undefined;
    this.synced = false;
    this.names.clear();
    await watch?.stop().catch(() => undefined);
  }
}
