/**
 * Settlement benchmark (issue 10, `npm run bench:settlement [-- --sites N]`).
 *
 * 1. 100,000 sites, each with 45 days of hourly load before the event day plus the event day
 *    (46 LoadDays of 24 intervals): caiso-10in10 baseline + intervalsFromBaseline + settleEvent per
 *    site. Target >= 20,000 sites/s (the floor the issue sets; printed as floor/ours, <= 1 is met).
 * 2. The same sites with pjm-high4of5 (same target, reported).
 * 3. buildLedger + checkLedger on a stacked fleet sample (devices x 15-minute intervals, a retail DR
 *    program stacking with REG_UP, wholesale energy and merchant claims): entries/s.
 *
 * Data are generated before timing, seeded (mulberry32), in chunks of CHUNK sites that reuse one
 * Float64Array and the same LoadDay objects (memory stays ~50 MB whatever --sites is): commercial
 * and residential daily shapes, weekday/weekend, a shared weather factor per day (hot days before
 * the event), per-site scale and sensitivity, +-8% hourly noise, a response during the event hours.
 * Only the settlement calls are inside the timed region; wall and CPU time are summed over chunks.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { seededRandom } from '@gridseam/model';
import {
  buildLedger,
  type Claim,
  checkLedger,
  type DayMatchingMethod,
  dateOfDayNumber,
  dayMatchingBaseline,
  dayNumber,
  intervalsFromBaseline,
  type LoadDay,
  type MeteredInterval,
  type ProgramRule,
  settleEvent,
} from '../src/index.ts';

const FLOOR_SITES_PER_S = 20_000;
const CHUNK = 5_000;
const LOOKBACK_DAYS = 45;
const EVENT_DAY = '2026-07-15'; // a Wednesday; history 2026-05-31 .. 2026-07-14
const EVENT_HOURS = [16, 17, 18];
const HOLIDAYS = ['2026-06-19', '2026-07-03']; // Juneteenth; Independence Day observed (July 4 is a Saturday)
const PAST_EVENT_DAYS = ['2026-07-01', '2026-07-08']; // program events: never baseline days
const SLOTS = Array.from({ length: 24 }, (_, hour) => hour);

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} needs a positive integer`);
  return value;
}

// Normalised hourly shapes (peak 1): commercial weekday / weekend, residential weekday / weekend.
const COMMERCIAL_WEEKDAY = [
  0.35, 0.34, 0.33, 0.33, 0.34, 0.38, 0.5, 0.68, 0.85, 0.95, 0.98, 1, 1, 0.99, 0.98, 0.97, 0.95, 0.88, 0.72, 0.58, 0.48,
  0.42, 0.38, 0.36,
];
const COMMERCIAL_WEEKEND = [
  0.34, 0.33, 0.33, 0.32, 0.33, 0.34, 0.36, 0.4, 0.45, 0.5, 0.52, 0.53, 0.53, 0.52, 0.5, 0.48, 0.46, 0.44, 0.42, 0.4,
  0.38, 0.37, 0.36, 0.35,
];
const RESIDENTIAL_WEEKDAY = [
  0.32, 0.28, 0.26, 0.25, 0.26, 0.3, 0.45, 0.6, 0.5, 0.4, 0.38, 0.38, 0.4, 0.42, 0.46, 0.55, 0.7, 0.86, 0.97, 1, 0.93,
  0.78, 0.58, 0.42,
];
const RESIDENTIAL_WEEKEND = [
  0.36, 0.31, 0.28, 0.27, 0.27, 0.29, 0.36, 0.48, 0.58, 0.62, 0.62, 0.6, 0.6, 0.6, 0.62, 0.66, 0.76, 0.88, 0.97, 1,
  0.94, 0.8, 0.62, 0.46,
];

interface Calendar {
  dates: string[];
  weekend: boolean[];
  /** Shared weather multiplier per day (1 = mild). */
  weather: number[];
}

