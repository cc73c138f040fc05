// SIGTERM / SIGINT handling shared by `serve` and `demo`: the first signal asks for a graceful
// stop (and ends any start-up wait); a second one exits at once, non-zero, as people expect when
// they press Ctrl-C twice.
import { constants } from 'node:os';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** Why the process is stopping: a signal, or a fatal error after start-up (exit code 1). */
export interface StopRequest {
  signal?: StopSignal;
  reason: string;
  exitCode: number;
}

export interface StopSignals {
  /** Resolves with the first stop request. */
  readonly requested: Promise<StopRequest>;
  /** Aborted on the first stop request: ends start-up waits. */
  readonly signal: AbortSignal;
  /** Asks for a graceful stop from inside (e.g. an unhandled rejection). */
  stop(reason: string, exitCode?: number): void;
  /** Removes the signal handlers. */
  dispose(): void;
}

/** The shell's convention: 128 + the signal number (SIGINT 130, SIGTERM 143). */
export function exitCodeForSignal(signal: StopSignal): number {
  return 128 + constants.signals[signal];
}

export interface WatchOptions {
  /** Called on the second signal; the default writes one line to stderr and exits at once. */
  onSecond?: (signal: StopSignal) => void;
  target?: Pick<NodeJS.Process, 'on' | 'off'>;
}

export function watchStopSignals(options: WatchOptions = {}): StopSignals {
  const target = options.target ?? process;
  const onSecond =
    options.onSecond ??
    ((signal: StopSignal) => {
      process.stderr.write(`${signal} again: exiting now\n`);
      process.exit(exitCodeForSignal(signal));
    });
  const controller = new AbortController();
  let resolve!: (request: StopRequest) => void;
  const requested = new Promise<StopRequest>((r) => (resolve = r));
  const first = (request: StopRequest): void => {
    if (controller.signal.aborted) return;
    controller.abort();
    resolve(request);
  };
  const handlers = STOP_SIGNALS.map((signal) => {
    const handler = (): void => {
      if (controller.signal.aborted) onSecond(signal);
      else first({ signal, reason: `received ${signal}`, exitCode: 0 });
    };
    target.on(signal, handler);
    return [signal, handler] as const;
  });
  return {
    requested,
    signal: controller.signal,
    stop: (reason, exitCode = 1) => first({ reason, exitCode }),
    dispose: () => {
      for (const [signal, handler] of handlers) target.off(signal, handler);
    },
  };
}
