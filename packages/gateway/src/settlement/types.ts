/**
 * The documents settlement stores (store.documents) and the operator API serves
 * (/api/settlement/*, docs/reference/api.md "Settlement"). Energy kWh (discharge positive),
 * capacity kW, prices $/MWh and $/MW-h, money USD; instants epoch ms; days are the market's
 * local operating days (`YYYY-MM-DD`, bess_market.md §4.4: UTC instants plus the local day).
 */
import type {
  Claim,
  DailyProgramSummary,
  Ledger,
  LocalDate,
  MeteredInterval,
  ProgramRule,
  ReconciliationGap,
  ReconciliationReport,
  SettlementLine,
  SettlementTotals,
} from '@gridseam/settlement';

/** One document per settled day, id = the date. */
export const SETTLEMENT_DAYS_NAMESPACE = 'settlement-days';
/** The small summary of each settled day, id = the date: what the day list reads without the full documents. */
export const SETTLEMENT_INDEX_NAMESPACE = 'settlement-day-index';
/** Where the market interface keeps imported awards; settlement reads them for clearing prices. */
export { MARKET_AWARDS_NAMESPACE } from '../market/stores.ts';

/** A shortfall against an obligation (a fixedW or energy award the device did not deliver), priced. */
export interface SettlementPenalty {
  programId: string;
  deviceId: string;
  start: number;
  intervalMinutes: number;
  shortfallKwh: number;
  usdPerKwh: number;
}

/** The index entry of a settled day (GET /api/settlement/days). */
export interface SettlementDaySummary {
  version: 1;
  date: LocalDate;
  timeZone: string;
  intervalMinutes: number;
  /** The local day's bounds, epoch ms: [from, to); 23, 24 or 25 hours. */
  from: number;
  to: number;
  /** Intervals settled end at or before this instant (the day's end, or `settledAt` for today). */
  settledUntil: number;
  /** False while the day was still running when it was settled. */
  complete: boolean;
  settledAt: number;
  settledBy: string;
  devices: number;
  totals: SettlementTotals;
  /** The day per program (dailySummaries of @gridseam/settlement). */
  programs: DailyProgramSummary[];
  gapsByKind: Record<ReconciliationGap['kind'], number>;
}

export type { SettlementTotals };

/** Everything a settled day holds (GET /api/settlement/days/:date). */
export interface SettlementDayDocument extends SettlementDaySummary {
  programRules: ProgramRule[];
  metered: MeteredInterval[];
  claims: Claim[];
  ledger: Ledger;
  lines: SettlementLine[];
  penalties: SettlementPenalty[];
  reconciliation: ReconciliationReport;
  /** How data was read or left out (unpriced claims, unreadable award documents, ...). */
  notes: string[];
}
