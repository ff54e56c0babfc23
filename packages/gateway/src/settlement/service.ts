/**
 * SettlementService: settles one local operating day of the gateway's market (bess_market.md §1.4).
 * It gathers from the store (gather.ts): metered intervals per storage device from telemetry,
 * claims from the program events in force, market awards (prices) and the latest dispatch plan
 * (capacity, prices, wear), then runs the pure ledger of @gridseam/settlement: buildLedger in
 * 'resolve' mode, checkLedger (must find nothing, else GW_ERR_DOUBLE_ATTRIBUTION and nothing is
 * stored), settlementLines, reconcile and dailySummaries. The day is stored as one document
 * (namespace 'settlement-days', id = the date) plus a small index entry ('settlement-day-index')
 * that the day list reads, and an audit row 'settlement.day'.
 *
 * A running day is settled up to the last whole interval before now (`complete: false`); settling
 * a day again replaces its documents. docs/reference/api.md "Settlement" documents the rules.
 */
import { GridseamError, type Membership, type Program, validationError } from '@gridseam/model';
import {
  addDays,
  buildLedger,
  checkLedger,
  type DailyProgramSummary,
  dailySummaries,
  dayIntervals,
  isLocalDate,
  type LedgerEntry,
  type LocalDate,
  ledgerToCsv,
  linesToCsv,
  type MeteredInterval,
  type ProgramRule,
  type ReconciliationGap,
  type ReconciliationReport,
  reconcile,
  reconciliationToCsv,
  type SettlementLine,
  settlementLines,
  settlementTotals,
  startOfLocalDay,
} from '@gridseam/settlement';
import type { DispatchPlanReader } from '../dispatch/plan-store.ts';
import type { DispatchPlanDocument } from '../dispatch/types.ts';
import { listAll } from '../store/list-all.ts';
import type { Store } from '../store/types.ts';
import { buildEventReport, type EventReportOptions, type GatewayEventReport } from './event-report.ts';
import {
  awardsOf,
  type GatheredClaim,
  gatherClaims,
  meteredIntervals,
  planCapacityChargeCode,
  type SettlementGrid,
  type StorageFacts,
  storageFactsOf,
} from './gather.ts';
import {
  MARKET_AWARDS_NAMESPACE,
  SETTLEMENT_DAYS_NAMESPACE,
  SETTLEMENT_INDEX_NAMESPACE,
  type SettlementDayDocument,
  type SettlementDaySummary,
  type SettlementPenalty,
} from './types.ts';

/** Settlement interval by default: 15 minutes (the ISOs' FMM / interchange interval, Order 825, notes §4.3). */
export const DEFAULT_SETTLEMENT_INTERVAL_MINUTES = 15;
/** kWh two quantities may differ by and still reconcile. */
export const DEFAULT_SETTLEMENT_TOLERANCE_KWH = 0.001;
/** Precedence of a program the registry no longer knows (after every known one). */
const UNKNOWN_PROGRAM_PRECEDENCE = 1000;
const MINUTE_MS = 60_000;

export interface SettlementServiceOptions {
  store: Store;
  /** The dispatch plans (capacity claims, plan prices, wear); absent without dispatch. */
  plans?: DispatchPlanReader | undefined;
  /** The market's time zone: local operating days are settled in it (default 'UTC'). */
  timeZone?: string;
  /** Settlement interval, minutes, dividing 60 (default 15). */
  intervalMinutes?: number;
  /**
   * Program rules by id, over those derived from the registry's programs (precedence = primacy,
   * 'wholesale-market' programs wholesale, others retail) and the dispatch plan's capacity products.
   */
  programs?: readonly ProgramRule[];
  /** Shortfall penalty per program, USD per kWh not delivered against an obligation (default none). */
  penaltyUsdPerKwh?: Readonly<Record<string, number>>;
  /** Degradation price of throughput, USD/MWh; default each battery's plan cost / planned throughput, else 0. */
  throughputUsdPerMwh?: number;
  toleranceKwh?: number;
  /** The ISO resource id of a device (lines' resourceId); default the device id. */
  resourceIdOf?: (deviceId: string) => string;
  now?: () => number;
}

