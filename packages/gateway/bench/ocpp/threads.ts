/**
 * Per-second CPU time of each thread of a process, from /proc/<pid>/task/<tid>/stat (Linux), so a
 * slow second of the window can be matched with what the server's threads were doing: its main
 * thread (tid = pid), its busiest other thread (for the gateway, usually the SQLite writer) and
 * the rest (V8's GC and compiler helpers, libuv's pool). Elsewhere it records nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: 100 on Linux for every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

export interface ThreadSecond {
  /** CPU ms in that second. */
  main: number;
  busiestOther: number;
  others: number;
}

function threadTicks(pid: number): Map<string, number> {
  const ticks = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return ticks;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // After the command name (which may hold spaces): utime and stime are fields 14 and 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(tid, Number(fields[11]) + Number(fields[12]));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ticks;
}

export class ThreadSampler {
  private readonly seconds: ThreadSecond[] = [];
  private timer: NodeJS.Timeout | undefined;
  private last = new Map<string, number>();

  constructor(private readonly pid: number | undefined) {}

  start(): void {
    if (this.pid === undefined) return;
    const pid = this.pid;
    this.last = threadTicks(pid);
    this.timer = setInterval(() => {
      const now = threadTicks(pid);
      const second: ThreadSecond = { main: 0, busiestOther: 0, others: 0 };
      for (const [tid, ticks] of now) {
        const ms = ((ticks - (this.last.get(tid) ?? 0)) * 1000) / TICKS_PER_SECOND;
        if (tid === String(pid)) second.main = ms;
        else {
          second.others += ms;
          second.busiestOther = Math.max(second.busiestOther, ms);
        }
      }
      this.last = now;
      this.seconds.push(second);
    }, 1000);
  }

  /** The seconds recorded since start (second i covers [i, i + 1) s after start). */
  stop(): ThreadSecond[] {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    return this.seconds;
  }
}
