// What /readyz answers: a registry of components (Slack, Kubernetes API, Redis, shutdown…) that
// the runtime keeps up to date, plus live probes (Redis PING) run when someone asks. Ready means
// every component is ok; otherwise the answer names each component that is not, and why.

export type ComponentState = { ok: true } | { ok: false; reason: string };

export interface ReadinessReport {
  ready: boolean;
  components: Array<{ name: string } & ComponentState>;
}

/** Thrown by Readiness.check() when not ready; its message lists the reasons. */
export class NotReadyError extends Error {
  constructor(readonly report: ReadinessReport) {
    super(describeReadiness(report));
    this.name = 'NotReadyError';
  }
}

interface LiveProbe {
  probe: () => Promise<void>;
  timeoutMs: number;
}

const MAX_REASON_CHARS = 300;

export class Readiness {
  private readonly states = new Map<string, ComponentState>();
  private readonly probes = new Map<string, LiveProbe>();

  ready(component: string): void {
    this.states.set(component, { ok: true });
  }

  notReady(component: string, reason: string): void {
    // Reasons come from errors of remote systems: keep the answer one short line.
    const line = reason.replace(/\s+/g, ' ').trim() || 'not ready';
    this.states.set(component, { ok: false, reason: line.length > MAX_REASON_CHARS ? `${line.slice(0, MAX_REASON_CHARS)}…` : line });
  }

  forget(component: string): void {
    this.states.delete(component);
    this.probes.delete(component);
  }

  /** A check run on every report (e.g. Redis PING); a rejection or a timeout is the reason. */
  probe(component: string, probe: () => Promise<void>, timeoutMs = 2000): void {
    this.probes.set(component, { probe, timeoutMs });
  }

  state(component: string): ComponentState | undefined {
    return this.states.get(component);
  }

  async report(): Promise<ReadinessReport> {
    const live = await Promise.all(
      [...this.probes].map(async ([name, { probe, timeoutMs }]) => ({ name, ...(await runProbe(probe, timeoutMs)) }) as { name: string } & ComponentState),
    );
    const components = [...[...this.states].map(([name, state]) => ({ name, ...state })), ...live];
    return { ready: components.every((c) => c.ok), components };
  }

  /** Resolves with a one-line summary when ready; rejects with NotReadyError otherwise. */
  async check(): Promise<string> {
    const report = await this.report();
    if (!report.ready) throw new NotReadyError(report);
    return describeReadiness(report);
  }
}

async function runProbe(probe: () => Promise<void>, timeoutMs: number): Promise<ComponentState> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ComponentState>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, reason: `no answer within ${timeoutMs} ms` }), timeoutMs);
  });
  const outcome = probe().then(
    (): ComponentState => ({ ok: true }),
    (error: unknown): ComponentState => ({ ok: false, reason: error instanceof Error ? error.message : String(error) }),
  );
  try {
    return await Promise.race([outcome, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** "ready: redis, slack" or "slack: <reason>; kube: <reason>" (the failing ones only). */
export function describeReadiness(report: ReadinessReport): string {
  if (report.ready) return `ready: ${report.components.map((c) => c.name).join(', ') || 'no checks'}`;
  return report.components
    .filter((c): c is { name: string; ok: false; reason: string } => !c.ok)
    .map((c) => `${c.name}: ${c.reason}`)
    .join('; ');
}
