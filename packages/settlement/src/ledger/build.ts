/**
 * buildLedger: attribute every metered kWh (and every kW of headroom) of every device-interval to
 * exactly one program, or to several only where the programs stack (notes §1.4). Pure.
 */
import { GridseamError } from '@gridseam/model';
import type { AttributionConflict, Claim, Ledger, LedgerEntry, MeteredInterval, ProgramRule } from '../contract.ts';
import { UNATTRIBUTED } from '../contract.ts';
import { DEFAULT_TOLERANCE_KWH, intervalKey, ProgramBook, type Segment, takeSegments } from './shared.ts';
import { checkClaims, checkMetered, checkPrograms, checkTolerance, IssueList } from './validate.ts';

export interface BuildLedgerOptions {
  /** 'resolve' (default): cut what cannot be served and record it; 'refuse': throw on any real conflict. */
  mode?: 'resolve' | 'refuse';
  /** Energy (kWh) and capacity (kW) slack before a cut counts as a conflict in 'refuse' mode; default 1e-6. */
  toleranceKwh?: number;
}

/** A cut claim. `kind` says whether claimed/attributed are kWh (signed) or kW. */
export type CurtailedClaim = Ledger['curtailedClaims'][number] & { kind: 'energy' | 'capacity' };

/** One ledger entry; an object literal (object spread is slow on this hot path). */
function makeEntry(
  deviceId: string,
  siteId: string | undefined,
  start: number,
  intervalMinutes: number,
  programId: string,
  energyKwh: number,
  capacityKw: number,
): LedgerEntry {
  const entry: LedgerEntry = { deviceId, start, intervalMinutes, programId, energyKwh, capacityKw, degradationUsd: 0 };
  if (siteId !== undefined) entry.siteId = siteId;
  return entry;
}

/** Cuts and leftovers below this are float noise, not business quantities, kWh. */
const NOISE = 1e-12;

interface MergedClaim {
  programId: string;
  siteId?: string;
  energyKwh: number;
  hasEnergy: boolean;
  capacityKw: number;
}

interface DeviceInterval {
  deviceId: string;
  start: number;
  intervalMinutes: number;
  meter?: MeteredInterval;
  claims: Map<string, MergedClaim>;
}

function groupInputs(claims: readonly Claim[], metered: readonly MeteredInterval[]): DeviceInterval[] {
  const issues = new IssueList();
  const byKey = new Map<string, DeviceInterval>();
  metered.forEach((meter, index) => {
    const key = intervalKey(meter.deviceId, meter.start);
    if (byKey.has(key)) {
      issues.add(`/metered/${index}`, `a second metered interval for ${meter.deviceId} at ${meter.start}`);
      return;
    }
    byKey.set(key, {
      deviceId: meter.deviceId,
      start: meter.start,
      intervalMinutes: meter.intervalMinutes,
      meter,
      claims: new Map(),
    });
  });
  claims.forEach((claim, index) => {
    const key = intervalKey(claim.deviceId, claim.start);
    let group = byKey.get(key);
    if (group === undefined) {
      group = {
        deviceId: claim.deviceId,
        start: claim.start,
        intervalMinutes: claim.intervalMinutes,
        claims: new Map(),
      };
      byKey.set(key, group);
    }
    if (claim.intervalMinutes !== group.intervalMinutes) {
      issues.add(
        `/claims/${index}/intervalMinutes`,
        `${claim.intervalMinutes} min does not match the ${group.intervalMinutes} min interval of ${claim.deviceId} at ${claim.start} (align claims to the metering interval)`,
      );
      return;
    }
    // Several claims of one program for one device-interval (two events, an award and a plan) add up.
    let merged = group.claims.get(claim.programId);
    if (merged === undefined) {
      merged = { programId: claim.programId, energyKwh: 0, hasEnergy: false, capacityKw: 0 };
      group.claims.set(claim.programId, merged);
    }
    if (merged.siteId === undefined && claim.siteId !== undefined) merged.siteId = claim.siteId;
    if (claim.energyKwh !== undefined) {
      merged.energyKwh += claim.energyKwh;
      merged.hasEnergy = true;
    }
    merged.capacityKw += claim.capacityKw ?? 0;
  });
  issues.throwIfAny('ledger input');
  return [...byKey.values()].sort((a, b) =>
    a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : a.start - b.start,
  );
}

