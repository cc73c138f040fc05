// The load benchmark's view of the worker's compute threads: from two scrapes of its metrics
// (netpol_responder_compute_task_{wait,run,thread}_seconds), how many tasks of each kind ran between them,
// how long they waited for a thread and how long they ran. A containment's tail is either a queue
// (wait) or the CPU (run): this line says which.

interface Histogram {
  count: number;
  sum: number;
  /** Cumulative counts by upper bound (seconds), ascending. */
  buckets: Array<[number, number]>;
}

type Histograms = Map<string, Histogram>;

const LINE = /^netpol_responder_compute_task_(wait|run|thread)_seconds_(bucket|sum|count)\{([^}]*)\} (\S+)$/;

function labelsOf(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}

/** `wait task/priority`, `run task/priority` and `thread task/priority` histograms of one scrape. */
export function parseComputeHistograms(exposition: string): Histograms {
  const out: Histograms = new Map();
  for (const line of exposition.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const [, which, part, labelText, value] = m as unknown as [string, string, string, string, string];
    const labels = labelsOf(labelText);
    const key = `${which} ${labels.task}/${labels.priority}`;
    let h = out.get(key);
    if (!h) out.set(key, (h = { count: 0, sum: 0, buckets: [] }));
    if (part === 'count') h.count = Number(value);
    else if (part === 'sum') h.sum = Number(value);
    else h.buckets.push([labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(labels.le), Number(value)]);
  }
  for (const h of out.values()) h.buckets.sort((a, b) => a[0] - b[0]);
  return out;
}

/** The bucket bound under which `p` % of the observations fall (an upper bound of the percentile). */
function percentileBound(buckets: Array<[number, number]>, count: number, p: number): number {
  const rank = Math.ceil((p / 100) * count);
  return buckets.find(([, n]) => n >= rank)?.[0] ?? Number.POSITIVE_INFINITY;
}

function between(before: Histogram | undefined, after: Histogram): Histogram {
  const earlier = new Map(before?.buckets ?? []);
  return { count: after.count - (before?.count ?? 0), sum: after.sum - (before?.sum ?? 0), buckets: after.buckets.map(([le, n]) => [le, n - (earlier.get(le) ?? 0)]) };
}

const ms = (seconds: number): string => (Number.isFinite(seconds) ? `${Math.round(seconds * 1000)}` : '∞');

/** One line per task and priority that ran between the scrapes: count, then mean and p99 bound (ms) of the wait, the run, and the time on the thread. */
export function computeTaskLines(beforeText: string, afterText: string): string[] {
  const before = parseComputeHistograms(beforeText);
  const after = parseComputeHistograms(afterText);
  const lines: string[] = [];
  for (const [key, total] of after) {
    if (!key.startsWith('wait ')) continue;
    const name = key.slice('wait '.length);
    const wait = between(before.get(key), total);
    const runTotal = after.get(`run ${name}`);
    if (wait.count <= 0 || !runTotal) continue;
    const run = between(before.get(`run ${name}`), runTotal);
    const threadTotal = after.get(`thread ${name}`);
    const thread = threadTotal ? between(before.get(`thread ${name}`), threadTotal) : undefined;
    const figure = (label: string, h: Histogram): string => `${label} mean ${ms(h.sum / h.count)} p99 ≤ ${ms(percentileBound(h.buckets, h.count, 99))} ms`;
    lines.push(`${name}: ${wait.count} tasks, ${[figure('wait', wait), figure('run', run), ...(thread ? [figure('of which on the thread', thread)] : [])].join(', ')}`);
  }
  return lines.sort();
}