function calendar(): Calendar {
  const eventNumber = dayNumber(EVENT_DAY);
  const rng = seededRandom(20260715);
  const dates: string[] = [];
  const weekend: boolean[] = [];
  const weather: number[] = [];
  for (let offset = LOOKBACK_DAYS; offset >= 0; offset--) {
    const day = eventNumber - offset;
    const date = dateOfDayNumber(day);
    const weekday = (((day + 4) % 7) + 7) % 7;
    dates.push(date);
    weekend.push(weekday === 0 || weekday === 6 || HOLIDAYS.includes(date));
    // Warming into July, a heat wave the last week, day-to-day noise.
    weather.push(1 + 0.004 * (LOOKBACK_DAYS - offset) + (offset <= 6 ? 0.12 : 0) + 0.06 * (rng() - 0.5));
  }
  return { dates, weekend, weather };
}

interface Site {
  days: LoadDay[];
  obligationKw: number;
}

/** A chunk of CHUNK sites over one reused buffer: `fill` writes new sites' data into it. */
class SiteChunk {
  readonly sites: Site[] = [];
  readonly #buffer: Float64Array;
  readonly #perSite: number;

  constructor(readonly calendar: Calendar) {
    this.#perSite = calendar.dates.length * 24;
    this.#buffer = new Float64Array(CHUNK * this.#perSite);
    for (let s = 0; s < CHUNK; s++) {
      const days = calendar.dates.map((date, d) => ({
        date,
        intervalMinutes: 60,
        slots: SLOTS,
        kwh: this.#buffer.subarray(s * this.#perSite + d * 24, s * this.#perSite + (d + 1) * 24),
      }));
      this.sites.push({ days, obligationKw: 0 });
    }
  }

  /** Sites firstSite .. firstSite + count - 1 (seeded by their index, so runs are repeatable). */
  fill(firstSite: number, count: number): void {
    const { dates, weekend, weather } = this.calendar;
    const buffer = this.#buffer;
    const eventIndex = dates.length - 1;
    for (let s = 0; s < count; s++) {
      const rng = seededRandom(0x5e771e + firstSite + s);
      const commercial = rng() < 0.6;
      // kWh per hour at the shape's peak: commercial 50-550, residential 1-6.
      const scale = commercial ? 50 + 500 * rng() * rng() : 1 + 5 * rng();
      const sensitivity = 0.5 + rng();
      const response = 0.1 + 0.25 * rng(); // share of the event-hour load the site sheds
      const base = s * this.#perSite;
      for (let d = 0; d < dates.length; d++) {
        const shape = commercial
          ? weekend[d]
            ? COMMERCIAL_WEEKEND
            : COMMERCIAL_WEEKDAY
          : weekend[d]
            ? RESIDENTIAL_WEEKEND
            : RESIDENTIAL_WEEKDAY;
        const dayFactor = 1 + sensitivity * ((weather[d] as number) - 1);
        for (let h = 0; h < 24; h++) {
          const noise = 1 + 0.16 * (rng() - 0.5);
          let value = scale * (shape[h] as number) * dayFactor * noise;
          if (d === eventIndex && h >= 16 && h <= 18) value *= 1 - response;
          buffer[base + d * 24 + h] = value;
        }
      }
      (this.sites[s] as Site).obligationKw = scale * 0.2;
    }
  }
}

/** A day-ahead-like hourly price curve for the event day, $/MWh. */
const EVENT_PRICES = [32, 30, 29, 28, 29, 33, 40, 46, 44, 38, 34, 31, 30, 32, 38, 55, 95, 160, 140, 90, 62, 48, 40, 35];

interface Timing {
  sites: number;
  wallMs: number;
  cpuMs: number;
  /** Summed over the results: proof the work was done, and a sanity figure. */
  deliveredKwh: number;
  baselineDays: number;
  /** Sites whose day-of adjustment was clamped (ratio at its cap). */
  clamped: number;
}

