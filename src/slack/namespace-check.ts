// Whether a namespace exists, asked within the acknowledgement budget of a slash command: Slack
// gives the bot 3 s to answer, so the cluster gets a short deadline and a late or failed answer is
// "unknown" (the job then decides), never a guess.

export type NamespaceCheck = { state: 'exists' } | { state: 'missing' } | { state: 'unknown'; reason: string };

/** Slack waits 3 s for the acknowledgement; this leaves room for Bolt and the network. */
export const NAMESPACE_CHECK_MS = 1500;

export async function checkNamespace(exists: (name: string) => Promise<boolean>, name: string, timeoutMs = NAMESPACE_CHECK_MS): Promise<NamespaceCheck> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<NamespaceCheck>((resolve) => {
    timer = setTimeout(() => resolve({ state: 'unknown', reason: `the cluster did not answer within ${(timeoutMs / 1000).toFixed(1)} s` }), timeoutMs);
  });
  const asked = exists(name).then(
    (found): NamespaceCheck => (found ? { state: 'exists' } : { state: 'missing' }),
    (error: unknown): NamespaceCheck => ({ state: 'unknown', reason: `the cluster answered with an error: ${error instanceof Error ? error.message : String(error)}`.slice(0, 300) }),
  );
  try {
    return await Promise.race([asked, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