/** Checks a `YYYY-MM-DD` calendar date, naming the field on failure. */
export function checkLocalDate(date: unknown, path = '/date'): LocalDate {
  if (!isLocalDate(date))
    throw validationError('settlement day', [{ path, message: 'must be a calendar date YYYY-MM-DD' }]);
  return date;
}

function checkIntervalMinutes(minutes: number): number {
  if (!Number.isInteger(minutes) || minutes <= 0 || 60 % minutes !== 0)
    throw new GridseamError('GW_ERR_CONFIG', `settlement intervalMinutes must divide 60 (got ${minutes})`);
  return minutes;
}

/** Rule of a registry program: precedence = its primacy (lower first, IEEE 2030.5 habit). */
export function programRuleOf(program: Program): ProgramRule {
  return {
    id: program.id,
    kind: program.kind === 'wholesale-market' ? 'wholesale' : 'retail',
    precedence: program.primacy,
  };
}

/** USD per kWh of throughput per battery from the plan: its degradation cost / planned |charge| + |discharge|. */
export function planWearRates(plan: DispatchPlanDocument | undefined): Map<string, number> {
  const rates = new Map<string, number>();
  if (plan === undefined || plan.status !== 'ok') return rates;
  for (const battery of plan.batteries) {
    let throughputKwh = 0;
    for (const interval of battery.intervals)
      throughputKwh += (interval.chargeKw + interval.dischargeKw) * ((interval.end - interval.start) / 3_600_000);
    if (throughputKwh > 0 && battery.degradationCostUsd > 0)
      rates.set(battery.deviceId, battery.degradationCostUsd / throughputKwh);
  }
  return rates;
}

/**
 * Shortfalls against obligations, where the device was metered: |obligation| - |attributed to the
 * program| (never negative), priced at the program's penalty rate; programs without one pay none.
 */
export function shortfallPenalties(
  claims: readonly GatheredClaim[],
  entries: readonly LedgerEntry[],
  metered: readonly MeteredInterval[],
  rates: Readonly<Record<string, number>>,
): SettlementPenalty[] {
  const attributed = new Map<string, number>();
  for (const entry of entries) {
    const key = `${entry.deviceId}|${entry.start}|${entry.programId}`;
    attributed.set(key, (attributed.get(key) ?? 0) + entry.energyKwh);
  }
  const meteredAt = new Set(metered.map((m) => `${m.deviceId}|${m.start}`));
  const penalties: SettlementPenalty[] = [];
  for (const claim of claims) {
    const rate = rates[claim.programId];
    if (rate === undefined || rate <= 0 || claim.obligationKwh === 0) continue;
    if (!meteredAt.has(`${claim.deviceId}|${claim.start}`)) continue; // a data gap, not under-delivery
    const got = attributed.get(`${claim.deviceId}|${claim.start}|${claim.programId}`) ?? 0;
    const delivered = Math.sign(got) === Math.sign(claim.obligationKwh) ? Math.abs(got) : 0;
    const shortfallKwh = Math.abs(claim.obligationKwh) - delivered;
    if (shortfallKwh <= 1e-9) continue;
    penalties.push({
      programId: claim.programId,
      deviceId: claim.deviceId,
      start: claim.start,
      intervalMinutes: claim.intervalMinutes,
      shortfallKwh,
      usdPerKwh: rate,
    });
  }
  return penalties;
}

/**
 * Intervals the meter did not cover, kind 'unmetered': an interval a program claimed without a
 * metered interval (settlement needed a meter there; settledKwh = the kWh claimed), and a silent
 * interval between a device's first and last metered interval of the day (a telemetry outage).
 * Before a device's first reading or after its last, an interval nobody claimed settles nothing
 * and meters nothing, so it is no gap (a device added during the day, or one that left).
 */
