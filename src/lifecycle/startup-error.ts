// A start-up failure that retrying cannot fix (a refused token, a missing kubeconfig, a port in
// use…). Its message is the one line `serve` prints: what is wrong and what to change.
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}
