// Runs pure computations (tasks.ts) on worker threads: on a cluster of 10k pods and policies each
// takes seconds of CPU, which on the main thread would hold up every Slack acknowledgement, click,
// lock renewal and job of the process meanwhile. The input is copied to the thread (structured
// clone), and so is the result. Threads are started on first use and kept: cores − 1 of them take
// the tasks in turn, and one more takes urgent tasks (a containment's proof, which a person waits
// for) so that they never queue behind a long trace or validation. On the shared threads,
// interactive tasks (a proposal someone waits to approve) go before the background ones (traces and
// validations that run by themselves): fifty incidents opened at once get their proposals while
// the earlier ones' validations wait. The shared threads run 10 nice levels below the process
// (Linux only): on a busy machine (fifty proposals and traces at once) the kernel gives the CPU to
// the main thread (Slack, the API, the jobs) and the urgent thread first, and the shared ones still
// get whatever is idle. A thread holds the process open only while it works.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ComputeTask, TaskInput, TaskOutput } from './tasks.js';

const here = import.meta.url;
/** Run from the TypeScript sources (tsx, Vitest): the thread registers tsx before loading its entry. */
const fromSources = here.endsWith('.ts');
const entry = new URL(fromSources ? './worker.ts' : './worker.js', here);
const BOOT = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); });`;

interface Job {
  id: number;
  task: ComputeTask;
  priority: ComputePriority;
  input: unknown;
  /** performance.now() when queued, and when a thread took it. */
  queuedAt: number;
  startedAt?: number;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** One finished task (ms): how long it waited for a thread, then until its answer was in, and how much of that the thread itself took. */
export interface ComputeTaskTiming {
  task: ComputeTask;
  priority: ComputePriority;
  waitMs: number;
  runMs: number;
  /** The task on its thread; the rest of runMs is its messages' way there and back (input and result copied, the main thread busy). */
  threadMs: number;
  ok: boolean;
}

const observers = new Set<(timing: ComputeTaskTiming) => void>();

/** Calls `observer` after every task (metrics); returns the call that stops it. */
export function observeComputeTasks(observer: (timing: ComputeTaskTiming) => void): () => void {
  observers.add(observer);
  return () => {
    observers.delete(observer);
  };
}

function settle(job: Job, ok: boolean, threadMs = 0): void {
  if (observers.size === 0) return;
  const now = performance.now();
  const startedAt = job.startedAt ?? now;
  const timing: ComputeTaskTiming = { task: job.task, priority: job.priority, waitMs: startedAt - job.queuedAt, runMs: now - startedAt, threadMs, ok };
  for (const observer of observers) observer(timing);
}

/** How much higher the shared threads' nice value is than the process's: the kernel favours the main and urgent threads. */
export const SHARED_THREAD_NICE = 10;

/** One kept worker thread running one job at a time. */
class ComputeThread {
  private worker: Worker | undefined;
  private current: Job | undefined;

  constructor(private readonly nice?: number) {}

  get busy(): boolean {
    return this.current !== undefined;
  }

  run(job: Job, done: () => void): void {
    this.current = job;
    job.startedAt = performance.now();
    this.onDone = done;
    try {
      const worker = this.started();
      worker.ref();
      worker.postMessage({ id: job.id, task: job.task, input: job.input });
    } catch (error) {
      // An input that cannot be copied to a thread (a function in it), or no thread could start.
      settle(job, false);
      job.reject(error instanceof Error ? error : new Error(String(error)));
      this.finish();
    }
  }

  private onDone: () => void = () => undefined;

  private started(): Worker {
    if (this.worker) return this.worker;
    const workerData = this.nice === undefined ? undefined : { nice: this.nice };
    const worker = fromSources ? new Worker(BOOT, { eval: true, workerData }) : new Worker(entry, { workerData });
    worker.on('message', (message: { id: number; result?: unknown; threadMs?: number; error?: { message: string; stack?: string } }) => {
      const job = this.current;
      if (!job || job.id !== message.id) return;
      settle(job, !message.error, message.threadMs);
      if (message.error) job.reject(Object.assign(new Error(message.error.message), message.error.stack ? { stack: message.error.stack } : {}));
      else job.resolve(message.result);
      this.finish();
    });
    // A thread that died (out of memory, a crash) fails its job; the next job starts a new one.
    const died = (error: Error): void => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      if (this.current) settle(this.current, false);
      this.current?.reject(error);
      if (this.current) this.finish();
    };
    worker.on('error', died);
    worker.on('exit', (code) => died(new Error(`the compute thread exited (code ${code}) before it answered`)));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private finish(): void {
    this.current = undefined;
    this.worker?.unref();
    this.onDone();
  }
}

const shared = Array.from({ length: Math.max(1, availableParallelism() - 1) }, () => new ComputeThread(SHARED_THREAD_NICE));
const urgentThread = new ComputeThread();
const waiting: Job[] = [];
const interactiveWaiting: Job[] = [];
const urgentWaiting: Job[] = [];
let nextId = 1;

function dispatch(): void {
  for (const [threads, queues] of [
    [shared, [interactiveWaiting, waiting]],
    [[urgentThread], [urgentWaiting]],
  ] as const) {
    for (const thread of threads) {
      if (thread.busy) continue;
      const job = queues.find((queue) => queue.length > 0)?.shift();
      if (!job) break;
      thread.run(job, dispatch);
    }
  }
}

/**
 * - `urgent`: the containment itself (its proof): a thread of its own, never behind the others.
 * - `interactive`: a person waits for it (a proposal): ahead of the background tasks.
 * - `background` (the default): the steps that run by themselves.
 */
export type ComputePriority = 'urgent' | 'interactive' | 'background';

/** Runs `task` on a compute thread (by priority, then in order); rejects with the task's error if it throws. */
export function computeOffThread<T extends ComputeTask>(task: T, input: TaskInput<T>, options: { priority?: ComputePriority } = {}): Promise<TaskOutput<T>> {
  return new Promise((resolve, reject) => {
    const priority = options.priority ?? 'background';
    const job: Job = { id: nextId++, task, priority, input, queuedAt: performance.now(), resolve: resolve as (value: unknown) => void, reject };
    const queue = { urgent: urgentWaiting, interactive: interactiveWaiting, background: waiting }[priority];
    queue.push(job);
    dispatch();
  });
}