export function meteringGaps(
  grid: SettlementGrid,
  metered: readonly MeteredInterval[],
  claims: readonly GatheredClaim[],
): ReconciliationGap[] {
  const have = new Set(metered.map((m) => `${m.deviceId}|${m.start}`));
  const devices = new Set([...metered.map((m) => m.deviceId), ...claims.map((c) => c.deviceId)]);
  const claimed = new Map<string, number>();
  for (const claim of claims) {
    const key = `${claim.deviceId}|${claim.start}`;
    claimed.set(key, (claimed.get(key) ?? 0) + (claim.energyKwh ?? 0));
  }
  const span = new Map<string, { first: number; last: number }>();
  for (const m of metered) {
    const known = span.get(m.deviceId);
    if (known === undefined) span.set(m.deviceId, { first: m.start, last: m.start });
    else {
      known.first = Math.min(known.first, m.start);
      known.last = Math.max(known.last, m.start);
    }
  }
  const gaps: ReconciliationGap[] = [];
  for (const deviceId of [...devices].sort())
    for (const start of grid.starts) {
      const key = `${deviceId}|${start}`;
      if (have.has(key)) continue;
      const within = span.get(deviceId);
      const silentInside = within !== undefined && start > within.first && start < within.last;
      if (!claimed.has(key) && !silentInside) continue;
      const settledKwh = claimed.get(key) ?? 0;
      gaps.push({
        deviceId,
        start,
        kind: 'unmetered',
        settledKwh,
        meteredKwh: 0,
        message:
          settledKwh !== 0
            ? `no telemetry for ${deviceId} in this interval: ${settledKwh.toFixed(3)} kWh claimed cannot be settled`
            : `no telemetry for ${deviceId} in this interval`,
      });
    }
  return gaps;
}

function gapsByKind(gaps: readonly ReconciliationGap[]): Record<ReconciliationGap['kind'], number> {
  const counts: Record<ReconciliationGap['kind'], number> = { unmetered: 0, unsettled: 0, quantity: 0, statement: 0 };
  for (const gap of gaps) counts[gap.kind] += 1;
  return counts;
}

export type SettlementCsv = 'lines' | 'ledger' | 'reconciliation';

export class SettlementService {
  readonly timeZone: string;
  readonly intervalMinutes: number;
  readonly #options: SettlementServiceOptions;
  readonly #now: () => number;
  /** One settlement per day at a time. */
  readonly #running = new Map<string, Promise<SettlementDayDocument>>();

  constructor(options: SettlementServiceOptions) {
    this.#options = options;
    this.timeZone = options.timeZone ?? 'UTC';
    this.intervalMinutes = checkIntervalMinutes(options.intervalMinutes ?? DEFAULT_SETTLEMENT_INTERVAL_MINUTES);
    this.#now = options.now ?? Date.now;
    startOfLocalDay('2000-01-01', this.timeZone); // an unknown zone fails here, at start-up
  }

