// A compute thread (thread.ts): runs each task it is sent (tasks.ts) and posts its result, or the
// error it threw, under the task's id. It stays up between tasks: loading the policy engine once.
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { settled } from './shared-lists.js';
import { COMPUTE_TASKS, type ComputeTask } from './tasks.js';

// A shared thread yields the CPU to the main thread and the urgent one (thread.ts): its nice value
// goes up by `nice`, as the nice command does. On Linux the nice value belongs to each thread, so
// this lowers this thread alone; elsewhere it would lower the whole process, so it is left alone.
const nice = (workerData as { nice?: number } | undefined)?.nice;
if (nice !== undefined && process.platform === 'linux') {
  try {
    setPriority(Math.min(19, getPriority() + nice));
  } catch {
    // Not allowed here (a sandbox): the thread runs at the process's priority.
  }
}

parentPort?.on('message', ({ id, task, input }: { id: number; task: ComputeTask; input: never }) => {
  // The time on this thread, apart from the time the messages take to and from it (metrics).
  const began = performance.now();
  try {
    const result = COMPUTE_TASKS[task](input);
    parentPort?.postMessage({ id, result, threadMs: performance.now() - began });
  } catch (error) {
    parentPort?.postMessage({ id, threadMs: performance.now() - began, error: { message: error instanceof Error ? error.message : String(error), stack: error instanceof Error ? error.stack : undefined } });
  } finally {
    settled();
  }
});