function runMethod(method: DayMatchingMethod, chunk: SiteChunk, siteCount: number): Timing {
  const timing: Timing = { sites: 0, wallMs: 0, cpuMs: 0, deliveredKwh: 0, baselineDays: 0, clamped: 0 };
  const price = (interval: { hour: number }) => EVENT_PRICES[interval.hour];
  for (let first = 0; first < siteCount; first += CHUNK) {
    const count = Math.min(CHUNK, siteCount - first);
    chunk.fill(first, count); // outside the timed region
    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    for (let s = 0; s < count; s++) {
      const site = chunk.sites[s] as Site;
      const baseline = dayMatchingBaseline({
        method,
        days: site.days,
        eventDay: EVENT_DAY,
        eventHours: EVENT_HOURS,
        holidays: HOLIDAYS,
        excludeDays: PAST_EVENT_DAYS,
      });
      const settlement = settleEvent({
        intervals: intervalsFromBaseline(baseline, site.obligationKw, price),
        penaltyUsdPerKwh: 0.5,
      });
      timing.deliveredKwh += settlement.deliveredKwh;
      timing.baselineDays += baseline.days.length;
      if (baseline.adjustment.raw !== baseline.adjustment.applied) timing.clamped++;
    }
    timing.wallMs += performance.now() - wallBefore;
    const cpu = process.cpuUsage(cpuBefore);
    timing.cpuMs += (cpu.user + cpu.system) / 1000;
    timing.sites += count;
  }
  return timing;
}

function reportSites(name: string, timing: Timing): void {
  const rate = timing.sites / (timing.wallMs / 1000);
  const met = rate >= FLOOR_SITES_PER_S;
  console.log(
    `${name.padEnd(30)} ${timing.sites.toLocaleString('en-US')} sites in ${(timing.wallMs / 1000).toFixed(2)} s` +
      `  ours ${Math.round(rate).toLocaleString('en-US')} sites/s  floor ${FLOOR_SITES_PER_S.toLocaleString('en-US')} sites/s` +
      `  floor/ours ${(FLOOR_SITES_PER_S / rate).toFixed(2)}  (cpu ${(timing.cpuMs / 1000).toFixed(2)} s)` +
      `  target >= ${FLOOR_SITES_PER_S.toLocaleString('en-US')} sites/s: ${met ? 'met' : 'MISSED'}` +
      `  [per site: ${(timing.baselineDays / timing.sites).toFixed(1)} baseline days, delivered ${(timing.deliveredKwh / timing.sites).toFixed(2)} kWh; ` +
      `${((100 * timing.clamped) / timing.sites).toFixed(1)} % clamped]`,
  );
}

// ------------------------------------------------------------------------------ ledger sample

const PROGRAMS: ProgramRule[] = [
  { id: 'DR-RETAIL', kind: 'retail', precedence: 10, stacksWith: ['REG_UP'] },
  { id: 'REG_UP', kind: 'wholesale', precedence: 20 },
  { id: 'ENERGY', kind: 'wholesale', precedence: 30 },
  { id: 'MERCHANT', kind: 'merchant', precedence: 40 },
];