  /** Settles a local day (replacing an earlier settlement of it) and stores it. */
  settleDay(date: LocalDate, actor = 'system'): Promise<SettlementDayDocument> {
    checkLocalDate(date);
    const previous = this.#running.get(date);
    const run = (previous ?? Promise.resolve()).catch(() => undefined).then(() => this.#settle(date, actor));
    this.#running.set(date, run);
    const forget = () => {
      if (this.#running.get(date) === run) this.#running.delete(date);
    };
    run.then(forget, forget);
    return run;
  }

  /** A settled day, or undefined when it has not been settled. */
  async day(date: LocalDate): Promise<SettlementDayDocument | undefined> {
    checkLocalDate(date);
    return (await this.#options.store.documents.get(SETTLEMENT_DAYS_NAMESPACE, date)) as
      | SettlementDayDocument
      | undefined;
  }

  /** A settled day; GW_ERR_NOT_FOUND when it has not been settled. */
  async requireDay(date: LocalDate): Promise<SettlementDayDocument> {
    const doc = await this.day(date);
    if (doc === undefined)
      throw new GridseamError(
        'GW_ERR_NOT_FOUND',
        `day ${date} has not been settled (POST /api/settlement/days/${date})`,
      );
    return doc;
  }

  /** The settled days' summaries, oldest first, optionally within [from, to] (dates, inclusive). */
  async days(from?: LocalDate, to?: LocalDate): Promise<SettlementDaySummary[]> {
    if (from !== undefined) checkLocalDate(from, '/from');
    if (to !== undefined) checkLocalDate(to, '/to');
    const stored = await this.#options.store.documents.list(SETTLEMENT_INDEX_NAMESPACE);
    return stored
      .filter(({ id }) => (from === undefined || id >= from) && (to === undefined || id <= to))
      .map(({ doc }) => doc as SettlementDaySummary);
  }

  /** Per program and day over [from, to] (dates, inclusive): the settled days' program summaries. */
  async summaries(from?: LocalDate, to?: LocalDate): Promise<DailyProgramSummary[]> {
    return (await this.days(from, to)).flatMap((day) => day.programs);
  }

  /** A settled day's export as CSV (the @gridseam/settlement exporters). */
  csv(doc: SettlementDayDocument, kind: SettlementCsv): string {
    if (kind === 'lines') return linesToCsv(doc.lines);
    if (kind === 'ledger') return ledgerToCsv(doc.ledger.entries);
    return reconciliationToCsv(doc.reconciliation);
  }

  /**
   * One program event's M&V report per site, storage device and aggregation (event-report.ts):
   * baselines from the site meters' telemetry in this service's time zone, device metering for
   * the batteries. GW_ERR_NOT_FOUND for an unknown event; a refused baseline is a note.
   */
  eventReport(eventId: string, options: EventReportOptions = {}): Promise<GatewayEventReport> {
    return buildEventReport(
      {
        store: this.#options.store,
        timeZone: this.timeZone,
        intervalMinutes: this.intervalMinutes,
        penaltyUsdPerKwh: this.#options.penaltyUsdPerKwh,
      },
      eventId,
      options,
    );
  }

  async #settle(date: LocalDate, actor: string): Promise<SettlementDayDocument> {
    const { store } = this.#options;
    const timeZone = this.timeZone;
    const now = this.#now();
    const from = startOfLocalDay(date, timeZone);
    const to = startOfLocalDay(addDays(date, 1), timeZone);
    if (from >= now)
      throw validationError('settlement day', [
        { path: '/date', message: `${date} has not started yet in ${timeZone}` },
      ]);
    const intervalMs = this.intervalMinutes * MINUTE_MS;
    const settledUntil = Math.min(to, now);
    const grid: SettlementGrid = {
      starts: dayIntervals(date, timeZone, this.intervalMinutes).starts.filter((s) => s + intervalMs <= settledUntil),
      intervalMinutes: this.intervalMinutes,
    };
    const until = grid.starts.length > 0 ? (grid.starts[grid.starts.length - 1] as number) + intervalMs : from;
    const notes: string[] = [];

    const [devices, programs, enrolments, events, plan, awardDocs] = await Promise.all([
      listAll((page) => store.devices.list(page)),
      listAll((page) => store.programs.list(page)),
      listAll((page) => store.enrolments.list(page)),
      listAll((page) => store.events.list({ ...page, from, to: until })),
      this.#options.plans?.latest() ?? Promise.resolve(undefined),
      store.documents.list(MARKET_AWARDS_NAMESPACE),
    ]);
    const storage = new Map<string, StorageFacts>();
    for (const device of devices) {
      const facts = storageFactsOf(device);
      if (facts !== undefined) storage.set(device.id, facts);
    }
    const memberships = new Map<string, Membership[]>();
    for (const groupId of new Set(events.flatMap((e) => e.targets.groupIds ?? [])))
      memberships.set(groupId, await store.memberships.list({ groupId }));
    const { awards, skipped } = awardsOf(awardDocs.map((d) => d.doc));
    if (skipped > 0) notes.push(`${skipped} market award record(s) not understood and left out`);

    // Metering: activePower in 1-minute buckets (aligned for every zone: offsets are whole minutes).
    const wearRates = planWearRates(plan);
    const flatRate =
      this.#options.throughputUsdPerMwh !== undefined ? this.#options.throughputUsdPerMwh / 1000 : undefined;
    const metered: MeteredInterval[] = [];
    for (const facts of storage.values()) {
      if (until <= from) break;
      const buckets = await store.telemetry.downsample({
        deviceId: facts.deviceId,
        measurand: 'activePower',
        from,
        to: until,
        bucketMs: MINUTE_MS,
      });
      metered.push(...meteredIntervals(facts, buckets, grid, flatRate ?? wearRates.get(facts.deviceId) ?? 0));
    }
    metered.sort((a, b) => a.start - b.start || (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));

    const gathered = gatherClaims({
      grid,
      until,
      events,
      programs: new Map(programs.map((p) => [p.id, p])),
      storage,
      enrolments,
      memberships,
      awards,
      plan,
    });
    notes.push(...gathered.notes);
    const claims = gathered.claims;

    const rules = new Map<string, ProgramRule>(programs.map((p) => [p.id, programRuleOf(p)]));
    if (plan !== undefined)
      for (const claim of claims)
        if (claim.programId.startsWith(`${plan.programId}:`) && !rules.has(claim.programId))
          rules.set(claim.programId, {
            id: claim.programId,
            kind: 'wholesale',
            precedence: plan.primacy,
            capacityChargeCode: planCapacityChargeCode(
              plan.programId,
              claim.programId.slice(plan.programId.length + 1),
            ),
          });
    for (const rule of this.#options.programs ?? []) rules.set(rule.id, rule);
    for (const claim of claims)
      if (!rules.has(claim.programId)) {
        rules.set(claim.programId, { id: claim.programId, kind: 'retail', precedence: UNKNOWN_PROGRAM_PRECEDENCE });
        notes.push(`program ${claim.programId} is not in the registry: settled after every known program`);
      }
    const programRules = [...rules.values()].sort((a, b) => a.precedence - b.precedence || (a.id < b.id ? -1 : 1));

    // The ledger (pure): one program per kWh and kW; the independent check must find nothing.
    const plainClaims = claims.map(({ obligationKwh: _o, ...claim }) => claim);
    const ledger = buildLedger(plainClaims, metered, programRules, { mode: 'resolve' });
    const tolerance = this.#options.toleranceKwh ?? DEFAULT_SETTLEMENT_TOLERANCE_KWH;
    const conflicts = checkLedger(ledger.entries, metered, programRules, tolerance);
    if (conflicts.length > 0)
      throw new GridseamError(
        'GW_ERR_DOUBLE_ATTRIBUTION',
        `the ledger of ${date} attributes energy or capacity twice (${conflicts.length} conflict(s)); nothing was stored`,
        { details: { conflicts } },
      );
    const penalties = shortfallPenalties(claims, ledger.entries, metered, this.#options.penaltyUsdPerKwh ?? {});
    const resourceIdOf = this.#options.resourceIdOf;
    const lines: SettlementLine[] = settlementLines(ledger, plainClaims, programRules, {
      penalties,
      ...(resourceIdOf ? { resourceIdOf } : {}),
    });
    const reconciled = reconcile(lines, metered, {
      toleranceKwh: tolerance,
      ...(resourceIdOf ? { resourceIdOf } : {}),
    });
    const reconciliation: ReconciliationReport = {
      ...reconciled,
      gaps: mergeGaps(reconciled.gaps, meteringGaps(grid, metered, claims)),
    };
    const summaries = dailySummaries(ledger.entries, lines, timeZone).filter((s) => s.date === date);

    const settledAt = now;
    const summary: SettlementDaySummary = {
      version: 1,
      date,
      timeZone,
      intervalMinutes: this.intervalMinutes,
      from,
      to,
      settledUntil: until,
      complete: until >= to,
      settledAt,
      settledBy: actor,
      devices: new Set(metered.map((m) => m.deviceId)).size,
      totals: settlementTotals({ metered, ledger, lines, claims, reconciliation, summaries }),
      programs: summaries,
      gapsByKind: gapsByKind(reconciliation.gaps),
    };
    const doc: SettlementDayDocument = {
      ...summary,
      programRules,
      metered,
      claims: plainClaims,
      ledger,
      lines,
      penalties,
      reconciliation,
      notes,
    };
    await store.documents.write(SETTLEMENT_DAYS_NAMESPACE, [{ id: date, doc }]);
    await store.documents.write(SETTLEMENT_INDEX_NAMESPACE, [{ id: date, doc: summary }]);
    await store.audit.append({
      at: settledAt,
      actor,
      action: 'settlement.day',
      targetType: 'settlement-day',
      targetId: date,
      detail: { timeZone, complete: summary.complete, totals: summary.totals },
    });
    return doc;
  }
}

/** The reconciliation's gaps plus the metering gaps it does not already report, by time then device. */
function mergeGaps(
  reported: readonly ReconciliationGap[],
  metering: readonly ReconciliationGap[],
): ReconciliationGap[] {
  const seen = new Set(reported.map((g) => `${g.deviceId}|${g.start}|${g.kind}`));
  const merged = [...reported, ...metering.filter((g) => !seen.has(`${g.deviceId}|${g.start}|${g.kind}`))];
  return merged.sort((a, b) => a.start - b.start || (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
}
