/**
 * The settlement ledger (notes §1.4): every metered kWh and kW of every device-interval attributed
 * to one program (or to stacking programs together), checked, priced into settlement lines,
 * reconciled with telemetry and an ISO statement, summarised per day, exported as CSV and JSON.
 */
export { type BuildLedgerOptions, buildLedger, type CurtailedClaim } from './build.ts';
export { assertNoDoubleAttribution, checkLedger } from './check.ts';
export { formatUsd, ledgerToCsv, linesToCsv, reconciliationToCsv, settlementJson } from './export.ts';
export {
  capacityChargeCode,
  degradationChargeCode,
  energyChargeCode,
  type PenaltyInput,
  penaltyChargeCode,
  type SettlementLinesOptions,
  settlementLines,
} from './lines.ts';
export { type ReconcileOptions, reconcile, STATEMENT_TOLERANCE_USD } from './reconcile.ts';
export {
  DEFAULT_TOLERANCE_KWH,
  STACKED_SUFFIX,
  UNATTRIBUTED_DEGRADATION_CODE,
  UNATTRIBUTED_ENERGY_CODE,
} from './shared.ts';
export { dailySummaries, settlementTotals } from './summaries.ts';
