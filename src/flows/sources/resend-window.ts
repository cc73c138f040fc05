// What a stream consumer needs to drop flows the relay sends again after a restart: the flows
// delivered within the reorder window behind the newest one, and, once a restart begins, a check
// that drops a re-sent flow. Hubble sends in time order give or take the reorder window, so a flow
// older than the window behind the newest delivered one was delivered already; within the window,
// a flow is recognized by its fingerprint.

interface Delivered {
  time: number;
  record: Record<string, unknown>;
}

/** Identity of a flow for de-duplication across a restart. */
export function flowFingerprint(record: Record<string, unknown>): string {
  const flow = (record.flow ?? {}) as Record<string, unknown>;
  if (typeof flow.uuid === 'string' && flow.uuid) return flow.uuid;
  const ts = (flow.time ?? {}) as { seconds?: number; nanos?: number };
  const ip = (flow.IP ?? {}) as { source?: string; destination?: string };
  const l4 = JSON.stringify(flow.l4 ?? null);
  return `${String(flow.node_name ?? record.node_name ?? '')}|${ts.seconds ?? ''}.${ts.nanos ?? ''}|${ip.source ?? ''}>${ip.destination ?? ''}|${l4}|${String(flow.verdict ?? '')}|${String(flow.Summary ?? '')}|${String(flow.is_reply ? JSON.stringify(flow.is_reply) : '')}`;
}

export class ResendWindow {
  /** Newest delivered flow time (ms), NaN before the first. */
  newest = Number.NaN;
  private window: Delivered[] = [];
  private head = 0;
  /** Armed by a restart: what was delivered within the window, and where that window ended. */
  private resent: { fingerprints: Set<string>; before: number; until: number } | null = null;

  /**
   * `olderWereDelivered`: a re-sent flow older than the window was delivered too (a consumer that
   * got every flow of its stream); false for a stream whose restarts may reach back on purpose
   * for flows it never asked for before.
   */
  constructor(
    readonly windowMs: number,
    private readonly olderWereDelivered: boolean,
  ) {}

  /** Records a delivered flow. */
  add(time: number, record: Record<string, unknown>): void {
    if (Number.isNaN(time)) return;
    if (Number.isNaN(this.newest) || time > this.newest) this.newest = time;
    this.window.push({ time, record });
    // Keep only the window behind the newest flow (a head index, compacted now and then).
    const horizon = this.newest - this.windowMs;
    while (this.head < this.window.length && (this.window[this.head] as Delivered).time < horizon) this.head++;
    if (this.head > 4096 && this.head * 2 > this.window.length) {
      this.window = this.window.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * The stream restarts (from no later than the window's start): until it is past what was
   * delivered, `isResent` recognizes what comes again. Nothing delivered yet: nothing to recognize.
   */
  armResend(): void {
    if (Number.isNaN(this.newest)) return;
    this.resent = {
      fingerprints: new Set(this.window.slice(this.head).map((d) => flowFingerprint(d.record))),
      before: this.newest - this.windowMs,
      until: this.newest,
    };
  }

  /** true for a flow delivered before the restart; the check ends once the stream is past the window. */
  isResent(time: number, record: Record<string, unknown>): boolean {
    const resent = this.resent;
    if (!resent) return false;
    if (this.olderWereDelivered && time < resent.before) return true;
    if (time <= resent.until && resent.fingerprints.has(flowFingerprint(record))) return true;
    if (time > resent.until + this.windowMs) this.resent = null;
    return false;
  }
}
