/**
 * The terminal side of `gridseam demo` (stderr; stdout is kept for the summary): a progress bar of the
 * simulated day with a one-line status (time of day, devices online, events, fleet power, mean SoC)
 * when stderr is a terminal; a plain status line every STATUS_EVERY_MS otherwise. Scenario notes
 * ("11:00 export limit starts") are printed above the bar.
 */
import cliProgress from 'cli-progress';

export const STATUS_EVERY_MS = 10_000;
const BAR_TOTAL = 1000;

export interface DemoStatus {
  /** "HH:MM" of the simulated day. */
  time: string;
  online: number;
  devices: number;
  activeEvents: number;
  upcomingEvents: number;
  /** Summed device power, W (export positive). */
  fleetW: number;
  meanSocPct: number | null;
}

export function formatPower(watts: number): string {
  const kw = watts / 1000;
  return Math.abs(kw) >= 1000 ? `${(kw / 1000).toFixed(2)} MW` : `${kw.toFixed(1)} kW`;
}

export function formatStatus(status: DemoStatus): string {
  const events =
    status.activeEvents === 0 && status.upcomingEvents === 0
      ? 'no events'
      : `events ${status.activeEvents} active, ${status.upcomingEvents} upcoming`;
  const soc = status.meanSocPct === null ? 'SoC -' : `SoC ${status.meanSocPct.toFixed(0)}%`;
  return `${status.time} | ${status.online}/${status.devices} online | ${events} | fleet ${formatPower(status.fleetW)} | ${soc}`;
}

export class StatusDisplay {
  readonly #stream: NodeJS.WritableStream;
  readonly #tty: boolean;
  #bars: cliProgress.MultiBar | undefined;
  #bar: cliProgress.SingleBar | undefined;
  #lastPlainAt = Number.NEGATIVE_INFINITY;

  constructor(stream: NodeJS.WritableStream, tty: boolean) {
    this.#stream = stream;
    this.#tty = tty;
  }

  start(fraction: number, status: DemoStatus): void {
    if (!this.#tty) {
      this.update(fraction, status);
      return;
    }
    this.#bars = new cliProgress.MultiBar(
      {
        stream: this.#stream,
        format: ' day {bar} {percentage}% | {status}',
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
        fps: 4,
        forceRedraw: true,
      },
      cliProgress.Presets.shades_classic,
    );
    this.#bar = this.#bars.create(BAR_TOTAL, Math.round(fraction * BAR_TOTAL), { status: formatStatus(status) });
  }

  update(fraction: number, status: DemoStatus, now = Date.now()): void {
    if (this.#bar !== undefined) {
      this.#bar.update(Math.round(fraction * BAR_TOTAL), { status: formatStatus(status) });
      return;
    }
    if (this.#tty || now - this.#lastPlainAt < STATUS_EVERY_MS) return;
    this.#lastPlainAt = now;
    this.#stream.write(`[demo] ${(fraction * 100).toFixed(0).padStart(3)}% ${formatStatus(status)}\n`);
  }

  /** A line above the bar (or on its own line without one). */
  note(text: string): void {
    if (this.#bars !== undefined) this.#bars.log(`${text}\n`);
    else this.#stream.write(`${text}\n`);
  }

  stop(): void {
    this.#bars?.stop();
    this.#bars = undefined;
    this.#bar = undefined;
  }
}
