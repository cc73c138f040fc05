// A compute thread (thread.ts): runs each task it is sent (tasks.ts) and posts its result, or the
// error it threw, under the task's id. It stays up between tasks: loading the policy engine once.
import { parentPort } from 'node:worker_threads';
import { settled } from './shared-lists.js';
import { COMPUTE_TASKS, type ComputeTask } from './tasks.js';

parentPort?.on('message', ({ id, task, input }: { id: number; task: ComputeTask; input: never }) => {
  try {
    parentPort?.postMessage({ id, result: COMPUTE_TASKS[task](input) });
  } catch (error) {
    parentPort?.postMessage({ id, error: { message: error instanceof Error ? error.message : String(error), stack: error instanceof Error ? error.stack : undefined } });
  } finally {
    settled();
  }
});
