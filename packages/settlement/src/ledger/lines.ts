/**
 * settlementLines: the shadow settlement of a ledger, one line per charge code (quantity x price =
 * amount, unrounded; cents only in exports). Revenue attributes from the ledger: energy at the
 * claim's interval price, capacity at its price; degradation and penalties are negative lines
 * charged to the program that caused them (notes §1.4).
 *
 * Units: energy lines kWh at $/kWh (the claim's $/MWh / 1000); capacity lines 'kW' with quantity
 * kW x interval hours (kW-h held) at $/kW-h ($/MW-h / 1000); degradation and penalty lines 'USD'
 * with quantity the cost in USD at price -1 (amount = -cost). A stacking program's kWh shared
 * with a partner is its own line with the code suffixed ':STACKED' (paid, but counted once by
 * reconcile).
 */
import { GridseamError } from '@gridseam/model';
import type { Claim, Ledger, LedgerEntry, ProgramRule, SettlementLine } from '../contract.ts';
import { UNATTRIBUTED } from '../contract.ts';
import {
  intervalKey,
  ProgramBook,
  STACKED_SUFFIX,
  sharedParts,
  UNATTRIBUTED_DEGRADATION_CODE,
  UNATTRIBUTED_ENERGY_CODE,
} from './shared.ts';
import { checkClaims, checkEntries, checkPrograms, IssueList } from './validate.ts';

export interface PenaltyInput {
  programId: string;
  deviceId: string;
  start: number;
  intervalMinutes: number;
  shortfallKwh: number;
  usdPerKwh: number;
}

export interface SettlementLinesOptions {
  /** Shortfall penalties (from settleEvent per device or program, §3.6), charged as negative lines. */
  penalties?: PenaltyInput[];
  /** The settlement resource of a device (an ISO resource id, a meter id); default the device id. */
  resourceIdOf?: (deviceId: string) => string;
}

export function energyChargeCode(programId: string, rule: ProgramRule | undefined): string {
  if (programId === UNATTRIBUTED) return UNATTRIBUTED_ENERGY_CODE;
  return rule?.energyChargeCode ?? `${programId}:ENERGY`;
}

export function capacityChargeCode(programId: string, rule: ProgramRule | undefined): string {
  return rule?.capacityChargeCode ?? `${programId}:CAPACITY`;
}

export function degradationChargeCode(programId: string): string {
  return programId === UNATTRIBUTED ? UNATTRIBUTED_DEGRADATION_CODE : `${programId}:DEGRADATION`;
}

export function penaltyChargeCode(programId: string, rule: ProgramRule | undefined): string {
  return rule?.penaltyChargeCode ?? `${programId}:PENALTY`;
}

/** Price sums of one program's claims on one device-interval. */
interface PriceSums {
  energySum: number;
  energyWeight: number;
  energyPlain: number;
  energyCount: number;
  capacitySum: number;
  capacityWeight: number;
  capacityPlain: number;
  capacityCount: number;
}

/**
 * The interval price of a program: the quantity-weighted mean when several of its claims priced
 * one device-interval (so amount = sum of quantity x price over them), else the one price; 0 when none.
 */
function meanPrice(sum: number, weight: number, plainSum: number, count: number): number {
  if (count === 0) return 0;
  return weight > 0 ? sum / weight : plainSum / count;
}

/** Price sums per device-interval, then per program. */
function claimPrices(claims: readonly Claim[]): Map<string, Map<string, PriceSums>> {
  const result = new Map<string, Map<string, PriceSums>>();
  for (const claim of claims) {
    if (claim.energyPriceUsdPerMwh === undefined && claim.capacityPriceUsdPerMwh === undefined) continue;
    const key = intervalKey(claim.deviceId, claim.start);
    let byProgram = result.get(key);
    if (byProgram === undefined) {
      byProgram = new Map();
      result.set(key, byProgram);
    }
    let sums = byProgram.get(claim.programId);
    if (sums === undefined) {
      sums = {
        energySum: 0,
        energyWeight: 0,
        energyPlain: 0,
        energyCount: 0,
        capacitySum: 0,
        capacityWeight: 0,
        capacityPlain: 0,
        capacityCount: 0,
      };
      byProgram.set(claim.programId, sums);
    }
    if (claim.energyPriceUsdPerMwh !== undefined) {
      const weight = Math.abs(claim.energyKwh ?? 0);
      sums.energySum += claim.energyPriceUsdPerMwh * weight;
      sums.energyWeight += weight;
      sums.energyPlain += claim.energyPriceUsdPerMwh;
      sums.energyCount++;
    }
    if (claim.capacityPriceUsdPerMwh !== undefined) {
      const weight = claim.capacityKw ?? 0;
      sums.capacitySum += claim.capacityPriceUsdPerMwh * weight;
      sums.capacityWeight += weight;
      sums.capacityPlain += claim.capacityPriceUsdPerMwh;
      sums.capacityCount++;
    }
  }
  return result;
}

