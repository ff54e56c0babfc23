/**
 * dailySummaries: per local operating day (the market's time zone, notes §4.4) and program, the
 * energy and capacity attributed, revenue, penalties and wear, as the console and JSON show them.
 */
import type {
  Claim,
  DailyProgramSummary,
  Ledger,
  LedgerEntry,
  LocalDate,
  MeteredInterval,
  ReconciliationReport,
  SettlementLine,
  SettlementTotals,
} from '../contract.ts';
import { UNATTRIBUTED } from '../contract.ts';
import { localDateOf } from '../time.ts';
import { UNATTRIBUTED_DEGRADATION_CODE } from './shared.ts';

/** A degradation line (unit USD, code `<program>:DEGRADATION`); other USD lines are penalties. */
function isDegradationLine(line: SettlementLine): boolean {
  return (
    line.unit === 'USD' &&
    (line.chargeCode.endsWith(':DEGRADATION') || line.chargeCode === UNATTRIBUTED_DEGRADATION_CODE)
  );
}

/**
 * energyKwh: signed sum of the entries (discharge positive); capacityKwH: kW x hours held;
 * degradationUsd: the entries' allocated wear; revenueUsd: the positive amounts of energy and
 * capacity lines (a charging cost is not negative revenue here); penaltyUsd: the penalty lines'
 * cost. Money and wear as positive numbers. Rows sorted by date, then program.
 */
export function dailySummaries(
  entries: readonly LedgerEntry[],
  lines: readonly SettlementLine[],
  timeZone: string,
): DailyProgramSummary[] {
  const dates = new Map<number, LocalDate>();
  const dateOf = (start: number): LocalDate => {
    let date = dates.get(start);
    if (date === undefined) {
      date = localDateOf(start, timeZone);
      dates.set(start, date);
    }
    return date;
  };
  const rows = new Map<string, DailyProgramSummary>();
  const rowOf = (start: number, programId: string): DailyProgramSummary => {
    const date = dateOf(start);
    const key = `${date}\u0000${programId}`;
    let row = rows.get(key);
    if (row === undefined) {
      row = { date, programId, energyKwh: 0, capacityKwH: 0, revenueUsd: 0, penaltyUsd: 0, degradationUsd: 0 };
      rows.set(key, row);
    }
    return row;
  };
  for (const entry of entries) {
    const row = rowOf(entry.start, entry.programId);
    row.energyKwh += entry.energyKwh;
    row.capacityKwH += entry.capacityKw * (entry.intervalMinutes / 60);
    row.degradationUsd += entry.degradationUsd;
  }
  for (const line of lines) {
    if (isDegradationLine(line)) continue;
    const row = rowOf(line.start, line.programId);
    if (line.unit === 'USD') row.penaltyUsd -= line.amount;
    else if (line.amount > 0) row.revenueUsd += line.amount;
  }
  return [...rows.values()].sort((a, b) =>
    a.date < b.date ? -1 : a.date > b.date ? 1 : a.programId < b.programId ? -1 : a.programId > b.programId ? 1 : 0,
  );
}

/**
 * The totals of one settlement run: revenue, penalties and wear from its daily summaries, the
 * energy bought (negative energy and capacity amounts, as a cost), attributed energy (every entry
 * but `unattributed`), metered energy and throughput, and the counts the day list shows.
 */
export function settlementTotals(run: {
  metered: readonly MeteredInterval[];
  ledger: Ledger;
  lines: readonly SettlementLine[];
  claims: readonly Claim[];
  reconciliation: ReconciliationReport;
  summaries: readonly DailyProgramSummary[];
}): SettlementTotals {
  let revenueUsd = 0;
  let penaltyUsd = 0;
  let degradationUsd = 0;
  for (const s of run.summaries) {
    revenueUsd += s.revenueUsd;
    penaltyUsd += s.penaltyUsd;
    degradationUsd += s.degradationUsd;
  }
  let energyCostUsd = 0;
  for (const line of run.lines) if (line.unit !== 'USD' && line.amount < 0) energyCostUsd -= line.amount;
  let attributedKwh = 0;
  for (const entry of run.ledger.entries)
    if (entry.programId !== UNATTRIBUTED) attributedKwh += Math.abs(entry.energyKwh);
  let meteredKwh = 0;
  let throughputKwh = 0;
  for (const m of run.metered) {
    meteredKwh += m.energyKwh;
    throughputKwh += m.throughputKwh ?? Math.abs(m.energyKwh);
  }
  return {
    attributedKwh,
    meteredKwh,
    throughputKwh,
    revenueUsd,
    energyCostUsd,
    penaltyUsd,
    degradationUsd,
    netUsd: revenueUsd - energyCostUsd - penaltyUsd - degradationUsd,
    lines: run.lines.length,
    entries: run.ledger.entries.length,
    claims: run.claims.length,
    curtailedClaims: run.ledger.curtailedClaims.length,
    gaps: run.reconciliation.gaps.length,
  };
}
