import type { Logger } from '../log.ts';

/** How long a long-running command waits for a graceful close before it gives up and exits. */
export const CLOSE_TIMEOUT_MS = 15_000;

/**
 * Closes what a long-running command (`run`, `utility-server`) started, after its stop signal. A
 * second signal, or a close that takes longer than `timeoutMs`, ends the process with `exitCode`
 * without waiting further.
 */
export async function closeGracefully(
  close: () => Promise<void>,
  logger: Logger,
  exitCode: number,
  timeoutMs = CLOSE_TIMEOUT_MS,
): Promise<void> {
  const force = (reason: string) => {
    logger.error({ reason }, 'forced exit before a clean shutdown');
    process.exit(exitCode);
  };
  const onSecondSignal = () => force('second signal');
  process.once('SIGINT', onSecondSignal);
  process.once('SIGTERM', onSecondSignal);
  const timer = setTimeout(() => force(`close took longer than ${timeoutMs} ms`), timeoutMs);
  timer.unref();
  try {
    await close();
  } finally {
    clearTimeout(timer);
    process.off('SIGINT', onSecondSignal);
    process.off('SIGTERM', onSecondSignal);
  }
}
