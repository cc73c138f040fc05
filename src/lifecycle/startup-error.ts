// A start-up failure that retrying cannot fix (a refused token, a missing kubeconfig, a port in
// use…). Its message is the one line `serve` prints: what is wrong and what to change.
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}

/** A listen that failed because the port is taken, as the StartupError naming the setting to change. */
export function portInUse(error: unknown, setting: string, port: number, host: string): unknown {
  if ((error as NodeJS.ErrnoException)?.code !== 'EADDRINUSE') return error;
  return new StartupError(`${setting}: ${host}:${port} is already in use by another process; stop it or choose another port`, { cause: error });
}
