// Long loops of the drift monitor cut into chunks with the event loop free between them, so one
// whole-cluster evaluation does not hold up the Slack acknowledgements and jobs of its process.
import { setImmediate as nextTurn } from 'node:timers/promises';

/** items.map(fn), awaiting the next turn of the event loop after every `chunk` items. */
export async function mapYielding<T, U>(items: readonly T[], fn: (item: T, index: number) => U, chunk: number, pause: () => Promise<unknown> = () => nextTurn()): Promise<U[]> {
  if (!Number.isInteger(chunk) || chunk < 1) throw new Error(`chunk must be a positive integer, not ${chunk}`);
  const out: U[] = [];
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % chunk === 0) await pause();
    out.push(fn(items[i] as T, i));
  }
  return out;
}