/**
 * Split the interval's degradation cost over its entries by throughput share |energyKwh| (notes
 * §1.4); throughput beyond |E| (charge and discharge inside one interval) is nobody's and goes to
 * 'unattributed'. The heaviest entry takes the remainder so the parts sum to the cost exactly.
 */
function allocateDegradation(entries: LedgerEntry[], meter: MeteredInterval): void {
  const cost = meter.degradationUsd ?? 0;
  if (!(cost > 0)) return;
  const metered = Math.abs(meter.energyKwh);
  const excess = Math.max(0, (meter.throughputKwh ?? metered) - metered);
  const weights: number[] = [];
  let unattributedIndex = -1;
  let total = excess;
  for (let index = 0; index < entries.length; index++) {
    const weight = Math.abs(entries[index]!.energyKwh);
    weights.push(weight);
    total += weight;
    if (entries[index]!.programId === UNATTRIBUTED) unattributedIndex = index;
  }
  if (unattributedIndex < 0 && (excess > 0 || total === 0)) {
    entries.push(makeEntry(meter.deviceId, meter.siteId, meter.start, meter.intervalMinutes, UNATTRIBUTED, 0, 0));
    weights.push(0);
    unattributedIndex = entries.length - 1;
  }
  if (total === 0) {
    entries[unattributedIndex]!.degradationUsd = cost;
    return;
  }
  if (unattributedIndex >= 0) weights[unattributedIndex]! += excess;
  let heaviest = 0;
  for (let index = 1; index < weights.length; index++) if (weights[index]! > weights[heaviest]!) heaviest = index;
  let allocated = 0;
  for (let index = 0; index < entries.length; index++) {
    if (index === heaviest) continue;
    const share = (cost * weights[index]!) / total;
    entries[index]!.degradationUsd = share;
    allocated += share;
  }
  entries[heaviest]!.degradationUsd = cost - allocated;
}

function conflictMessage(
  kind: 'energy' | 'capacity',
  programId: string,
  blockers: string[],
  claimed: number,
  got: number,
  limit: number,
): string {
  const unit = kind === 'energy' ? 'kWh' : 'kW';
  if (blockers.length > 0)
    return `${programId} claims ${claimed} ${unit} but ${blockers.join(', ')} (not stacking with it) already hold the ${kind}; ${got} ${unit} left for it`;
  return `${programId} claims ${claimed} ${unit}, more than the ${limit} ${unit} the meter allows`;
}

