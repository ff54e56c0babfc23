/**
 * reconcile: settled energy (from settlement lines) against metered telemetry, per settlement
 * resource and interval, and our shadow lines against an ISO statement. Every gap is listed.
 *
 * Settled energy of a resource-interval = the sum of the quantities of its energy lines (unit kWh,
 * or MWh x 1000), unattributed included, EXCEPT lines whose charge code ends with ':STACKED':
 * those carry a stacking program's kWh that a partner's line already holds, so the shared kWh
 * count once. Devices map to resources through resourceIdOf (default: the device id); metered
 * energy of the devices of one resource adds up.
 */
import type { MeteredInterval, ReconciliationGap, ReconciliationReport, SettlementLine } from '../contract.ts';
import { DEFAULT_TOLERANCE_KWH, intervalKey, STACKED_SUFFIX } from './shared.ts';
import { checkMetered, checkTolerance, IssueList } from './validate.ts';

/** Statement amounts that differ by less than half a cent agree. */
export const STATEMENT_TOLERANCE_USD = 0.005;

export interface ReconcileOptions {
  toleranceKwh?: number;
  /** The ISO's settlement statement lines, compared amount by amount with ours. */
  statement?: readonly SettlementLine[];
  resourceIdOf?: (deviceId: string) => string;
}

const UNITS = new Set(['kWh', 'kW', 'MWh', 'MW', 'USD']);

const LINE_STRINGS = ['resourceId', 'programId', 'chargeCode'] as const;
const LINE_NUMBERS = ['start', 'intervalMinutes', 'quantity', 'price', 'amount'] as const;

function checkLines(issues: IssueList, path: string, lines: readonly SettlementLine[]): void {
  if (!Array.isArray(lines)) {
    issues.add(path, 'must be an array');
    return;
  }
  for (let index = 0; index < lines.length; index++) {
    const line: unknown = lines[index];
    if (typeof line !== 'object' || line === null) {
      issues.add(`${path}/${index}`, 'must be an object');
      continue;
    }
    const record = line as Record<string, unknown>;
    for (const field of LINE_STRINGS)
      if (typeof record[field] !== 'string') issues.add(`${path}/${index}/${field}`, 'must be a string');
    for (const field of LINE_NUMBERS) {
      const value = record[field];
      if (typeof value !== 'number' || !Number.isFinite(value))
        issues.add(`${path}/${index}/${field}`, 'must be a finite number');
    }
    if (!UNITS.has(record.unit as string)) issues.add(`${path}/${index}/unit`, 'must be kWh, kW, MWh, MW or USD');
  }
}

/** kWh of an energy line, or undefined for any other line. */
function energyKwhOf(line: SettlementLine): number | undefined {
  if (line.unit === 'kWh') return line.quantity;
  if (line.unit === 'MWh') return line.quantity * 1000;
  return undefined;
}

function baseCode(code: string): string {
  return code.endsWith(STACKED_SUFFIX) ? code.slice(0, -STACKED_SUFFIX.length) : code;
}

/** Quantity in the small unit (kWh, kW, USD) so ours and the ISO's compare. */
function smallUnitQuantity(line: SettlementLine): number {
  return line.unit === 'MWh' || line.unit === 'MW' ? line.quantity * 1000 : line.quantity;
}

