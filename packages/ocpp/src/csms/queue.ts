/**
 * Commands kept for stations that are offline (CommandOptions.queueUntil). Each waits until the
 * station is back and accepted, then runs in arrival order; at `queueUntil` an undelivered command
 * is rejected with GW_ERR_DEVICE_UNREACHABLE. Bounded per station and in total. The expiry timers
 * are not unref'd: a caller is waiting for each command's outcome.
 */
import { GridseamError } from '@gridseam/model';

/** setTimeout cannot wait longer than 2^31-1 ms; longer waits are re-armed. */
const MAX_TIMER_MS = 2_147_483_647;

interface QueuedCommand {
  until: number;
  start(): Promise<void>;
  fail(error: GridseamError): void;
  timer: NodeJS.Timeout | undefined;
}

export class OfflineQueue {
  private readonly byStation = new Map<string, QueuedCommand[]>();
  private total = 0;

  constructor(
    private readonly now: () => number,
    private readonly maxPerStation: number,
    private readonly maxTotal: number,
  ) {}

  size(identity?: string): number {
    return identity === undefined ? this.total : (this.byStation.get(identity)?.length ?? 0);
  }

  /** Keeps `run` until the station can take it (see `next`), or rejects at `until`. */
  add<T>(identity: string, until: number, run: () => Promise<T>): Promise<T> {
    const list = this.byStation.get(identity) ?? [];
    if (list.length >= this.maxPerStation || this.total >= this.maxTotal) {
      return Promise.reject(
        new GridseamError('GW_ERR_DEVICE_UNREACHABLE', `${identity} is offline and its command queue is full`, {
          details: { identity },
        }),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const entry: QueuedCommand = {
        until,
        start: () => run().then(resolve, reject),
        fail: reject,
        timer: undefined,
      };
      list.push(entry);
      this.byStation.set(identity, list);
      this.total += 1;
      this.arm(identity, entry);
    });
  }

  /** Removes and returns the oldest command for the station; expired ones are rejected on the way. */
  next(identity: string): (() => Promise<void>) | undefined {
    for (;;) {
      const list = this.byStation.get(identity);
      const entry = list?.shift();
      if (!list || !entry) return undefined;
      this.forget(identity, list, entry);
      if (entry.until <= this.now()) {
        entry.fail(expired(identity));
        continue;
      }
      return entry.start;
    }
  }

  rejectAll(error: GridseamError): void {
    for (const list of this.byStation.values()) {
      for (const entry of list) {
        if (entry.timer) clearTimeout(entry.timer);
        entry.fail(error);
      }
    }
    this.byStation.clear();
    this.total = 0;
  }

  private arm(identity: string, entry: QueuedCommand): void {
    const wait = Math.max(0, Math.min(entry.until - this.now(), MAX_TIMER_MS));
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (entry.until > this.now()) {
        this.arm(identity, entry);
        return;
      }
      const list = this.byStation.get(identity);
      const index = list?.indexOf(entry) ?? -1;
      if (!list || index < 0) return;
      list.splice(index, 1);
      this.forget(identity, list, undefined);
      entry.fail(expired(identity));
    }, wait);
  }

  private forget(identity: string, list: QueuedCommand[], taken: QueuedCommand | undefined): void {
    if (taken?.timer) {
      clearTimeout(taken.timer);
      taken.timer = undefined;
    }
    this.total -= 1;
    if (list.length === 0) this.byStation.delete(identity);
  }
}

function expired(identity: string): GridseamError {
  return new GridseamError(
    'GW_ERR_DEVICE_UNREACHABLE',
    `${identity} did not come back before the command's queueUntil; the command was not sent`,
    { details: { identity } },
  );
}