export function buildLedger(
  claims: readonly Claim[],
  metered: readonly MeteredInterval[],
  programs: readonly ProgramRule[],
  options: BuildLedgerOptions = {},
): Ledger {
  const issues = new IssueList();
  checkPrograms(issues, programs);
  checkClaims(issues, claims);
  checkMetered(issues, metered);
  checkTolerance(issues, '/options/toleranceKwh', options.toleranceKwh);
  if (options.mode !== undefined && options.mode !== 'resolve' && options.mode !== 'refuse')
    issues.add('/options/mode', "must be 'resolve' or 'refuse'");
  issues.throwIfAny('ledger input');

  const refuse = options.mode === 'refuse';
  const tolerance = options.toleranceKwh ?? DEFAULT_TOLERANCE_KWH;
  const book = new ProgramBook(programs);
  const entries: LedgerEntry[] = [];
  const curtailedClaims: CurtailedClaim[] = [];
  const conflicts: AttributionConflict[] = [];

  for (const group of groupInputs(claims, metered)) {
    const { deviceId, start, intervalMinutes, meter } = group;
    const ordered = [...group.claims.values()].sort(book.compareByProgram);

    if (meter === undefined) {
      // No metered data: nothing can be attributed ('resolve'), or a 'metered' conflict ('refuse').
      for (const claim of ordered) {
        if (claim.hasEnergy && claim.energyKwh !== 0)
          curtailedClaims.push({
            deviceId,
            start,
            programId: claim.programId,
            claimed: claim.energyKwh,
            attributed: 0,
            kind: 'energy',
          });
        if (claim.capacityKw > 0)
          curtailedClaims.push({
            deviceId,
            start,
            programId: claim.programId,
            claimed: claim.capacityKw,
            attributed: 0,
            kind: 'capacity',
          });
        const quantity = Math.max(Math.abs(claim.energyKwh), claim.capacityKw);
        if (refuse && quantity > tolerance)
          conflicts.push({
            deviceId,
            start,
            kind: 'metered',
            programs: [claim.programId],
            quantity,
            limit: 0,
            message: `${claim.programId} claims ${deviceId} at ${new Date(start).toISOString()} but the interval has no metered data`,
          });
      }
      continue;
    }

    const energy = meter.energyKwh;
    const sign = energy < 0 ? -1 : 1;
    const hours = intervalMinutes / 60;
    const energySegments: Segment[] = [{ amount: Math.abs(energy), holders: [] }];
    // Capacity is what headroom leaves after the power the energy used (notes §1.4: sum r <= headroom).
    const capacityLimit = Math.max(0, meter.headroomKw - Math.abs(energy) / hours);
    const capacitySegments: Segment[] = [{ amount: capacityLimit, holders: [] }];
    const intervalEntries: LedgerEntry[] = [];

    for (const claim of ordered) {
      let energyTaken = 0;
      if (claim.hasEnergy && claim.energyKwh !== 0) {
        const wanted = Math.abs(claim.energyKwh);
        const sameSign = energy !== 0 && Math.sign(claim.energyKwh) === sign;
        // Opposite-sign claims get nothing: the meter did not move that way (it is a cut, not a conflict
        // with another program).
        const { taken, blockers } = sameSign
          ? takeSegments(energySegments, claim.programId, wanted, book)
          : { taken: 0, blockers: [] as string[] };
        energyTaken = taken;
        if (wanted - taken > NOISE)
          curtailedClaims.push({
            deviceId,
            start,
            programId: claim.programId,
            claimed: claim.energyKwh,
            attributed: sign * taken + 0,
            kind: 'energy',
          });
        if (refuse && wanted - taken > tolerance)
          conflicts.push({
            deviceId,
            start,
            kind: 'energy',
            programs: [claim.programId, ...blockers],
            quantity: wanted,
            limit: taken,
            message: sameSign
              ? conflictMessage('energy', claim.programId, blockers, wanted, taken, Math.abs(energy))
              : `${claim.programId} claims ${claim.energyKwh} kWh but the meter measured ${energy} kWh${energy === 0 ? '' : ' (opposite sign)'}`,
          });
      }
      let capacityTaken = 0;
      if (claim.capacityKw > 0) {
        const { taken, blockers } = takeSegments(capacitySegments, claim.programId, claim.capacityKw, book);
        capacityTaken = taken;
        if (claim.capacityKw - taken > NOISE)
          curtailedClaims.push({
            deviceId,
            start,
            programId: claim.programId,
            claimed: claim.capacityKw,
            attributed: taken,
            kind: 'capacity',
          });
        if (refuse && claim.capacityKw - taken > tolerance)
          conflicts.push({
            deviceId,
            start,
            kind: 'capacity',
            programs: [claim.programId, ...blockers],
            quantity: claim.capacityKw,
            limit: taken,
            message: conflictMessage('capacity', claim.programId, blockers, claim.capacityKw, taken, capacityLimit),
          });
      }
      if (energyTaken > 0 || capacityTaken > 0) {
        const siteId = meter.siteId ?? claim.siteId;
        const energyKwh = sign * energyTaken + 0;
        intervalEntries.push(
          makeEntry(deviceId, siteId, start, intervalMinutes, claim.programId, energyKwh, capacityTaken),
        );
      }
    }

    // What no claim took is unattributed: merchant / uninstructed energy.
    let unattributed = 0;
    for (const segment of energySegments) if (segment.holders.length === 0) unattributed += segment.amount;
    if (unattributed > NOISE)
      intervalEntries.push(
        makeEntry(deviceId, meter.siteId, start, intervalMinutes, UNATTRIBUTED, sign * unattributed, 0),
      );
    allocateDegradation(intervalEntries, meter);
    for (const entry of intervalEntries) entries.push(entry);
  }

  if (refuse && conflicts.length > 0)
    throw new GridseamError(
      'GW_ERR_DOUBLE_ATTRIBUTION',
      `${conflicts.length} attribution conflict${conflicts.length === 1 ? '' : 's'}: ${conflicts[0]!.message}`,
      { details: { conflicts } },
    );
  return { entries, curtailedClaims };
}