export function reconcile(
  lines: readonly SettlementLine[],
  metered: readonly MeteredInterval[],
  options: ReconcileOptions = {},
): ReconciliationReport {
  const issues = new IssueList();
  checkLines(issues, '/lines', lines);
  checkMetered(issues, metered);
  if (options.statement !== undefined) checkLines(issues, '/options/statement', options.statement);
  checkTolerance(issues, '/options/toleranceKwh', options.toleranceKwh);
  issues.throwIfAny('reconciliation input');
  const tolerance = options.toleranceKwh ?? DEFAULT_TOLERANCE_KWH;
  const resourceOf = options.resourceIdOf ?? ((deviceId: string) => deviceId);

  interface Cell {
    resourceId: string;
    start: number;
    settled: number;
    hasLine: boolean;
    metered: number;
    hasMeter: boolean;
  }
  const cells = new Map<string, Cell>();
  const cellOf = (resourceId: string, start: number): Cell => {
    const key = intervalKey(resourceId, start);
    let cell = cells.get(key);
    if (cell === undefined) {
      cell = { resourceId, start, settled: 0, hasLine: false, metered: 0, hasMeter: false };
      cells.set(key, cell);
    }
    return cell;
  };
  for (const line of lines) {
    const kwh = energyKwhOf(line);
    if (kwh === undefined) continue;
    const cell = cellOf(line.resourceId, line.start);
    cell.hasLine = true;
    if (!line.chargeCode.endsWith(STACKED_SUFFIX)) cell.settled += kwh;
  }
  for (const meter of metered) {
    const cell = cellOf(resourceOf(meter.deviceId), meter.start);
    cell.hasMeter = true;
    cell.metered += meter.energyKwh;
  }

  const ordered = [...cells.values()].sort((a, b) =>
    a.resourceId < b.resourceId ? -1 : a.resourceId > b.resourceId ? 1 : a.start - b.start,
  );
  const gaps: ReconciliationGap[] = [];
  let settledKwh = 0;
  let meteredKwh = 0;
  for (const cell of ordered) {
    settledKwh += Math.abs(cell.settled);
    meteredKwh += Math.abs(cell.metered);
    let kind: ReconciliationGap['kind'] | undefined;
    if (cell.hasLine && !cell.hasMeter) kind = 'unmetered';
    else if (!cell.hasLine && Math.abs(cell.metered) > tolerance) kind = 'unsettled';
    else if (cell.hasLine && Math.abs(cell.settled - cell.metered) > tolerance) kind = 'quantity';
    if (kind === undefined) continue;
    const when = new Date(cell.start).toISOString();
    gaps.push({
      deviceId: cell.resourceId,
      start: cell.start,
      kind,
      settledKwh: cell.settled,
      meteredKwh: cell.metered,
      message:
        kind === 'unmetered'
          ? `${cell.settled} kWh settled for ${cell.resourceId} at ${when} without metered data`
          : kind === 'unsettled'
            ? `${cell.metered} kWh metered for ${cell.resourceId} at ${when} has no settlement line`
            : `${cell.resourceId} at ${when}: settled ${cell.settled} kWh, metered ${cell.metered} kWh`,
    });
  }

  if (options.statement !== undefined) {
    // Statement-driven: every ISO line against the sum of our lines with the same resource, interval
    // and charge code (our ':STACKED' part folded back into its code; a missing shadow line is 0).
    interface Pair {
      resourceId: string;
      start: number;
      chargeCode: string;
      ours: number;
      oursQuantity: number;
      theirs: number;
      theirsQuantity: number;
    }
    const pairs = new Map<string, Pair>();
    const keyOf = (line: SettlementLine) =>
      `${intervalKey(line.resourceId, line.start)}\u0000${baseCode(line.chargeCode)}`;
    for (const line of options.statement) {
      const key = keyOf(line);
      let pair = pairs.get(key);
      if (pair === undefined) {
        pair = {
          resourceId: line.resourceId,
          start: line.start,
          chargeCode: baseCode(line.chargeCode),
          ours: 0,
          oursQuantity: 0,
          theirs: 0,
          theirsQuantity: 0,
        };
        pairs.set(key, pair);
      }
      pair.theirs += line.amount;
      pair.theirsQuantity += smallUnitQuantity(line);
    }
    for (const line of lines) {
      const pair = pairs.get(keyOf(line));
      if (pair === undefined) continue;
      pair.ours += line.amount;
      pair.oursQuantity += smallUnitQuantity(line);
    }
    const statementGaps = [...pairs.values()]
      .filter((pair) => Math.abs(pair.ours - pair.theirs) > STATEMENT_TOLERANCE_USD)
      .sort((a, b) =>
        a.resourceId < b.resourceId
          ? -1
          : a.resourceId > b.resourceId
            ? 1
            : a.start - b.start || (a.chargeCode < b.chargeCode ? -1 : 1),
      );
    for (const pair of statementGaps)
      gaps.push({
        deviceId: pair.resourceId,
        start: pair.start,
        kind: 'statement',
        settledKwh: pair.oursQuantity,
        meteredKwh: pair.theirsQuantity,
        message: `${pair.chargeCode} for ${pair.resourceId} at ${new Date(pair.start).toISOString()}: statement ${pair.theirs} USD, shadow ${pair.ours} USD`,
      });
  }

  return { intervals: cells.size, settledKwh, meteredKwh, gaps, toleranceKwh: tolerance };
}
