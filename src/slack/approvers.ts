// Who may approve: configured user ids, plus the members of configured user groups (cached).
export interface UsergroupSource {
  usergroupMembers(usergroupId: string): Promise<string[]>;
}

export interface ApproverConfig {
  users: string[];
  usergroups: string[];
}

/** How long a prefetched verdict answers for its user: long enough for the click that asked for it. */
const PREFETCH_REUSE_MS = 10_000;

export class ApproverDirectory {
  private readonly cache = new Map<string, { members: Set<string>; until: number }>();
  private readonly prefetched = new Map<string, { approver: boolean; until: number }>();

  constructor(
    private readonly config: ApproverConfig,
    private readonly source: UsergroupSource,
    private readonly cacheMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  async isApprover(userId: string): Promise<boolean> {
    const recent = this.prefetched.get(userId);
    if (recent && recent.until > this.clock()) return recent.approver;
    return this.lookUp(userId);
  }

  /**
   * Asks now, so that the checks of the click that follows answer from memory even with no group
   * cache (approverCacheSeconds: 0) and Slack slow to answer.
   */
  async prefetch(userId: string): Promise<void> {
    const approver = await this.lookUp(userId);
    this.prefetched.set(userId, { approver, until: this.clock() + PREFETCH_REUSE_MS });
    for (const [user, entry] of this.prefetched) if (entry.until <= this.clock()) this.prefetched.delete(user);
  }

  private async lookUp(userId: string): Promise<boolean> {
    if (this.config.users.includes(userId)) return true;
    for (const group of this.config.usergroups) {
      if ((await this.members(group)).has(userId)) return true;
    }
    return false;
  }

  private async members(group: string): Promise<Set<string>> {
    const cached = this.cache.get(group);
    if (cached && cached.until > this.clock()) return cached.members;
    const members = new Set(await this.source.usergroupMembers(group));
    this.cache.set(group, { members, until: this.clock() + this.cacheMs });
    return members;
  }

  /** Mentions for the incident message, e.g. "<@U1>, <!subteam^S1>". */
  mentions(): string {
    return [...this.config.users.map((u) => `<@${u}>`), ...this.config.usergroups.map((g) => `<!subteam^${g}>`)].join(', ');
  }
}
