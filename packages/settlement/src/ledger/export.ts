/**
 * Exports: CSV (RFC 4180: CRLF records, a header row, fields with a comma, quote, CR or LF quoted
 * and their quotes doubled) and JSON (version 1, a fixed key order whatever the input's). Times
 * as ISO-8601 UTC plus epoch ms; money rounded to cents (half away from zero) in CSV only; every
 * other number printed in full (JavaScript's shortest round-trip form).
 */
import type { DailyProgramSummary, Ledger, LedgerEntry, ReconciliationReport, SettlementLine } from '../contract.ts';

type Cell = string | number | undefined;

function quote(cell: Cell): string {
  if (cell === undefined) return '';
  const text = typeof cell === 'number' ? String(cell + 0) : cell;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csv(header: readonly string[], rows: Iterable<readonly Cell[]>): string {
  let out = `${header.join(',')}\r\n`;
  for (const row of rows) out += `${row.map(quote).join(',')}\r\n`;
  return out;
}

/** Cents, half away from zero (a relative epsilon absorbs 1.005 being 1.00499... in binary); never "-0.00". */
export function formatUsd(amount: number): string {
  const cents = Math.round(Math.abs(amount) * 100 * (1 + Number.EPSILON));
  const sign = amount < 0 && cents > 0 ? '-' : '';
  return `${sign}${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

function utc(ms: number): string {
  return new Date(ms).toISOString();
}

export function linesToCsv(lines: readonly SettlementLine[]): string {
  return csv(
    [
      'resource_id',
      'program_id',
      'charge_code',
      'start_utc',
      'start_ms',
      'interval_minutes',
      'quantity',
      'unit',
      'price',
      'amount',
      'source',
    ],
    lines.map((line) => [
      line.resourceId,
      line.programId,
      line.chargeCode,
      utc(line.start),
      line.start,
      line.intervalMinutes,
      line.quantity,
      line.unit,
      line.price,
      formatUsd(line.amount),
      line.source,
    ]),
  );
}

export function ledgerToCsv(entries: readonly LedgerEntry[]): string {
  return csv(
    [
      'device_id',
      'site_id',
      'program_id',
      'start_utc',
      'start_ms',
      'interval_minutes',
      'energy_kwh',
      'capacity_kw',
      'degradation_usd',
    ],
    entries.map((entry) => [
      entry.deviceId,
      entry.siteId,
      entry.programId,
      utc(entry.start),
      entry.start,
      entry.intervalMinutes,
      entry.energyKwh,
      entry.capacityKw,
      formatUsd(entry.degradationUsd),
    ]),
  );
}

export function reconciliationToCsv(report: ReconciliationReport): string {
  return csv(
    ['device_id', 'start_utc', 'start_ms', 'kind', 'settled_kwh', 'metered_kwh', 'message'],
    report.gaps.map((gap) => [
      gap.deviceId,
      utc(gap.start),
      gap.start,
      gap.kind,
      gap.settledKwh,
      gap.meteredKwh,
      gap.message,
    ]),
  );
}

function entryJson(entry: LedgerEntry) {
  return {
    deviceId: entry.deviceId,
    ...(entry.siteId !== undefined ? { siteId: entry.siteId } : {}),
    start: entry.start,
    intervalMinutes: entry.intervalMinutes,
    programId: entry.programId,
    energyKwh: entry.energyKwh,
    capacityKw: entry.capacityKw,
    degradationUsd: entry.degradationUsd,
  };
}

function curtailedJson(claim: Ledger['curtailedClaims'][number]) {
  return {
    deviceId: claim.deviceId,
    start: claim.start,
    programId: claim.programId,
    ...(claim.kind !== undefined ? { kind: claim.kind } : {}),
    claimed: claim.claimed,
    attributed: claim.attributed,
  };
}

function lineJson(line: SettlementLine) {
  return {
    resourceId: line.resourceId,
    programId: line.programId,
    chargeCode: line.chargeCode,
    start: line.start,
    intervalMinutes: line.intervalMinutes,
    quantity: line.quantity,
    unit: line.unit,
    price: line.price,
    amount: line.amount,
    source: line.source,
  };
}

function summaryJson(summary: DailyProgramSummary) {
  return {
    date: summary.date,
    programId: summary.programId,
    energyKwh: summary.energyKwh,
    capacityKwH: summary.capacityKwH,
    revenueUsd: summary.revenueUsd,
    penaltyUsd: summary.penaltyUsd,
    degradationUsd: summary.degradationUsd,
  };
}

/** The whole settlement as JSON, `version: 1`, keys in a fixed order (stable diffs and hashes). */
export function settlementJson(input: {
  ledger: Ledger;
  lines: readonly SettlementLine[];
  reconciliation: ReconciliationReport;
  summaries: readonly DailyProgramSummary[];
}): string {
  const { ledger, lines, reconciliation, summaries } = input;
  return JSON.stringify({
    version: 1,
    ledger: { entries: ledger.entries.map(entryJson), curtailedClaims: ledger.curtailedClaims.map(curtailedJson) },
    lines: lines.map(lineJson),
    reconciliation: {
      intervals: reconciliation.intervals,
      settledKwh: reconciliation.settledKwh,
      meteredKwh: reconciliation.meteredKwh,
      toleranceKwh: reconciliation.toleranceKwh,
      gaps: reconciliation.gaps.map((gap) => ({
        deviceId: gap.deviceId,
        start: gap.start,
        kind: gap.kind,
        settledKwh: gap.settledKwh,
        meteredKwh: gap.meteredKwh,
        message: gap.message,
      })),
    },
    summaries: summaries.map(summaryJson),
  });
}
