import { connect } from 'node:net';
import { type Logger, pino } from 'pino';

/** The NATS server the tests use: GRIDSEAM_NATS_URL, else 127.0.0.1:4222. */
export function natsUrl(): string {
  return process.env.GRIDSEAM_NATS_URL ?? 'nats://127.0.0.1:4222';
}

/** TCP connect probe of natsUrl(); a reason to skip when it fails, undefined when reachable. */
export async function natsUnreachableReason(timeoutMs = 1000): Promise<string | undefined> {
  const url = new URL(natsUrl().includes('://') ? natsUrl() : `nats://${natsUrl()}`);
  const host = url.hostname || '127.0.0.1';
  const port = Number(url.port || 4222);
  const reachable = await new Promise<boolean>((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
  return reachable ? undefined : `NATS not reachable at ${host}:${port} (set GRIDSEAM_NATS_URL)`;
}

/** Polls until `condition` holds; fails with `what` after a generous deadline. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Like waitFor, for a condition that has to be fetched (e.g. from a server). */
export async function waitForAsync(condition: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A logger that keeps its records, so a test can check what was logged. */
export function captureLogger(): { logger: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        records.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  return { logger, records };
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