/** A fleet's day at 15 minutes: metered energy per device-interval and the programs' claims on it. */
function stackedFleet(devices: number, intervals: number): { claims: Claim[]; metered: MeteredInterval[] } {
  const rng = seededRandom(2222);
  const claims: Claim[] = [];
  const metered: MeteredInterval[] = [];
  const start0 = Date.UTC(2026, 6, 15, 7); // local midnight in California
  for (let d = 0; d < devices; d++) {
    const deviceId = `bess-${d}`;
    const siteId = `site-${d >> 1}`; // two batteries per site
    const ratingKw = 50 + 50 * Math.floor(rng() * 4);
    for (let t = 0; t < intervals; t++) {
      const start = start0 + t * 900_000;
      const hour = Math.floor(t / 4);
      // Charge overnight and midday, discharge in the evening, idle otherwise (kWh in 15 min).
      const power = hour < 5 || (hour >= 10 && hour < 14) ? -0.6 : hour >= 16 && hour < 21 ? 0.8 : 0.05;
      const energyKwh = (power * ratingKw * (0.8 + 0.4 * rng())) / 4;
      metered.push({
        deviceId,
        siteId,
        start,
        intervalMinutes: 15,
        energyKwh,
        headroomKw: ratingKw,
        degradationUsd: Math.abs(energyKwh) * 0.02,
      });
      if (energyKwh > 0 && hour >= 16 && hour < 19)
        claims.push({
          deviceId,
          siteId,
          programId: 'DR-RETAIL',
          start,
          intervalMinutes: 15,
          energyKwh: energyKwh * 0.7,
        });
      if (hour >= 8 && hour < 20)
        claims.push({
          deviceId,
          programId: 'REG_UP',
          start,
          intervalMinutes: 15,
          capacityKw: ratingKw * 0.1,
          capacityPriceUsdPerMwh: 12,
        });
      if (energyKwh !== 0 && rng() < 0.8)
        claims.push({
          deviceId,
          programId: 'ENERGY',
          start,
          intervalMinutes: 15,
          energyKwh: energyKwh * 0.5,
          energyPriceUsdPerMwh: 40 + 100 * rng(),
        });
    }
  }
  return { claims, metered };
}

function runLedger(devices: number): void {
  const intervals = 96;
  const { claims, metered } = stackedFleet(devices, intervals);
  buildLedger(claims.slice(0, 2000), metered.slice(0, 1000), PROGRAMS); // warm-up
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const ledger = buildLedger(claims, metered, PROGRAMS);
  const buildMs = performance.now() - wallBefore;
  const conflicts = checkLedger(ledger.entries, metered, PROGRAMS);
  const totalMs = performance.now() - wallBefore;
  const cpu = process.cpuUsage(cpuBefore);
  const entries = ledger.entries.length;
  console.log(
    `${'ledger, stacked fleet sample'.padEnd(30)} ${devices.toLocaleString('en-US')} devices x ${intervals} x 15 min, ` +
      `${claims.length.toLocaleString('en-US')} claims -> ${entries.toLocaleString('en-US')} entries` +
      `  buildLedger ${buildMs.toFixed(0)} ms (${Math.round(entries / (buildMs / 1000)).toLocaleString('en-US')} entries/s)` +
      `  + checkLedger ${(totalMs - buildMs).toFixed(0)} ms (cpu ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms)` +
      `  conflicts ${conflicts.length}`,
  );
  if (conflicts.length > 0) throw new Error('the ledger check found conflicts in buildLedger output');
}

function main(): void {
  const siteCount = argument('--sites', 100_000);
  const ledgerDevices = argument('--ledger-devices', 2_000);
  console.log(
    `settlement bench (node ${process.version}, load average ${(loadavg()[0] ?? 0).toFixed(1)}): ` +
      `${siteCount.toLocaleString('en-US')} sites x (${LOOKBACK_DAYS}-day lookback + event day) hourly, event ${EVENT_DAY} ` +
      `hours ${EVENT_HOURS.join(',')}; data generated outside the timed region in chunks of ${CHUNK.toLocaleString('en-US')}`,
  );
  const chunk = new SiteChunk(calendar());
  runMethod('caiso-10in10', chunk, Math.min(siteCount, 2_000)); // warm-up (JIT), not reported
  reportSites('caiso-10in10 + settleEvent', runMethod('caiso-10in10', chunk, siteCount));
  reportSites('pjm-high4of5 + settleEvent', runMethod('pjm-high4of5', chunk, siteCount));
  runLedger(ledgerDevices);
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
}

main();