function checkPenalties(issues: IssueList, penalties: readonly PenaltyInput[] | undefined): void {
  if (penalties === undefined) return;
  if (!Array.isArray(penalties)) {
    issues.add('/options/penalties', 'must be an array');
    return;
  }
  penalties.forEach((penalty, index) => {
    const path = `/options/penalties/${index}`;
    if (typeof penalty !== 'object' || penalty === null) {
      issues.add(path, 'must be an object');
      return;
    }
    for (const field of ['programId', 'deviceId'] as const)
      if (typeof penalty[field] !== 'string' || penalty[field].length === 0)
        issues.add(`${path}/${field}`, 'must be a non-empty string');
    for (const field of ['start', 'intervalMinutes', 'shortfallKwh', 'usdPerKwh'] as const) {
      const value = penalty[field];
      if (typeof value !== 'number' || !Number.isFinite(value))
        issues.add(`${path}/${field}`, 'must be a finite number');
      else if (field === 'intervalMinutes' ? value <= 0 : field !== 'start' && value < 0)
        issues.add(`${path}/${field}`, field === 'intervalMinutes' ? 'must be > 0' : 'must be >= 0');
    }
  });
}

/** A shadow line, amount = quantity x price (`+ 0` turns -0 into 0). An object literal: spread is slow here. */
function line(
  resourceId: string,
  programId: string,
  chargeCode: string,
  start: number,
  intervalMinutes: number,
  quantity: number,
  unit: SettlementLine['unit'],
  price: number,
): SettlementLine {
  return {
    resourceId,
    programId,
    chargeCode,
    start,
    intervalMinutes,
    quantity,
    unit,
    price,
    amount: quantity * price + 0,
    source: 'SHADOW',
  };
}

export function settlementLines(
  ledger: Ledger,
  claims: readonly Claim[],
  programs: readonly ProgramRule[],
  options: SettlementLinesOptions = {},
): SettlementLine[] {
  const issues = new IssueList();
  if (typeof ledger !== 'object' || ledger === null || !Array.isArray(ledger.entries))
    throw new GridseamError('GW_ERR_VALIDATION', 'invalid ledger: /ledger/entries must be an array', {
      issues: [{ path: '/ledger/entries', message: 'must be an array' }],
    });
  checkEntries(issues, ledger.entries);
  checkClaims(issues, claims);
  checkPrograms(issues, programs);
  checkPenalties(issues, options.penalties);
  issues.throwIfAny('settlement input');

  const book = new ProgramBook(programs);
  const prices = claimPrices(claims);
  const resourceOf = options.resourceIdOf ?? ((deviceId: string) => deviceId);

  // Entries per device-interval, in ledger order, to recover each stacking entry's shared kWh.
  const groups = new Map<string, LedgerEntry[]>();
  for (const entry of ledger.entries) {
    const key = intervalKey(entry.deviceId, entry.start);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [entry]);
    else group.push(entry);
  }

  const lines: SettlementLine[] = [];
  for (const [key, group] of groups) {
    // Only intervals with a stacking program can hold shared kWh.
    let stacked = false;
    for (const entry of group) if (book.stacksWithAny(entry.programId)) stacked = true;
    let shared: Map<string, number> | undefined;
    if (stacked) {
      const amounts: Array<{ programId: string; amount: number }> = [];
      for (const entry of group) amounts.push({ programId: entry.programId, amount: Math.abs(entry.energyKwh) });
      shared = sharedParts(amounts, book);
    }
    const intervalPrices = prices.get(key);
    for (const entry of group) {
      const { programId, start, intervalMinutes } = entry;
      const rule = book.rule(programId);
      const resourceId = resourceOf(entry.deviceId);
      const sums = intervalPrices?.get(programId);
      if (entry.energyKwh !== 0) {
        const code = energyChargeCode(programId, rule);
        const perKwh =
          programId === UNATTRIBUTED
            ? 0
            : (sums === undefined
                ? 0
                : meanPrice(sums.energySum, sums.energyWeight, sums.energyPlain, sums.energyCount)) / 1000;
        const sign = entry.energyKwh < 0 ? -1 : 1;
        const sharedKwh = Math.min(shared?.get(programId) ?? 0, Math.abs(entry.energyKwh));
        const freshKwh = Math.abs(entry.energyKwh) - sharedKwh;
        if (freshKwh > 0)
          lines.push(line(resourceId, programId, code, start, intervalMinutes, sign * freshKwh, 'kWh', perKwh));
        if (sharedKwh > 0)
          lines.push(
            line(resourceId, programId, code + STACKED_SUFFIX, start, intervalMinutes, sign * sharedKwh, 'kWh', perKwh),
          );
      }
      if (entry.capacityKw > 0) {
        lines.push(
          line(
            resourceId,
            programId,
            capacityChargeCode(programId, rule),
            start,
            intervalMinutes,
            entry.capacityKw * (intervalMinutes / 60),
            'kW',
            (sums === undefined
              ? 0
              : meanPrice(sums.capacitySum, sums.capacityWeight, sums.capacityPlain, sums.capacityCount)) / 1000,
          ),
        );
      }
      if (entry.degradationUsd !== 0) {
        lines.push(
          line(
            resourceId,
            programId,
            degradationChargeCode(programId),
            start,
            intervalMinutes,
            entry.degradationUsd,
            'USD',
            -1,
          ),
        );
      }
    }
  }

  const penalties = [...(options.penalties ?? [])].sort((a, b) => a.start - b.start);
  for (const penalty of penalties) {
    const cost = penalty.shortfallKwh * penalty.usdPerKwh;
    if (cost === 0) continue;
    lines.push(
      line(
        resourceOf(penalty.deviceId),
        penalty.programId,
        penaltyChargeCode(penalty.programId, book.rule(penalty.programId)),
        penalty.start,
        penalty.intervalMinutes,
        cost,
        'USD',
        -1,
      ),
    );
  }
  return lines;
}
