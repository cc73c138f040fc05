// How the shutdown grace period is spent: in-flight jobs get most of it; the rest is kept for
// handing the unfinished ones back to the queue and closing connections before the deadline.

/** Part of the time left that is kept for hand-back and clean-up: 20%, between 250 ms and 5 s. */
export function cleanupReserveMs(remainingMs: number): number {
  return Math.min(5000, Math.max(250, Math.round(remainingMs * 0.2)));
}

/** How long running jobs may still take, with `remainingMs` left before the process must be gone. */
export function jobsGraceMs(remainingMs: number): number {
  return Math.max(0, remainingMs - cleanupReserveMs(remainingMs));
}
